"""The doctor: any failure of the flow mapped to its step, its cause and the fix.

`diagnose` takes an exception, a recorded `Exchange` or the address the browser
landed on, and answers a `Diagnosis` for whichever step failed: settings,
authorize, callback, exchange, refresh, resources, api or transport. It knows
Atlassian's real answers (facts 1.4 to 6.7) and the sandbox's `rfc` profile's.
"""

from __future__ import annotations

import html
import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template
from typing import Any, Literal, get_args
from urllib.parse import SplitResult, parse_qsl, urlsplit

from kit import errors, scopes
from kit.record import Exchange
from kit.redact import SECRET_FIELDS, scrub
from kit.tokens import mask

Step = Literal[
    "settings",
    "authorize",
    "callback",
    "exchange",
    "refresh",
    "resources",
    "api",
    "transport",
]
STEPS: tuple[Step, ...] = get_args(Step)
SEEN_LIMIT = 160  # characters of an answer a diagnosis quotes
# A JWT, or a long opaque run: a token that no field name announced.
_TOKENISH = re.compile(r"\beyJ[\w-]*\.[\w.-]+|[A-Za-z0-9_-]{40,}")


@dataclass(frozen=True)
class Diagnosis:
    """Which step failed, what happened, why, and what to do about it.

    `trap` is set when the answer looks like something it is not; `seen` quotes
    the answer in short, masked. Nothing here holds a secret.
    """

    step: Step
    what: str
    cause: str
    fix: str
    reference: str
    trap: str | None = None
    seen: str | None = None

    def message(self) -> str:
        """What happened and what to do, as one paragraph for an exception."""
        return f"{self.what} {self.fix}"

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("Step", str(self.step)), ("What", self.what), ("Cause", self.cause)]
        rows += [("Fix", self.fix)] + ([("Trap", self.trap)] if self.trap else [])
        rows += [("Seen", self.seen)] if self.seen else []
        return [*rows, ("See", self.reference)]

    def __str__(self) -> str:
        return "\n".join(
            textwrap.fill(
                value,
                88,
                initial_indent=f"{label + ':':7}",
                subsequent_indent=" " * 7,
                break_long_words=False,
                break_on_hyphens=False,
            )
            for label, value in self._rows()
        )

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left;vertical-align:top'>{label}</th>"
            f"<td style='text-align:left'>{_html(value)}</td></tr>"
            for label, value in self._rows()
        )
        return f"<table class='kit-diagnosis'>{cells}</table>"


def _html(text: str) -> str:
    """`text` escaped, with each `name` in backticks shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


@dataclass(frozen=True)
class _Answer:
    """What the rules look at: where it came from, its status, marks and words."""

    source: str  # an exchange's step, "url" or "exception"
    step: Step  # the step reported when the rule names none
    status: int = 0  # 0: no answer
    marks: frozenset[str] = frozenset()
    said: str = ""
    seen: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Rule:
    """One known answer: where it applies, and the diagnosis it gets.

    It matches when the answer's source is one of `sources`, its status one of
    `statuses`, one of `marks` is among its marks, and one of `said` is in what
    it said; an empty condition holds for all. `$name` in the texts is one of
    the answer's values.
    """

    sources: frozenset[str]
    statuses: frozenset[int]
    marks: frozenset[str]
    said: tuple[str, ...]
    texts: Mapping[str, str]

    def matches(self, answer: _Answer) -> bool:
        words = answer.said.lower()
        return (
            (not self.sources or answer.source in self.sources)
            and (not self.statuses or answer.status in self.statuses)
            and (not self.marks or bool(self.marks & answer.marks))
            and (not self.said or any(w in words for w in self.said))
        )

    def diagnosis(self, answer: _Answer) -> Diagnosis:
        def text(name: str) -> str:
            return Template(self.texts.get(name, "")).safe_substitute(answer.values)

        return Diagnosis(
            step=_step(self.texts.get("step")) or answer.step,
            what=text("what"),
            cause=text("cause"),
            fix=text("fix"),
            reference=self.texts["see"],
            trap=text("trap") or None,
            seen=answer.seen,
        )


def _step(name: str | None) -> Step | None:
    return next((step for step in STEPS if step == name), None)


# Texts several rules share, written `@name` in the table.
_SHARED = {
    "client": "Copy the client id and secret again from the app's Settings page in "
    "the developer console into `ATLASSIAN_CLIENT_ID` and `ATLASSIAN_CLIENT_SECRET`, "
    "run `kit.config.load()`, and authorize again for a fresh code.",
    "code": "Authorize again for a fresh code and pass it to `exchange_code` at "
    "once, exactly once, with the authorization URL's `redirect_uri`; never re-run "
    "a cell that exchanged a code.",
    "consent": "Authorize again (with `offline_access`) so that the person consents "
    "once more; then save each rotated refresh token at once, and let one worker "
    "refresh (`TokenStore.fresh` holds a lock).",
    "scopes": "Add $scopes to the `scope` of `build_authorization_url` (and to the "
    "app under Permissions in the developer console), then authorize and consent "
    "again. v2 takes granular scopes only, v1 its classic scope or the granular "
    "alternative; both families can be mixed in one grant.",
    "retry": "$retry Retry only idempotent calls such as GETs, with exponential "
    "backoff and jitter; `kit.api.ApiCaller` does.",
    "once": "A timeout looks safe to retry, but a code works once: a retry is "
    "refused, or (`rfc`) revokes the tokens the first request issued.",
    "again": "Check the network and `ATLASSIAN_AUTH_URL` / `ATLASSIAN_API_URL`, then "
    "try again; a refresh may be retried once within its 10-minute leeway.",
    "lint": "Build the URL with `build_authorization_url` and check it with "
    "`kit.authorize.lint`, then start again.",
}
# One block per rule, first match wins: `sources | statuses | marks | said`, then
# its texts. Sources are exchange steps, `url` or `exception` (TOKEN: exchange
# refresh; API: api resources me; ANSWER: both); `said` holds words separated by /.
_TABLE = """
TOKEN | 401 | access_denied
  what: The token endpoint refused the app's client id and secret.
  cause: `ATLASSIAN_CLIENT_SECRET` or `ATLASSIAN_CLIENT_ID` is wrong, belongs to
    another app, or is stale since the secret was rotated.
  fix: @client
  trap: `access_denied` here is no declined consent (that never reaches the token
    endpoint): Atlassian answers a wrong secret `401 access_denied "Unauthorized"`.
  see: facts 2.5
TOKEN | 401 | invalid_client
  what: The token endpoint refused the app's client id and secret.
  cause: The client id is unknown, or the secret is wrong or missing.
  fix: @client
  see: RFC 6749 section 5.2; facts 2.5
TOKEN | 429 | invalid_client
  what: The token endpoint stopped listening to this client for a while.
  cause: Too many requests with a wrong client secret in one minute.
  fix: $retry Fix the secret first. @client
  see: RFC 6749 section 2.3.1
exchange | 400 | invalid_request invalid_grant | code_verifier/code challenge/pkce
  what: The token endpoint refused the PKCE check of this code: $said.
  cause: The authorization URL carried a `code_challenge`, and the exchange sent
    no `code_verifier` or another one; or it sent a verifier for a code that had
    no challenge.
  fix: Pass the `AuthorizationRequest` that began the flow to `exchange_code`
    (`request=`), which sends its own verifier; authorize again for a fresh code.
  see: RFC 7636 sections 4.5, 4.6; RFC 9700 section 4.8.2
exchange | 400 403 | invalid_request invalid_grant | code is invalid/authorization code
  what: The token endpoint refused the authorization code.
  cause: It expired, was used already (a re-run cell), is not the callback's, or
    was issued for another `redirect_uri` or client. Codes work once and die
    within minutes.
  fix: @code
  trap: This is Atlassian's answer for a bad code (before 2022: `403
    invalid_grant`), though RFC 6749 says `400 invalid_grant`. Atlassian publishes
    no code lifetime; 10 minutes is the RFC's upper bound.
  see: facts 2.4, 2.5; RFC 6749 section 4.1.2
exchange | 400 | invalid_grant
  what: The token endpoint refused the authorization code.
  cause: It expired, was used already, is unknown, or was bound to another client,
    `redirect_uri` or PKCE verifier; the description says which.
  fix: @code
  see: RFC 6749 sections 4.1.2, 5.2; facts 2.4
TOKEN | 400 405 | invalid_request
  what: The token endpoint could not read the request: $said.
  cause: A parameter is missing, repeated or malformed, or the body or method is
    not what the endpoint takes.
  fix: Use `exchange_code` or `refresh_access_token`, which send what Atlassian
    documents (facts 2.1).
  see: facts 2.1; RFC 6749 section 5.2
refresh | 403 | invalid_grant
  what: The token endpoint refused the refresh token for good.
  cause: It was reused after the 10-minute leeway, which revokes its whole family;
    or it sat unused 90 days, passed 365 days since consent, or the person revoked
    the app or changed their password.
  fix: @consent
  trap: "Unknown or invalid" reads like a typo; most often an old refresh token
    was used again: two workers refreshing from one stored token, or a rotated
    refresh token that was not saved.
  see: facts 2.5, 3
refresh | 403 | unauthorized_client
  what: The token endpoint does not know this refresh token.
  cause: It was never issued, or was rotated out: each refresh returns a new
    refresh token and retires the one sent.
  fix: Refresh with the newest refresh token you saved. If none works: @consent
  trap: `unauthorized_client` sounds like wrong app credentials; here the refresh
    token is unknown.
  see: facts 2.5, 3
refresh | 400 | invalid_grant
  what: The token endpoint refused the refresh token.
  cause: It expired unused, passed its absolute lifetime, was revoked, or was used
    before (the `rfc` profile allows no reuse leeway and revokes the family);
    the description says which.
  fix: @consent
  see: RFC 6749 section 6; RFC 9700 section 4.14.2; facts 3
TOKEN | 5xx |
  what: The authorization server failed ($status $error).
  cause: A problem on the server's side, often brief, not in your request.
  fix: Wait a minute, then refresh again (safe within the 10-minute leeway); a
    code may expire meanwhile: then authorize again.
  see: facts 2.5 (`temporarily_unavailable`)
API | 401 | site-domain
  what: The token went to the site's own domain, which refuses 3LO tokens.
  cause: They work only through the gateway,
    `https://api.atlassian.com/ex/confluence/{cloudid}/...`.
  fix: Call `https://api.atlassian.com/ex/confluence/{cloudid}/wiki/...`, with the
    `id` that `accessible-resources` lists as `cloudid`.
  trap: The 401 suggests a bad token, but any token gets it there, often as an
    HTML (Tomcat) page rather than JSON.
  see: facts 2.3, 4.2
API exception | | scope-check insufficient_scope ScopeError
  what: The token lacks the scope this call needs.
  cause: $operation needs $scopes, which the grant does not hold; scopes are
    fixed when the person consents.
  fix: @scopes
  trap: It looks like an expired token, but it is a scope problem: a refreshed
    token has the same scopes and gets the same answer (case 114).
  see: facts 5.2, 5.3, 5.4; RFC 6750 section 3.1
API | 401 | bare-challenge
  what: The call carried no bearer token.
  cause: No `Authorization: Bearer` header, another scheme, or the token only in
    the query, which never counts.
  fix: Send `Authorization: Bearer <access_token>`; `kit.api.ApiCaller` does.
  see: RFC 6750 sections 2.1, 3.1
API | 401 | gateway invalid_token
  what: The access token was not accepted.
  cause: It expired (they live an hour), was revoked, or is no token; or its grant
    does not include this site.
  fix: Refresh once (`refresh_access_token` or `TokenStore.fresh`) and call again;
    if the new token gets the same 401, authorize again, and check the cloud id
    against `accessible-resources`.
  see: facts 2.3, 5.4; RFC 6750 section 3.1; case 113
API | 410 |
  what: This v1 endpoint is gone for 3LO apps: $path answers 410 Gone.
  cause: Atlassian removed the deprecated v1 `space` and `content` endpoints.
  fix: Call $v2 instead, or v1 search (`/wiki/rest/api/search?cql=...`).
  see: facts 6.1
API | 404 | spring
  what: The gateway knows no such route or cloud id: $path.
  cause: The cloud id is none of the token's sites, or the path is wrong (v2 paths
    need `/wiki`, as in `/wiki/api/v2/pages`).
  fix: Take the `id` from `accessible-resources` (not the site's name) and call
    `/ex/confluence/{cloudid}/wiki/...`.
  see: facts 4.1, 4.2
API | 404 |
  what: Confluence found nothing to show: $said.
  cause: It does not exist, or the person may not see it: Confluence answers 404
    for both, and scopes never override permissions.
  fix: Check the id (v2 ids are strings; `/wiki/api/v2/pages?title=...` finds
    them) and that the person can open it in the browser.
  see: facts 5.2, 6.5, 6.6
API | 400 | v1 v2
  what: Confluence rejected a parameter: $said.
  cause: A value is out of range or not allowed, such as `limit` above 250,
    `status=draft` on `/pages`, or a CQL syntax error.
  fix: Correct the parameter the message names; the specs list each operation's.
  see: facts 6.4, 6.6
API | 403 |
  what: Confluence refused the call: $said.
  cause: The person may not use Confluence on this site, or may not do this;
    scopes never override Confluence permissions.
  fix: Ask a site admin for Confluence access, or call as someone who has it.
  see: facts 5.2, 6.6
ANSWER exception | 429 |
  what: Too many calls: the rate limit was reached.
  cause: Atlassian limits the calls of each app and user (facts 6.7).
  fix: @retry
  see: facts 6.7; cases 108, 109
API exception | 5xx |
  what: The server failed ($status $error).
  cause: A problem on Atlassian's side, usually brief (a sandbox's 501: an
    operation it does not emulate).
  fix: @retry
  see: facts 6.7; case 110
resources | 2xx | empty-list
  what: The token reaches no site: `accessible-resources` is empty.
  cause: The grant's scopes fit no product of the site, or no site was picked.
  fix: Request scopes of the product you call, pick the site at consent, and
    authorize again.
  see: facts 1.3, 4.1
ANSWER | 2xx |
  what: This exchange succeeded ($status).
  cause: Nothing went wrong here.
  fix: Diagnose the one that failed: `kit.record.HISTORY.last_failure`.
  see: kit.record
ANSWER | 3xx |
  step: transport
  what: The server answered with a redirect, which the kit does not follow.
  cause: A base URL points at a login page, a proxy or the wrong host; following
    would send the secret or the token there.
  fix: Check `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`.
  see: RFC 9700 section 4.12; case 117
exchange | 0 |
  step: transport
  what: The code exchange got no answer ($failure).
  cause: The network or the server; the request may still have used the code.
  fix: Do not send the code again. Check the network and `ATLASSIAN_AUTH_URL`,
    then authorize again for a fresh code.
  trap: @once
  see: case 111; RFC 6749 section 4.1.2
ANSWER | 0 |
  step: transport
  what: The request got no answer ($failure).
  cause: The network, a proxy, or a base URL that points nowhere.
  fix: @again
  see: cases 107, 112
url | | | redirect_uri is not registered
  what: Atlassian does not know this callback URL for the app.
  cause: `$uri` must match the app's Callback URL exactly, trailing slash, port
    and scheme included.
  fix: In the developer console open the app, Authorization, OAuth 2.0 (3LO), and
    register the `redirect_uri` you send, or set `ATLASSIAN_REDIRECT_URI` to the
    registered one.
  see: facts 1.4; COMM-403
url | | | have not been added
  what: The app asked for scopes that were not added to it in the console.
  cause: Only scopes added to the app may be requested; not added: $listed.
  fix: Add them under Permissions in the developer console (`read:me` needs the
    User Identity API), or drop them from the `scope` of
    `build_authorization_url`; then start again.
  see: facts 1.1, 1.4, 4.3
url | | | site admin must authorize
  what: The site's admin blocks apps that users install themselves.
  cause: The organisation wants an admin to approve the app for $site.
  fix: Ask a site admin to approve the app at admin.atlassian.com, or consent on
    a site where you may install apps.
  see: facts 1.3
url | | unauthorized_client
  what: Atlassian refused the client: $said.
  cause: `ATLASSIAN_CLIENT_ID` is wrong, or the app is not shared and someone
    other than its owner tried it.
  fix: Copy the client id from the app's Settings page; let others in under
    Distribution (sharing).
  see: facts 1.4, 7.2
url exception | | access_denied
  step: authorize
  what: Consent was declined: the person pressed Cancel.
  cause: No code was issued, so the app has no access.
  fix: Run the authorization step again and press Accept, choosing a site.
  see: facts 1.4; RFC 6749 section 4.1.2.1
url exception | | invalid_scope
  step: authorize
  what: The authorization request's `scope` was refused: $said.
  cause: It is empty, holds a character RFC 6749 forbids, or names a scope the app
    does not have.
  fix: Pass scopes the app has, space-separated (`kit.scopes.scopes_for` picks
    them). @lint
  see: facts 1.1; RFC 6749 section 3.3
url exception | | unsupported_response_type invalid_request
  step: authorize
  what: The authorization request was malformed: $said.
  cause: A parameter is missing, repeated or wrong (`response_type=code`,
    `audience`, `state`, a PKCE challenge), or the consent page expired.
  fix: @lint
  see: facts 1.1; RFC 6749 section 4.1.2.1
url exception | | server_error temporarily_unavailable
  step: authorize
  what: Atlassian could not finish the authorization ($error).
  cause: A problem on Atlassian's side, not in your URL.
  fix: Wait a minute, then start again from a fresh authorization URL.
  see: RFC 6749 section 4.1.2.1
url | | code
  step: callback
  what: No error: the browser came back with an authorization code.
  cause: Consent succeeded. The code works once and dies within minutes.
  fix: Exchange it at once: `parse_redirected_url` with this address, then
    `exchange_code`.
  see: facts 1.4, 2.4
url | | consent-page
  what: The browser is still on Atlassian's consent page.
  cause: Consent is not finished, or the page shows an error, most often "This app
    has requested scopes that have not been added to the app".
  fix: Choose a site and press Accept; if the page shows that error, paste its
    text here, or add the scopes it lists under Permissions in the console.
  see: facts 1.3, 1.4
url | | authorization-url
  what: This is the authorization URL itself, not where the browser landed.
  cause: The doctor reads the address after consent, or an error page's text.
  fix: Open it in a browser and give the doctor the address you land on, or the
    text of the error page shown; `kit.authorize.lint` checks the URL itself.
  see: facts 1.1, 1.4
url | | error
  what: The authorization ended with `error=$error`: $said.
  cause: An error the doctor does not know; the description is the clue.
  fix: @lint
  see: RFC 6749 section 4.1.2.1
url | |
  what: The doctor found no OAuth answer in this address or text.
  cause: It holds neither `code` nor `error`, nor a known Atlassian message.
  fix: Paste the whole address the browser shows after consent, or the error
    page's text.
  see: facts 1.4
exception | | StateMismatchError
  step: callback
  what: The callback's `state` is not the one this flow sent.
  cause: An old tab, a flow started since, or a forged callback (CSRF); the code
    was not used.
  fix: Build a new authorization URL and finish consent in that tab only.
  see: RFC 6749 section 10.12
exception | | IssuerMismatchError
  step: callback
  what: The callback names another authorization server (`iss`).
  cause: A mix-up attack, or `ATLASSIAN_AUTH_URL` points elsewhere.
  fix: Check `ATLASSIAN_AUTH_URL`, then start again from a fresh URL.
  see: RFC 9207 section 2.4
exception | | MalformedCallbackError
  step: callback
  what: The callback address cannot be read.
  cause: It was cut short, edited, or is not the address after consent.
  fix: Copy the whole address from the browser again, or start again.
  see: RFC 6749 section 4.1.2
exception | | CallbackTimeoutError
  step: callback
  what: No callback reached the catcher in time.
  cause: Consent was not finished, or the browser cannot reach this machine's
    loopback (JupyterHub, Binder, a remote kernel).
  fix: Start again; if the browser runs elsewhere, paste the address you land on
    into `parse_redirected_url`.
  see: RFC 8252 section 7.3
exception | | CallbackPortError
  step: callback
  what: The callback catcher cannot listen on the redirect URI's port.
  cause: Another program, or an earlier catcher, holds the port.
  fix: Stop the other catcher (`stop()`) or program; the port must stay the one
    in the registered Callback URL.
  see: RFC 8252 section 7.3
exception | | ConfigError
  step: settings
  what: A setting, scope or operation name is missing or wrong.
  cause: $message
  fix: Correct it in `.env` or the environment (scope names:
    `kit.scopes.all_scopes()`), then run `kit.config.load()` again.
  see: README; facts 5.1, 7.2
exception | | ExchangeRefusedError | already/twice
  step: exchange
  what: The kit did not send this code again: it was sent already.
  cause: A code works once; a second exchange would be refused.
  fix: Use the tokens the first exchange gave, or authorize again.
  see: RFC 6749 section 4.1.2
exception | | ExchangeRefusedError | redirect
  step: transport
  what: The server redirected the request, and the kit did not follow.
  cause: Following would send the secret or the token to another address.
  fix: Check `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`.
  see: RFC 9700 section 4.12; case 117
exception | | ExchangeRefusedError | clear text/plain http
  step: settings
  what: The kit will not send secrets over plain http to another machine.
  cause: $message
  fix: Use https, a sandbox on 127.0.0.1, or `allow_plain_http=True` for a
    workshop's sandbox on the local network.
  see: RFC 6749 section 10.9; case 96
exception | | ExchangeRefusedError | offline_access
  step: refresh
  what: There is no refresh token to refresh with.
  cause: The authorization did not ask for `offline_access`.
  fix: Add `offline_access` to the scopes and authorize again.
  see: facts 1.1, 3
exception | | TokenStoreError
  step: settings
  what: The token file cannot be read or written.
  cause: $message
  fix: Do what the cause says; the previous file is left whole.
  see: cases 97-100
exception | | TransportError | code exchange
  step: exchange
  what: The code exchange got no answer, and the kit did not send it again.
  cause: The server may have used the code already; a code works once.
  fix: Run the authorization step again for a fresh code.
  trap: @once
  see: case 111; RFC 6749 section 4.1.2
exception | | TransportError
  step: transport
  what: No usable answer came.
  cause: $message
  fix: @again
  see: cases 107, 111, 112, 118
exception | | TokenResponseError
  step: exchange
  what: The token endpoint answered 200 without a usable bearer token.
  cause: $message
  fix: Check that `ATLASSIAN_AUTH_URL` points at Atlassian or the sandbox.
  see: RFC 6749 section 5.1; case 116
exception | | KitError
  what: The kit stopped: $message
  cause: An error without a recorded answer.
  fix: Follow the message; `kit.record.HISTORY.last_failure` holds the last
    failed exchange, if any.
  see: kit.errors
exception | |
  what: Python raised `$kind`, which the doctor does not know.
  cause: $message
  fix: Read the traceback; `kit.record.HISTORY.last_failure` holds the last
    failed exchange, if any.
  see: kit.errors
* | |
  what: $where answered $status $error, an answer the doctor does not know.
  cause: It said: $said.
  fix: Look at the whole exchange (`kit.record.HISTORY.last_failure.raw()`) and
    compare it with facts 2.5 (tokens) and 6.6 (Confluence).
  see: facts 2.5, 5.4, 6.6
"""
_GROUPS = {
    "TOKEN": "exchange refresh",
    "API": "api resources me",
    "ANSWER": "exchange refresh api resources me",
    "*": "",
}
_RANGES = {"0": (0,), "2xx": (200, 201, 202, 204), "3xx": (301, 302, 303, 307, 308)}


def _parse_table(table: str) -> tuple[_Rule, ...]:
    """The rules of `_TABLE`, in order; a malformed block fails the import."""
    rules = []
    for block in re.split(r"\n(?=\S)", table.strip()):
        header, _, body = block.partition("\n  ")
        sources, statuses, marks, *said = (" ".join(header.split()) + "|||").split("|")
        texts = dict(re.findall(r"(\w+): (.*?)(?=\n  \w+: |\Z)", "  " + body, re.S))
        texts = {k: _shared(" ".join(v.split())) for k, v in texts.items()}
        if not texts.get("see") or texts.get("step", "api") not in STEPS:
            raise ValueError(f"a rule of kit.doctor is malformed: {header!r}")
        rules.append(
            _Rule(
                sources=frozenset(_expand(sources)),
                statuses=frozenset(n for s in statuses.split() for n in _statuses(s)),
                marks=frozenset(marks.split()),
                said=tuple(w.strip().lower() for w in said[0].split("/") if w.strip()),
                texts=texts,
            )
        )
    return tuple(rules)


def _expand(sources: str) -> list[str]:
    return " ".join(_GROUPS.get(word, word) for word in sources.split()).split()


def _statuses(word: str) -> tuple[int, ...]:
    if word == "5xx":
        return tuple(range(500, 600))
    return _RANGES.get(word) or (int(word),)


def _shared(text: str) -> str:
    return re.sub(r"@(\w+)", lambda m: _SHARED[m.group(1)], text)


_RULES = _parse_table(_TABLE)


def diagnose(failure: BaseException | Exchange | str) -> Diagnosis:
    """The diagnosis of an exception, a recorded exchange, or a landing URL.

    An exception that carries its `exchange` is diagnosed by that answer, with
    what the exception adds (a `ScopeError`'s scopes, a `RateLimitedError`'s
    wait). Never raises.
    """
    if isinstance(failure, Exchange):
        return diagnose_exchange(failure)
    if isinstance(failure, str):
        return diagnose_url(failure)
    return _diagnose_exception(failure)


def diagnose_exchange(exchange: Exchange) -> Diagnosis:
    """What an HTTP answer means, read from its step, status, body and headers."""
    return _first_match(_exchange_answer(exchange, {}))


def diagnose_url(url: str) -> Diagnosis:
    """What the address the browser landed on, or a page's pasted text, means.

    `code`, `state` and any other secret in it are shown masked only.
    """
    return _first_match(_url_answer(url))


def _first_match(answer: _Answer) -> Diagnosis:
    rule = next(rule for rule in _RULES if rule.matches(answer))  # the last: all
    return rule.diagnosis(answer)


# Reading an exchange ----------------------------------------------------------

_SOURCES = _GROUPS["ANSWER"].split()
_WHERE = {"resources": "`accessible-resources`", "me": "`/me`", "api": "The API"}


def _exchange_answer(exchange: Exchange, extra: Mapping[str, str]) -> _Answer:
    source = _source(exchange)
    error, said, marks = _envelope(exchange.response_body or "")
    error = error or _challenge(exchange, marks)
    status = exchange.status or 0
    on_api = source in _GROUPS["API"].split()
    if status == 401 and on_api and _on_site_domain(exchange, marks):
        marks.add("site-domain")
    path = re.sub(r"^/ex/confluence/[^/]*", "", urlsplit(exchange.url).path) or "/"
    values = {
        "status": str(status or "no answer"),
        "error": error or "(no error code)",
        "said": said or "(nothing)",
        "where": _WHERE.get(source, "The token endpoint"),
        "path": f"`{_short(path, 80)}`",
        "operation": f"`{exchange.method} {_short(path, 80)}`",
        "failure": _short(exchange.failure or "reason unknown", 80),
        "retry": _retry_text(exchange.header("retry-after")),
        "scopes": _scopes_for(exchange),
        "v2": _by_path(_V2_BY_PATH, path) or _V2_DEFAULT,
        **extra,
    }
    seen = _seen(status, error, said, marks, values["failure"])
    marks |= {error} if error else set()
    step = _step(source) or "api"  # `me` is an API call
    return _Answer(source, step, status, frozenset(marks), said, seen, values)


def _source(exchange: Exchange) -> str:
    """The exchange's step, or one read from its URL if the step is unknown."""
    if exchange.step in _SOURCES:
        return exchange.step
    path = urlsplit(exchange.url).path
    if path.endswith("/accessible-resources"):
        return "resources"
    if path.endswith("/oauth/token"):
        refresh = "refresh_token" in (exchange.request_body or "")
        return "refresh" if refresh else "exchange"
    return "me" if path.endswith("/me") else "api"


def _envelope(text: str) -> tuple[str, str, set[str]]:
    """The error code, the words and the marks of an answer's body (facts 6.6)."""
    body = _json(text)
    if isinstance(body, dict):
        return _dict_envelope(body)
    if body == []:
        return "", "", {"empty-list"}
    if text.lstrip().startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
        said = title.group(1) if title else " ".join(_page_lines(text))
        return "", _short(said), {"html"}
    return "", _short(text), {"text"} if text else set()


def _dict_envelope(body: dict[str, Any]) -> tuple[str, str, set[str]]:
    if "timestamp" in body and "path" in body:  # Spring's 404; "error" is no code
        return "", _text(body.get("message") or body.get("error")), {"spring"}
    if isinstance(body.get("error"), str):
        return _text(body["error"]), _text(body.get("error_description")), {"oauth"}
    listed = body.get("errors")
    if isinstance(listed, list) and listed and isinstance(listed[0], dict):
        code, title = _text(listed[0].get("code")), _text(listed[0].get("title"))
        return code, title, {"v2"}
    said = _text(body.get("message"))
    marks = {"v1"} if "statusCode" in body else {"gateway"}
    if "scope does not match" in said.lower():
        marks.add("scope-check")
    return "", said, marks


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _challenge(exchange: Exchange, marks: set[str]) -> str:
    """The `error` of a `WWW-Authenticate: Bearer` challenge; marks the answer."""
    if "SCOPE" in (exchange.header("x-failure-category") or "").upper():
        marks.add("scope-check")
    challenge = exchange.header("www-authenticate") or ""
    if not challenge.lower().startswith("bearer"):
        return ""
    error = re.search(r'error="([^"]*)"', challenge)
    marks.add("challenge" if error else "bare-challenge")
    return _short(error.group(1), 40) if error else ""


def _on_site_domain(exchange: Exchange, marks: set[str]) -> bool:
    """Whether the call went to `<site>.atlassian.net` rather than the gateway."""
    parts = urlsplit(exchange.url)
    if "/ex/" in parts.path:
        return False
    on_site = (parts.hostname or "").lower().endswith(".atlassian.net")
    return on_site or parts.path.startswith("/wiki") or "html" in marks


# What replaced a removed v1 endpoint (facts 6.1).
_V2_BY_PATH = (
    (r"/rest/api/space/[^/]+", "`GET /wiki/api/v2/spaces?keys=<key>`"),
    (r"/rest/api/space", "`GET /wiki/api/v2/spaces`"),
    (r"/rest/api/content/[^/]+", "`GET /wiki/api/v2/pages/{id}`"),
    (r"/rest/api/content", "`/wiki/api/v2/pages` (GET lists, POST creates)"),
)
_SCOPES_DEFAULT = "the scopes `kit.scopes.explain_operation` lists for it"
_V2_DEFAULT = "its v2 equivalent (`/wiki/api/v2/spaces`, `/wiki/api/v2/pages`)"


def _scopes_for(exchange: Exchange) -> str:
    """The scopes a call needs: from its challenge, or from Atlassian's specs."""
    named = re.search(r'scope="([^"]+)"', exchange.header("www-authenticate") or "")
    if named:
        return " and ".join(f"`{s}`" for s in _short(named.group(1), 120).split())
    path = re.sub(r"^/ex/confluence/[^/]*", "", urlsplit(exchange.url).path)
    api = "v2" if path.startswith("/wiki/api/v2") else "v1"
    api = "identity" if path.rstrip("/") == "/me" else api
    try:
        sets = scopes.find_operation((api, exchange.method, path)).scope_sets
    except errors.CatalogueError:
        sets = ()
    if not sets:
        return _SCOPES_DEFAULT
    named_sets = " or ".join(_scope_set(group) for group in sets[:6])
    return named_sets + (" (the User Identity API)" if api == "identity" else "")


def _by_path(table: tuple[tuple[str, str], ...], path: str) -> str | None:
    return next((text for pattern, text in table if re.search(pattern, path)), None)


def _retry_text(retry_after: str | None) -> str:
    if retry_after:
        return f"Wait as asked (`Retry-After: {_short(retry_after, 40)}`), then retry."
    return "No `Retry-After` came: wait a few seconds, doubling it each time."


def _seen(status: int, error: str, said: str, marks: set[str], failure: str) -> str:
    if status == 0:
        return f"no answer ({failure})"
    kind = "HTML page" if "html" in marks else error
    quoted = f'"{said}"' if said else ""
    return " ".join(part for part in (str(status), kind, quoted) if part)


# Reading a landing URL or a pasted page -------------------------------------------

# The authorization errors a pasted page may name (RFC 6749 section 4.1.2.1).
_KNOWN_ERROR = re.compile(
    r"\b(unauthorized_client|access_denied|invalid_scope|unsupported_response_type"
    r"|invalid_request|server_error|temporarily_unavailable)\b"
)


def _url_answer(text: str) -> _Answer:
    parts = _address(text.strip())
    params = _params(parts.query + "&" + parts.fragment) if parts else {}
    lines = [] if parts else _page_lines(text)
    said = params.get("error_description", "") if parts else " ".join(lines)
    error = params.get("error", "") if parts else _error_in(said)
    described = said if parts else _description(lines, error)
    values = {
        "error": _short(error, 60) or "(none)",
        "said": _short(described, 100) or "(no description)",
        "uri": _short(_after(said, "client:") or "The redirect_uri", 120),
        "listed": _listed_scopes(said),
        "site": _quoted_site(said),
    }
    seen = _url_seen(parts, params) if parts else f'page text: "{_short(said)}"'
    marks = frozenset(_url_marks(parts, params, error))
    return _Answer("url", "authorize", 0, marks, said, seen, values)


def _address(text: str) -> SplitResult | None:
    """`text` split as a URL, or None if it reads as a page's text."""
    if re.search(r"\s", text) or not re.search(r"://|[?#]", text):
        return None
    if not re.match(r"^(\w[\w+.-]*://|[?#/])", text):
        text = "https://" + text  # an address pasted without its scheme
    return urlsplit(text)


def _params(query: str) -> dict[str, str]:
    """The first value of each name in `query`, read leniently, for display."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, value)
    return params


def _url_marks(
    parts: SplitResult | None, params: Mapping[str, str], error: str
) -> set[str]:
    marks = {error, "error"} if error else set()
    if "code" in params and not error:
        marks.add("code")
    if parts is not None:
        host = (parts.hostname or "").lower()
        if host.endswith("auth.atlassian.com") and parts.path.startswith("/consent"):
            marks.add("consent-page")
        if "client_id" in params and "response_type" in params:
            marks.add("authorization-url")
    return marks


def _page_lines(text: str) -> list[str]:
    """A pasted page's lines of text: no styles, scripts or tags, entities read."""
    text = re.sub(r"<(style|script)\b.*?</\1\s*>", "\n", text, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _description(lines: list[str], error: str) -> str:
    """What a pasted page says after its error code, else its first line."""
    for index, line in enumerate(lines):
        if error and error in line:
            rest = line.partition(error)[2].strip(" :")
            return rest or (lines[index + 1] if index + 1 < len(lines) else "")
    return lines[0] if lines else ""


def _error_in(text: str) -> str:
    found = _KNOWN_ERROR.search(text)
    return found.group(1) if found else ""


def _after(text: str, marker: str) -> str:
    """The word after `marker` in `text`, or ""."""
    return (text.partition(marker)[2].split() or [""])[0]


def _listed_scopes(said: str) -> str:
    """The scopes an unconfigured-scope message lists, in backticks (facts 1.4)."""
    found = re.search(r"following scopes to the [^:]*:\s*(.+)", said)
    names = re.findall(r"[\w.-]+(?::[\w.-]+)+", found.group(1)) if found else []
    shown = [f"`{_short(name.rstrip('.'), 60)}`" for name in names[:12]]
    return ", ".join(shown) or "the scopes the page lists"


def _quoted_site(said: str) -> str:
    found = re.search(r"for the site '([^']+)'", said)
    return f"`{_short(found.group(1), 80)}`" if found else "the site"


def _url_seen(parts: SplitResult, params: Mapping[str, str]) -> str:
    shown = "&".join(
        f"{name}={mask(value) if name in SECRET_FIELDS else value}"
        for name, value in params.items()
    )
    return _short(f"{parts.netloc}{parts.path}?{shown}")


# Reading an exception -----------------------------------------------------------


def _diagnose_exception(exc: BaseException) -> Diagnosis:
    if type(exc) is errors.AuthorizationError and exc.error is None:
        # An error page's words, as the robot or a paste reports them.
        found = diagnose_url(_message(exc))
        if "OAuth answer" not in found.what:
            return found
    try:
        exchange = getattr(exc, "exchange", None)
        if isinstance(exchange, Exchange):
            return _first_match(_exchange_answer(exchange, _exception_extra(exc)))
        synthetic = _synthetic_exchange(exc)
        if synthetic is not None:
            return diagnose_exchange(synthetic)
    except Exception:  # noqa: S110 - the doctor never raises; the class still tells
        pass
    return _first_match(_exception_answer(exc))


def _exception_answer(exc: BaseException) -> _Answer:
    marks = {cls.__name__ for cls in type(exc).__mro__}
    error = getattr(exc, "error", None)
    marks |= {error} if isinstance(error, str) else set()
    status = getattr(exc, "status", None)
    said = _short(_message(exc), 400)
    values = {
        "kind": type(exc).__name__,
        "message": said,
        "said": said,
        "error": _short(error, 60) if isinstance(error, str) else "(no error code)",
        "status": str(status),
        "operation": f"`{_short(str(getattr(exc, 'operation', '') or 'it'), 80)}`",
        "scopes": _SCOPES_DEFAULT,
        "retry": _retry_text(None),
        **_exception_extra(exc),
    }
    step: Step = "transport" if isinstance(exc, OSError) else "api"
    seen = f"{type(exc).__name__}: {_short(said)}"
    code = status if isinstance(status, int) else 0
    return _Answer("exception", step, code, frozenset(marks), said, seen, values)


def _exception_extra(exc: BaseException) -> dict[str, str]:
    """What an exception knows beyond its exchange: accepted scopes, the wait."""
    extra: dict[str, str] = {}
    accepted = getattr(exc, "accepted", ())
    if isinstance(accepted, tuple) and accepted:
        extra["scopes"] = " or ".join(_scope_set(group) for group in accepted[:6])
    wait = getattr(exc, "retry_after", None)
    if isinstance(wait, int | float) and wait > 0:
        extra["retry"] = _retry_text(f"{wait:g}")
    return extra


def _scope_set(scopes: Any) -> str:
    names = [scopes] if isinstance(scopes, str) else list(scopes)
    return " + ".join(f"`{_short(str(name), 60)}`" for name in names[:12])


def _message(exc: BaseException) -> str:
    """The exception's text; a `__str__` that fails gives its class name."""
    try:
        return str(exc) or type(exc).__name__
    except Exception:  # the doctor never raises
        return type(exc).__name__


def _synthetic_exchange(exc: BaseException) -> Exchange | None:
    """An exchange rebuilt from what a token or API error kept, if it kept one."""
    if isinstance(exc, errors.TokenEndpointError):
        fields = {"error": exc.error, "error_description": exc.description}
        body = json.dumps({k: v for k, v in fields.items() if v is not None})
        refresh = isinstance(exc, errors.RefreshRejectedError)
        step = "refresh" if refresh else "exchange"
        return Exchange(step, "POST", "", status=exc.status, response_body=body)
    special = isinstance(exc, errors.ScopeError | errors.RateLimitedError)
    if isinstance(exc, errors.ApiError) and exc.status is not None and not special:
        return Exchange("api", "GET", "", status=exc.status)
    return None


# Text that leaves the doctor -----------------------------------------------------


def _text(value: object) -> str:
    return _short(value) if isinstance(value, str) else ""


def _short(text: str, limit: int = SEEN_LIMIT) -> str:
    """`text` scrubbed of secrets, on one line, cut to `limit` characters."""
    text = _TOKENISH.sub(lambda m: mask(m.group()), scrub(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""`lint`: the traps that make Atlassian refuse a URL, or leave the app without a
refresh token or without the scopes its calls need.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from urllib.parse import urlsplit

from kit.authorize.findings import Finding, finding
from kit.authorize.reading import ParsedUrl, estimate_state_bits, parse_url
from kit.authorize.request import (
    ATLASSIAN_AUDIENCE,
    ATLASSIAN_AUTH_HOST,
    AUTHORIZE_PATH,
    MEANINGS,
    MIN_STATE_BITS,
    NEVER_IN_URL,
    REQUIRED,
    UNKNOWN_MEANING,
)
from kit.config import is_loopback, split_absolute
from kit.errors import CatalogueError
from kit.scopes import (
    OperationRef,
    can_reach,
    explain_operation,
    family,
    find_operation,
    get_scope,
    missing_scopes,
)


def lint(
    url: str,
    *,
    registered_redirect_uri: str | None = None,
    operations: Iterable[OperationRef] = (),
) -> list[Finding]:
    """Every trap found in an authorization URL, errors first; empty when it is fine.

    `registered_redirect_uri` is the callback URL registered in the console;
    `operations` are the calls the token must reach (see `kit.scopes`); an unknown
    one raises `CatalogueError`. The codes and usual fixes are in `LINT_RULES`. No
    finding holds the `state` itself.
    """
    parsed = parse_url(url)
    findings = list(parsed.problems)
    if parsed.scheme:
        for check in _CHECKS:
            findings.extend(check(parsed))
        findings.extend(_redirect_findings(parsed, registered_redirect_uri))
        findings.extend(_reach_findings(parsed, operations))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: order[f.severity])


def _host_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    if parsed.scheme == "http" and not is_loopback(parsed.url):
        message = (
            "The authorization server is plain http on another machine: the state "
            "and the code would cross the network in clear text (RFC 6749 10.9)."
        )
        yield finding("insecure-auth-host", None, message)
    if not parsed.path.endswith(AUTHORIZE_PATH):
        message = f"The path is {parsed.path!r}, not the authorization endpoint."
        yield finding("not-authorize-endpoint", None, message)
    if parsed.fragment:
        message = (
            "The URL has a `#fragment`; the browser never sends it, so anything "
            "after `#` is lost."
        )
        yield finding("fragment", None, message)


def _duplicate_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    names = [p.name for p in parsed.parameters]
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        message = (
            f"`{name}` appears {names.count(name)} times; servers refuse a repeated "
            f"parameter, or read another copy than the one you expect."
        )
        yield finding("duplicate-parameter", name, message)


def _required_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    for name in REQUIRED:
        value = parsed.first(name)
        if value is None or not value.strip():
            message = f"`{name}` is missing or empty. {MEANINGS[name]}"
            yield finding("missing-parameter", name, message)


def _value_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    response_type = parsed.first("response_type")
    if response_type and response_type != "code":
        message = (
            f"`response_type` is {response_type!r}; Atlassian offers only the "
            f"authorization-code grant (the implicit grant is not supported)."
        )
        yield finding("response-type-not-code", "response_type", message)
    audience = parsed.first("audience")
    if audience is None:
        message = (
            "`audience` is missing. Atlassian's 3LO page requires it; what happens "
            "without it is undocumented, and the sandbox refuses it."
        )
        yield finding("missing-audience", "audience", message)
    elif audience != ATLASSIAN_AUDIENCE:
        message = (
            f"`audience` is {audience!r}; the token is for the API gateway, whose "
            f"audience is always `{ATLASSIAN_AUDIENCE}`."
        )
        yield finding("wrong-audience", "audience", message)
    yield from _prompt_findings(parsed.first("prompt"))


def _prompt_findings(prompt: str | None) -> Iterator[Finding]:
    if prompt is None:
        message = (
            "`prompt` is missing. Atlassian documents `prompt=consent` as required; "
            "it makes the consent screen show."
        )
        yield finding("missing-prompt", "prompt", message)
    elif prompt != "consent":
        message = (
            f"`prompt` is {prompt!r}; Atlassian documents only `consent`, and what "
            f"other values do is unknown."
        )
        yield finding("wrong-prompt", "prompt", message)


def _scope_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    names = (parsed.first("scope") or "").split()
    if names and "offline_access" not in names:
        message = (
            "`offline_access` is not among the scopes, so the token response will "
            "hold no refresh token: after an hour the person must consent again."
        )
        yield finding("no-offline-access", "scope", message)
    for name in dict.fromkeys(names):
        yield from _unknown_scope_findings(name)


def _unknown_scope_findings(name: str) -> Iterator[Finding]:
    if "+" in name:
        message = (
            f"The scope {name!r} holds a literal `+` (sent as `%2B`): the scopes "
            f"were joined by an encoded plus, so Atlassian sees one unknown scope."
        )
        yield finding("literal-plus-in-scope", "scope", message)
        return
    try:
        get_scope(name)
    except CatalogueError as exc:
        message = (
            f"{exc.message} Another product's scope (Jira's `read:jira-work`) is "
            f"fine if the app has it; a misspelt one fails at consent."
        )
        yield finding("unknown-scope", "scope", message)


def _plus_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    for parameter in parsed.parameters:
        if parameter.name != "scope" and "+" in parameter.raw:
            message = (
                f"`{parameter.name}` holds a `+`, which the server reads as a "
                f"space; only in `scope` is a `+` between values harmless."
            )
            yield finding("plus-reads-as-space", parameter.name, message)


def _state_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    state = parsed.first("state")
    bits = estimate_state_bits(state) if state else MIN_STATE_BITS
    if bits < MIN_STATE_BITS:
        message = (
            f"`state` carries at most about {bits:.0f} bits of randomness; an "
            f"attacker could guess it (RFC 6749 section 10.10 asks for 128 or more)."
        )
        yield finding("weak-state", "state", message)


def _secret_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    for name in NEVER_IN_URL:
        if parsed.first(name) is not None:
            message = (
                f"`{name}` is in the URL, which the browser, its history and the "
                f"server's logs all see; it must stay with the app."
            )
            yield finding("secret-in-url", name, message)


def _pkce_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    if parsed.first("code_challenge") is None:
        return
    method = parsed.first("code_challenge_method")
    if method != "S256":
        message = (
            f"`code_challenge_method` is {method!r}; a missing method means "
            f"`plain`, which shows the verifier to anyone who sees the URL."
        )
        yield finding("pkce-not-s256", "code_challenge_method", message)
    if urlsplit(parsed.url).hostname == ATLASSIAN_AUTH_HOST:
        message = (
            "Atlassian's 3LO apps do not support PKCE today; the challenge is "
            "ignored and the exchange still needs the client secret."
        )
        yield finding("pkce-ignored", "code_challenge", message)


def _unknown_parameter_findings(parsed: ParsedUrl) -> Iterator[Finding]:
    known = set(MEANINGS) | set(NEVER_IN_URL)
    for name in dict.fromkeys(p.name for p in parsed.parameters):
        if name not in known:
            yield finding("unknown-parameter", name, f"`{name}`: {UNKNOWN_MEANING}")


_CHECKS = (
    _host_findings,
    _duplicate_findings,
    _required_findings,
    _value_findings,
    _scope_findings,
    _plus_findings,
    _state_findings,
    _secret_findings,
    _pkce_findings,
    _unknown_parameter_findings,
)


def _redirect_findings(parsed: ParsedUrl, registered: str | None) -> Iterator[Finding]:
    sent = parsed.first("redirect_uri")
    if not sent:
        return
    parts = split_absolute(sent)
    if parts is None:
        message = f"`redirect_uri` {sent!r} is not an absolute http(s) URL."
        yield finding("bad-redirect-uri", "redirect_uri", message)
    elif parts.scheme == "http" and not is_loopback(sent):
        message = (
            f"`redirect_uri` {sent!r} is plain http to another machine: the code "
            f"would cross the network in clear text."
        )
        yield finding("plain-http-redirect", "redirect_uri", message)
    if registered is not None and sent != registered:
        fix = f"Send exactly {registered!r}, or register {sent!r} in the console."
        message = describe_difference(sent, registered)
        yield finding("redirect-uri-mismatch", "redirect_uri", message, fix)


def describe_difference(sent: str, registered: str) -> str:
    """Where and how a redirect URI differs from the registered one, in words.

    Atlassian compares the two as strings, "including any trailing /" (facts 1.1).
    """
    pairs = enumerate(zip(sent, registered, strict=False))
    position = next(
        (i for i, (a, b) in pairs if a != b), min(len(sent), len(registered))
    )
    here = sent[position : position + 12] or "(the end)"
    there = registered[position : position + 12] or "(the end)"
    return (
        f"`redirect_uri` {sent!r} differs from the registered {registered!r} from "
        f"character {position + 1} on ({here!r} where the registered one has "
        f"{there!r}): {_difference_kind(sent, registered)}. Atlassian matches the "
        f"whole string exactly and shows an error page instead of redirecting."
    )


def _difference_kind(sent: str, registered: str) -> str:
    a, b = split_absolute(sent), split_absolute(registered)
    if a is None or b is None:
        return "one of them is not an absolute http(s) URL"
    hosts = {a.hostname, b.hostname}
    kinds = (
        (sent.rstrip("/") == registered.rstrip("/"), "a trailing slash"),
        (a.scheme != b.scheme, f"{a.scheme} against {b.scheme}"),
        (
            len(hosts) == 2 and hosts <= {"localhost", "127.0.0.1", "::1"},
            "`localhost` and `127.0.0.1` are one machine but not one URI",
        ),
        (a.hostname != b.hostname, "another host"),
        (a.port != b.port, f"port {a.port or 'unset'} against {b.port or 'unset'}"),
        (sent.lower() == registered.lower(), "upper against lower case"),
    )
    return next((kind for differs, kind in kinds if differs), "another path or query")


def _reach_findings(
    parsed: ParsedUrl, operations: Iterable[OperationRef]
) -> Iterator[Finding]:
    granted = (parsed.first("scope") or "").split()
    for ref in operations:
        operation = find_operation(ref)
        if can_reach(granted, operation):
            continue
        rule = explain_operation(operation).explanation
        message = f"The scopes in the URL cannot reach it: {rule}"
        classic = [s for s in granted if _family_or_none(s) == "classic"]
        if operation.api == "v2" and classic:
            message += f" Classic scopes such as `{classic[0]}` do not count for v2."
        missing = " ".join(missing_scopes(granted, operation))
        fix = f"Add `{missing}` to `scope` (and to the app in the console)."
        yield finding("scopes-cannot-reach", "scope", message, fix)


def _family_or_none(scope: str) -> str | None:
    try:
        return family(scope)
    except CatalogueError:
        return None

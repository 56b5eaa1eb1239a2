"""Step 1 of the flow: the authorization URL that sends a person to consent.

`AuthorizationRequest` holds every parameter of facts 1.1 and builds the URL, with
a fresh `state` from `secrets`. `explain` says what each parameter of a URL does;
`lint` finds the traps that make Atlassian refuse a URL, or leave the app without
a refresh token or without the scopes its calls need.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import secrets
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeAlias
from urllib.parse import SplitResult, quote, unquote_plus, urlencode, urlsplit

from kit.config import is_loopback, load_hosts
from kit.errors import CatalogueError, ConfigError
from kit.scopes import (
    OperationRef,
    can_reach,
    explain_operation,
    family,
    find_operation,
    get_scope,
    missing_scopes,
)

Severity: TypeAlias = Literal["error", "warning", "info"]

ATLASSIAN_AUDIENCE = "api.atlassian.com"
ATLASSIAN_AUTH_HOST = "auth.atlassian.com"
AUTHORIZE_PATH = "/authorize"
STATE_BYTES = 32  # 256 bits; RFC 6749 section 10.10 asks for at least 128
MIN_STATE_BITS = 128
VERIFIER_BYTES = 64  # 86 characters; RFC 7636 section 4.1 allows 43 to 128
SECRET_PARAMETERS = ("state", "code_verifier", "client_secret", "code")
NEVER_IN_URL = ("client_secret", "code_verifier")
REQUIRED = ("client_id", "scope", "redirect_uri", "state", "response_type")

# What each parameter does, in one line (facts 1.1 and 1.2), in Atlassian's order.
MEANINGS: dict[str, str] = {
    "audience": (
        "Required by Atlassian, always `api.atlassian.com`: the API the token is for."
    ),
    "client_id": (
        "Required: your app's Client ID, shown under Settings in the developer console."
    ),
    "scope": (
        "Required: the permissions asked for, separated by spaces; only scopes "
        "added to the app in the console may be asked for, and `offline_access` "
        "adds a refresh token."
    ),
    "redirect_uri": (
        "Required: where the browser comes back with `code` and `state`; it must "
        "equal the app's callback URL exactly, trailing `/` included."
    ),
    "state": (
        "Required for security: an unguessable value bound to this browser session; "
        "Atlassian returns it unchanged and the callback must match it (CSRF)."
    ),
    "response_type": (
        "Required, always `code`: the authorization-code grant, the only one "
        "Atlassian offers (no implicit grant)."
    ),
    "prompt": (
        "Required, `consent`: makes Atlassian show the consent screen; other values "
        "are undocumented."
    ),
    "code_challenge": (
        "PKCE (RFC 7636): the SHA-256 of a secret verifier; Atlassian's 3LO apps "
        "ignore it today, the rfc sandbox enforces it."
    ),
    "code_challenge_method": (
        "PKCE: how the challenge was made; `S256`, never `plain`."
    ),
}
UNKNOWN_MEANING = (
    "Not a parameter Atlassian documents for `/authorize`; it is probably ignored."
)


def new_state() -> str:
    """A fresh `state`: 256 random bits from `secrets`, URL-safe (RFC 6749 10.12)."""
    return secrets.token_urlsafe(STATE_BYTES)


def new_code_verifier() -> str:
    """A fresh PKCE verifier: 86 unreserved characters (RFC 7636 section 4.1)."""
    return secrets.token_urlsafe(VERIFIER_BYTES)


def code_challenge_for(verifier: str) -> str:
    """The S256 challenge of a verifier: BASE64URL(SHA256(verifier)), unpadded.

    See: RFC 7636 section 4.2 and its appendix B.
    """
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def fingerprint(secret: str) -> str:
    """A short, one-way fingerprint of a secret, for displays and logs."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:8]


def masked(secret: str) -> str:
    """How the kit shows a secret: `<masked 1a2b3c4d>`, never the value."""
    return f"<masked {fingerprint(secret)}>"


@dataclass(frozen=True, repr=False)
class AuthorizationRequest:
    """One authorization request: every parameter of facts 1.1, and its URL.

    `auth_url` is the authorization server's base URL (`https://auth.atlassian.com`
    or a sandbox's); `url` adds `/authorize` and the query. `code_verifier` is
    kept for the token exchange and never enters the URL. A plain `http` base URL
    is refused unless it is this machine (RFC 6749 section 10.9; case 96), or
    `allow_plain_http` is set for a workshop's sandbox on the local network.
    """

    auth_url: str
    client_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str
    audience: str = ATLASSIAN_AUDIENCE
    prompt: str = "consent"
    code_challenge: str | None = None
    code_verifier: str | None = None
    allow_plain_http: bool = field(default=False, compare=False)

    def __post_init__(self) -> None:
        _check_auth_url(self.auth_url, self.allow_plain_http)
        _check_redirect_uri(self.redirect_uri)
        _check_scopes(self.scopes)
        for name in ("client_id", "state"):
            if not getattr(self, name).strip():
                raise ConfigError(f"`{name}` is empty. Pass the value, not ''.")
        if self.code_verifier is not None:
            challenge = code_challenge_for(self.code_verifier)
            if self.code_challenge not in {None, challenge}:
                raise ConfigError(
                    "`code_challenge` is not the S256 challenge of `code_verifier`. "
                    "Pass the verifier alone; the request derives the challenge."
                )
            object.__setattr__(self, "code_challenge", challenge)

    @property
    def endpoint(self) -> str:
        """The authorization endpoint: the base URL and `/authorize`."""
        return self.auth_url.rstrip("/") + AUTHORIZE_PATH

    @property
    def params(self) -> dict[str, str]:
        """The query parameters, in the order of Atlassian's documentation."""
        params = {
            "audience": self.audience,
            "client_id": self.client_id,
            "scope": " ".join(self.scopes),
            "redirect_uri": self.redirect_uri,
            "state": self.state,
            "response_type": "code",
            "prompt": self.prompt,
        }
        if self.code_challenge is not None:
            params["code_challenge"] = self.code_challenge
            params["code_challenge_method"] = "S256"
        return params

    @property
    def url(self) -> str:
        """The authorization URL to open in the browser.

        Values are percent-encoded (RFC 3986), so the space between scopes is
        `%20`, as Atlassian's documentation shows:

            scope=read:me%20offline_access

        HTML forms and `URLSearchParams` write a space as `+` instead:

            scope=read:me+offline_access

        Both decode to the same `read:me offline_access`, and Atlassian accepts
        both (facts 1.1). The trap is the other way round: a literal `+` inside
        a value (in a redirect URI, or a base64 `state`) reads as a space unless
        it is written `%2B`, which this encoding always does. `:` and `/` stay
        as they are, which the query component allows, so the URL stays readable.
        """
        return f"{self.endpoint}?{urlencode(self.params, quote_via=quote, safe=':/')}"

    @property
    def masked_url(self) -> str:
        """`url` with `state` masked: to show or print, never to open."""
        return masked_url(self.url)

    def __repr__(self) -> str:
        verifier = "None" if self.code_verifier is None else masked(self.code_verifier)
        return (
            f"AuthorizationRequest(auth_url={self.auth_url!r}, "
            f"client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r}, "
            f"scopes={self.scopes!r}, state={masked(self.state)}, "
            f"audience={self.audience!r}, prompt={self.prompt!r}, "
            f"code_challenge={self.code_challenge!r}, code_verifier={verifier})"
        )


def masked_url(url: str) -> str:
    """`url` as sent, but each secret parameter's value masked (`state=abcd…`).

    For a notebook's output or a log line: the `state` must not land in either.
    Every other parameter keeps its encoding, so that `%20` and `+` stay visible.
    """
    base, question, query = url.partition("?")
    if not question:
        return url
    return f"{base}?{'&'.join(_masked_piece(p) for p in query.split('&'))}"


def _masked_piece(piece: str) -> str:
    name, equals, value = piece.partition("=")
    if unquote_plus(name) in SECRET_PARAMETERS and value:
        return f"{name}{equals}{masked(unquote_plus(value))}"
    return piece


def _check_auth_url(auth_url: str, allow_plain_http: bool) -> None:
    try:
        parts = urlsplit(auth_url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ConfigError(f"`auth_url` {auth_url!r} is not a URL: {exc}.") from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(
            f"`auth_url` is {auth_url!r}. Give the authorization server's base URL, "
            f"such as `https://auth.atlassian.com` or the sandbox's `url`."
        )
    if parts.query or parts.fragment or parts.path.rstrip("/").endswith(AUTHORIZE_PATH):
        raise ConfigError(
            f"`auth_url` is {auth_url!r}, which is not a base URL. Leave out "
            f"`/authorize` and any query: the request adds them."
        )
    if parts.scheme == "http" and not (is_loopback(auth_url) or allow_plain_http):
        raise ConfigError(
            f"`auth_url` is {auth_url!r}: plain http to another machine would send "
            f"the state and the code in clear text (RFC 6749 section 10.9). Use "
            f"https, or a sandbox on 127.0.0.1; for a workshop's sandbox on the "
            f"local network pass `allow_plain_http=True`."
        )


def _check_redirect_uri(redirect_uri: str) -> None:
    parts = _split_absolute(redirect_uri)
    if parts is None or parts.fragment:
        raise ConfigError(
            f"`redirect_uri` is {redirect_uri!r}. Give the app's callback URL, "
            f"absolute and without a fragment, such as "
            f"`http://localhost:8765/callback`, exactly as the console shows it."
        )


def _check_scopes(scopes: tuple[str, ...]) -> None:
    if isinstance(scopes, str) or not scopes:
        raise ConfigError(
            f"`scopes` is {scopes!r}. Pass a tuple of scope names, such as "
            f"`('read:page:confluence', 'offline_access')`."
        )
    bad = [scope for scope in scopes if not scope or re.search(r"\s", scope)]
    if bad:
        raise ConfigError(
            f"`scopes` holds {bad!r}: a scope name has no spaces. Pass each scope "
            f"as its own item; the URL joins them."
        )


def new_authorization_request(
    client_id: str,
    redirect_uri: str,
    scopes: str | Iterable[str],
    *,
    auth_url: str | None = None,
    audience: str = ATLASSIAN_AUDIENCE,
    prompt: str = "consent",
    pkce: bool = False,
    allow_plain_http: bool = False,
) -> AuthorizationRequest:
    """A request with a fresh `state` (and a PKCE verifier when `pkce` is set).

    `scopes` may be a space-separated string or a list; repeats are dropped.
    `auth_url` defaults to `ATLASSIAN_AUTH_URL`, or Atlassian's when it is unset.
    Keep the request: the callback checks its `state`, and the exchange sends
    its `code_verifier`.
    """
    names = scopes.split() if isinstance(scopes, str) else list(scopes)
    return AuthorizationRequest(
        auth_url=auth_url if auth_url is not None else load_hosts().auth_url,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scopes=tuple(dict.fromkeys(names)),
        state=new_state(),
        audience=audience,
        prompt=prompt,
        code_verifier=new_code_verifier() if pkce else None,
        allow_plain_http=allow_plain_http,
    )


def build_authorization_url(
    client_id: str,
    redirect_uri: str,
    scopes: str | Iterable[str],
    *,
    auth_url: str | None = None,
    audience: str = ATLASSIAN_AUDIENCE,
    prompt: str = "consent",
    allow_plain_http: bool = False,
) -> tuple[str, str]:
    """The authorization URL and its fresh `state`, as requests-oauthlib returns them.

    The same as `new_authorization_request(...)` without PKCE, unpacked into
    `(url, state)`, the shape of `OAuth2Session.authorization_url`.
    """
    request = new_authorization_request(
        client_id,
        redirect_uri,
        scopes,
        auth_url=auth_url,
        audience=audience,
        prompt=prompt,
        allow_plain_http=allow_plain_http,
    )
    return request.url, request.state


# Every finding `lint` can report: its severity and the usual fix.
LINT_RULES: dict[str, tuple[Severity, str]] = {
    "unparseable-url": (
        "error",
        "Start from `https://auth.atlassian.com/authorize?...` or the sandbox's URL.",
    ),
    "malformed-parameter": (
        "error",
        "Write each parameter as `name=value`, joined by `&`.",
    ),
    "bad-percent-encoding": (
        "error",
        "Build the query with `urllib.parse.urlencode` (or the kit's "
        "`AuthorizationRequest.url`) instead of by hand.",
    ),
    "unencoded-character": (
        "warning",
        "Percent-encode every value, as `urllib.parse.quote` does.",
    ),
    "insecure-auth-host": (
        "error",
        "Use `https://auth.atlassian.com`, or a sandbox on 127.0.0.1.",
    ),
    "not-authorize-endpoint": (
        "warning",
        "Send the browser to `<auth base URL>/authorize`.",
    ),
    "fragment": (
        "warning",
        "Remove the `#` part, or percent-encode a `#` inside a value as `%23`.",
    ),
    "duplicate-parameter": (
        "error",
        "Keep one of each; put several scopes in one `scope`, space-separated.",
    ),
    "missing-parameter": (
        "error",
        "Add it; `kit.authorize.AuthorizationRequest` writes every parameter.",
    ),
    "response-type-not-code": ("error", "Set `response_type=code`."),
    "missing-audience": ("warning", f"Add `audience={ATLASSIAN_AUDIENCE}`."),
    "wrong-audience": ("error", f"Set `audience={ATLASSIAN_AUDIENCE}`."),
    "missing-prompt": ("warning", "Add `prompt=consent`."),
    "wrong-prompt": ("warning", "Set `prompt=consent`."),
    "no-offline-access": ("warning", "Add `offline_access` to `scope`."),
    "literal-plus-in-scope": (
        "error",
        "Join scopes with a space; encode the space as `%20` (or `+`).",
    ),
    "unknown-scope": (
        "warning",
        "Check the name against the developer console, or `kit.scopes`.",
    ),
    "plus-reads-as-space": (
        "warning",
        "If you meant a plus sign, write `%2B`; better, let `urllib.parse.quote` "
        "encode the value.",
    ),
    "weak-state": (
        "error",
        "Use `kit.authorize.new_state()` (256 bits from `secrets`).",
    ),
    "secret-in-url": (
        "error",
        "Remove it; send it only in the body of the token request.",
    ),
    "pkce-not-s256": (
        "warning",
        "Send `code_challenge_method=S256` (RFC 7636 section 4.3).",
    ),
    "pkce-ignored": (
        "info",
        "Nothing to fix; keep `state`, which is what protects this flow.",
    ),
    "unknown-parameter": ("info", "Remove it unless you know the server reads it."),
    "bad-redirect-uri": (
        "error",
        "Send the app's callback URL, absolute, exactly as the console shows it.",
    ),
    "plain-http-redirect": (
        "warning",
        "Use https, or a loopback callback (`http://127.0.0.1:8765/callback`).",
    ),
    "redirect-uri-mismatch": (
        "error",
        "Send exactly the registered callback URL, or register this one.",
    ),
    "scopes-cannot-reach": (
        "error",
        "Add the missing scopes to `scope` (and to the app in the console).",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One problem `lint` found in an authorization URL, with its fix.

    `code` is a key of `LINT_RULES`; `parameter` names the parameter concerned.
    """

    code: str
    severity: Severity
    parameter: str | None
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity.upper()} [{self.code}] {self.message} Fix: {self.fix}"


def _finding(
    code: str, parameter: str | None, message: str, fix: str | None = None
) -> Finding:
    severity, usual_fix = LINT_RULES[code]
    return Finding(code, severity, parameter, message, fix or usual_fix)


@dataclass(frozen=True)
class _Parameter:
    name: str
    value: str
    raw: str


@dataclass(frozen=True)
class _ParsedUrl:
    url: str
    scheme: str = ""
    path: str = ""
    fragment: str = ""
    parameters: tuple[_Parameter, ...] = ()
    problems: tuple[Finding, ...] = ()

    def values(self, name: str) -> list[str]:
        return [p.value for p in self.parameters if p.name == name]

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_QUERY_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


def _parse(url: str) -> _ParsedUrl:
    """Split an authorization URL strictly: bad escapes and bytes are findings."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        reason = f"The URL cannot be read: {exc}."
        return _ParsedUrl(url, problems=(_finding("unparseable-url", None, reason),))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        reason = "The URL cannot be read: it has no http(s) scheme and host."
        return _ParsedUrl(url, problems=(_finding("unparseable-url", None, reason),))
    parameters: list[_Parameter] = []
    problems: list[Finding] = []
    for piece in parts.query.split("&") if parts.query else []:
        parameter, problem = _parse_piece(piece)
        parameters += [parameter] if parameter else []
        problems += [problem] if problem else []
    if not _QUERY_CHARACTERS.fullmatch(parts.query):
        message = (
            "The query holds characters a URL may not carry as they are (spaces, "
            "quotes, non-ASCII letters); a browser rewrites them, other tools may not."
        )
        problems.append(_finding("unencoded-character", None, message))
    return _ParsedUrl(
        url,
        parts.scheme,
        parts.path,
        parts.fragment,
        tuple(parameters),
        tuple(problems),
    )


def _parse_piece(piece: str) -> tuple[_Parameter | None, Finding | None]:
    raw_name, equals, raw_value = piece.partition("=")
    if not equals or not raw_name:
        message = f"The query holds {piece[:40]!r}, which is not `name=value`."
        return None, _finding("malformed-parameter", None, message)
    try:
        if _BAD_ESCAPE.search(piece):
            raise ValueError("a `%` not followed by two hex digits")
        name = unquote_plus(raw_name, errors="strict")
        value = unquote_plus(raw_value, errors="strict")
        if any(ord(char) < 32 or ord(char) == 127 for char in name + value):
            raise ValueError("a control character once decoded")
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        message = f"`{raw_name[:40]}` is not valid percent-encoded UTF-8: {exc}."
        return None, _finding("bad-percent-encoding", raw_name[:40], message)
    return _Parameter(name, value, raw_value), None


def parse_authorization_url(url: str) -> dict[str, list[str]]:
    """The query parameters of an authorization URL, each with all its values.

    Parses strictly: a bad percent-escape, invalid UTF-8, a control character or
    a piece that is not `name=value` raises `ConfigError`. `+` reads as a space.
    """
    parsed = _parse(url)
    errors = [p for p in parsed.problems if p.severity == "error"]
    if errors:
        raise ConfigError(" ".join(f"{p.message} {p.fix}" for p in errors))
    result: dict[str, list[str]] = {}
    for parameter in parsed.parameters:
        result.setdefault(parameter.name, []).append(parameter.value)
    return result


@dataclass(frozen=True)
class ParameterNote:
    """One parameter of an authorization URL, in plain words.

    `value` is None when a documented parameter is missing; secrets are masked.
    """

    name: str
    value: str | None
    meaning: str

    def __str__(self) -> str:
        shown = "(missing)" if self.value is None else self.value
        return f"{self.name} = {shown}: {self.meaning}"


def explain(url: str) -> list[ParameterNote]:
    """One plain-words note per parameter of `url`, then the documented missing ones.

    Secrets (`state`, and anything that has no place in the URL) are masked.
    """
    parsed = _parse(url)
    notes = [
        ParameterNote(p.name, _shown(p), MEANINGS.get(p.name, UNKNOWN_MEANING))
        for p in parsed.parameters
    ]
    present = {p.name for p in parsed.parameters}
    notes += [
        ParameterNote(name, None, MEANINGS[name])
        for name in MEANINGS
        if name not in present and not name.startswith("code_")
    ]
    return notes


def _shown(parameter: _Parameter) -> str:
    if parameter.name in SECRET_PARAMETERS:
        return masked(parameter.value)
    return parameter.value


def estimate_state_bits(state: str) -> float:
    """An upper bound on the entropy of `state`, from its length and alphabet.

    A UUID counts as its 122 random bits. A low figure proves a state weak; a high
    one cannot prove it strong, which is why the kit makes states with `secrets`.
    """
    if re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", state):
        return 122.0
    if re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", state) and not state.isdigit():
        return 4.0 * len(state)
    size = sum(
        len(chars)
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        if any(char in chars for char in state)
    )
    size += len({char for char in state if not char.isascii() or not char.isalnum()})
    return len(state) * math.log2(size) if size > 1 else 0.0


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
    parsed = _parse(url)
    findings = list(parsed.problems)
    if parsed.scheme:
        for check in _CHECKS:
            findings.extend(check(parsed))
        findings.extend(_redirect_findings(parsed, registered_redirect_uri))
        findings.extend(_reach_findings(parsed, operations))
    order = {"error": 0, "warning": 1, "info": 2}
    return sorted(findings, key=lambda f: order[f.severity])


def _host_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    if parsed.scheme == "http" and not is_loopback(parsed.url):
        message = (
            "The authorization server is plain http on another machine: the state "
            "and the code would cross the network in clear text (RFC 6749 10.9)."
        )
        yield _finding("insecure-auth-host", None, message)
    if not parsed.path.endswith(AUTHORIZE_PATH):
        message = f"The path is {parsed.path!r}, not the authorization endpoint."
        yield _finding("not-authorize-endpoint", None, message)
    if parsed.fragment:
        message = (
            "The URL has a `#fragment`; the browser never sends it, so anything "
            "after `#` is lost."
        )
        yield _finding("fragment", None, message)


def _duplicate_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    names = [p.name for p in parsed.parameters]
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        message = (
            f"`{name}` appears {names.count(name)} times; servers refuse a repeated "
            f"parameter, or read another copy than the one you expect."
        )
        yield _finding("duplicate-parameter", name, message)


def _required_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    for name in REQUIRED:
        value = parsed.first(name)
        if value is None or not value.strip():
            message = f"`{name}` is missing or empty. {MEANINGS[name]}"
            yield _finding("missing-parameter", name, message)


def _value_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    response_type = parsed.first("response_type")
    if response_type and response_type != "code":
        message = (
            f"`response_type` is {response_type!r}; Atlassian offers only the "
            f"authorization-code grant (the implicit grant is not supported)."
        )
        yield _finding("response-type-not-code", "response_type", message)
    audience = parsed.first("audience")
    if audience is None:
        message = (
            "`audience` is missing. Atlassian's 3LO page requires it; what happens "
            "without it is undocumented, and the sandbox refuses it."
        )
        yield _finding("missing-audience", "audience", message)
    elif audience != ATLASSIAN_AUDIENCE:
        message = (
            f"`audience` is {audience!r}; the token is for the API gateway, whose "
            f"audience is always `{ATLASSIAN_AUDIENCE}`."
        )
        yield _finding("wrong-audience", "audience", message)
    yield from _prompt_findings(parsed.first("prompt"))


def _prompt_findings(prompt: str | None) -> Iterator[Finding]:
    if prompt is None:
        message = (
            "`prompt` is missing. Atlassian documents `prompt=consent` as required; "
            "it makes the consent screen show."
        )
        yield _finding("missing-prompt", "prompt", message)
    elif prompt != "consent":
        message = (
            f"`prompt` is {prompt!r}; Atlassian documents only `consent`, and what "
            f"other values do is unknown."
        )
        yield _finding("wrong-prompt", "prompt", message)


def _scope_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    names = (parsed.first("scope") or "").split()
    if names and "offline_access" not in names:
        message = (
            "`offline_access` is not among the scopes, so the token response will "
            "hold no refresh token: after an hour the person must consent again."
        )
        yield _finding("no-offline-access", "scope", message)
    for name in dict.fromkeys(names):
        yield from _unknown_scope_findings(name)


def _unknown_scope_findings(name: str) -> Iterator[Finding]:
    if "+" in name:
        message = (
            f"The scope {name!r} holds a literal `+` (sent as `%2B`): the scopes "
            f"were joined by an encoded plus, so Atlassian sees one unknown scope."
        )
        yield _finding("literal-plus-in-scope", "scope", message)
        return
    try:
        get_scope(name)
    except CatalogueError as exc:
        message = (
            f"{exc.message} Another product's scope (Jira's `read:jira-work`) is "
            f"fine if the app has it; a misspelt one fails at consent."
        )
        yield _finding("unknown-scope", "scope", message)


def _plus_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    for parameter in parsed.parameters:
        if parameter.name != "scope" and "+" in parameter.raw:
            message = (
                f"`{parameter.name}` holds a `+`, which the server reads as a "
                f"space; only in `scope` is a `+` between values harmless."
            )
            yield _finding("plus-reads-as-space", parameter.name, message)


def _state_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    state = parsed.first("state")
    bits = estimate_state_bits(state) if state else MIN_STATE_BITS
    if bits < MIN_STATE_BITS:
        message = (
            f"`state` carries at most about {bits:.0f} bits of randomness; an "
            f"attacker could guess it (RFC 6749 section 10.10 asks for 128 or more)."
        )
        yield _finding("weak-state", "state", message)


def _secret_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    for name in NEVER_IN_URL:
        if parsed.first(name) is not None:
            message = (
                f"`{name}` is in the URL, which the browser, its history and the "
                f"server's logs all see; it must stay with the app."
            )
            yield _finding("secret-in-url", name, message)


def _pkce_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    if parsed.first("code_challenge") is None:
        return
    method = parsed.first("code_challenge_method")
    if method != "S256":
        message = (
            f"`code_challenge_method` is {method!r}; a missing method means "
            f"`plain`, which shows the verifier to anyone who sees the URL."
        )
        yield _finding("pkce-not-s256", "code_challenge_method", message)
    if urlsplit(parsed.url).hostname == ATLASSIAN_AUTH_HOST:
        message = (
            "Atlassian's 3LO apps do not support PKCE today; the challenge is "
            "ignored and the exchange still needs the client secret."
        )
        yield _finding("pkce-ignored", "code_challenge", message)


def _unknown_parameter_findings(parsed: _ParsedUrl) -> Iterator[Finding]:
    known = set(MEANINGS) | set(NEVER_IN_URL)
    for name in dict.fromkeys(p.name for p in parsed.parameters):
        if name not in known:
            yield _finding("unknown-parameter", name, f"`{name}`: {UNKNOWN_MEANING}")


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


def _redirect_findings(parsed: _ParsedUrl, registered: str | None) -> Iterator[Finding]:
    sent = parsed.first("redirect_uri")
    if not sent:
        return
    parts = _split_absolute(sent)
    if parts is None:
        message = f"`redirect_uri` {sent!r} is not an absolute http(s) URL."
        yield _finding("bad-redirect-uri", "redirect_uri", message)
    elif parts.scheme == "http" and not is_loopback(sent):
        message = (
            f"`redirect_uri` {sent!r} is plain http to another machine: the code "
            f"would cross the network in clear text."
        )
        yield _finding("plain-http-redirect", "redirect_uri", message)
    if registered is not None and sent != registered:
        fix = f"Send exactly {registered!r}, or register {sent!r} in the console."
        message = describe_difference(sent, registered)
        yield _finding("redirect-uri-mismatch", "redirect_uri", message, fix)


def _split_absolute(url: str) -> SplitResult | None:
    """`url` split, or None unless it is http(s) with a host and a valid port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return parts


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
    a, b = _split_absolute(sent), _split_absolute(registered)
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
    parsed: _ParsedUrl, operations: Iterable[OperationRef]
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
        yield _finding("scopes-cannot-reach", "scope", message, fix)


def _family_or_none(scope: str) -> str | None:
    try:
        return family(scope)
    except CatalogueError:
        return None

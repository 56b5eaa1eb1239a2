"""The authorization request: its parameters, a fresh `state` and PKCE, and the
URL built from them, checked before it leaves.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote_plus, urlencode, urlsplit

from kit.config import is_loopback, load_hosts, split_absolute
from kit.errors import ConfigError

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
    parts = split_absolute(redirect_uri)
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

"""What a callback may carry, and the checks the catcher and the paste share:
state first, then the issuer, then the code or the error; each state works once.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import threading
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote_plus

from kit.callback.pages import (
    Page,
    declined_page,
    error_page,
)
from kit.errors import (
    AccessDeniedError,
    AuthorizationError,
    ConfigError,
    IssuerMismatchError,
    MalformedCallbackError,
    StateMismatchError,
)

logger = logging.getLogger(__name__)

# The parameters an authorization response may carry (RFC 6749 section 4.1.2,
# RFC 9207). Any other name is ignored, as section 4.1.2 requires: `next=` and
# `redirect=` included, so the catcher never sends the browser anywhere.
RESPONSE_PARAMETERS = frozenset(
    {"code", "state", "error", "error_description", "error_uri", "iss", "scope"}
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a secret: `sha256:` and 8 hex digits."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]


def printable(text: str, limit: int = 200) -> str:
    """`text` with control characters escaped and cut to `limit` characters."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True, repr=False)
class CallbackResult:
    """A callback whose `state` matched: the code, and what came with it.

    `code` is the authorization code, to be exchanged within minutes; every
    display masks it. `scope` and `iss` are None when the redirect did not carry
    them (Atlassian sends neither). `received_at` is when it arrived.
    """

    code: str
    redirect_uri: str
    received_at: float
    state_fingerprint: str
    scope: str | None = None
    iss: str | None = None
    via: Literal["loopback", "paste"] = "loopback"

    def __repr__(self) -> str:
        return (
            f"CallbackResult(code=<masked {fingerprint(self.code)}>, "
            f"redirect_uri={self.redirect_uri!r}, received_at={self.received_at!r}, "
            f"state=<checked {self.state_fingerprint}>, scope={self.scope!r}, "
            f"iss={self.iss!r}, via={self.via!r})"
        )


@dataclass(frozen=True)
class ErrorResponse:
    """An OAuth error response (RFC 6749 section 4.1.2.1), state already checked."""

    error: str
    description: str | None
    error_uri: str | None

    def exception(self) -> AuthorizationError:
        said = f": {printable(self.description)}" if self.description else ""
        if self.error == "access_denied":
            return AccessDeniedError(
                "You declined on the consent page, so the app was given no access "
                f"(`access_denied`{said}). Run the authorization step again and "
                "press Accept to continue."
            )
        more = f" More at {printable(self.error_uri)}." if self.error_uri else ""
        return AuthorizationError(
            f"The authorization server answered `error={printable(self.error, 60)}`"
            f"{said}.{more} No code was issued; check the authorization URL "
            "(`client_id`, `scope`, `redirect_uri`) and start again.",
            error=self.error,
        )

    def page(self) -> Page:
        if self.error == "access_denied":
            return declined_page(self.description)
        return error_page(self.error, self.description, self.error_uri)


Outcome = CallbackResult | AuthorizationError


# The checks, shared by the catcher and the paste fallback ------------------------


def parse_query(query: str) -> list[tuple[str, str]]:
    """The query's name-value pairs, strictly decoded, or MalformedCallbackError.

    Raw spaces, control or non-ASCII characters, a `%` without two hex digits
    after it, and escapes that do not decode as UTF-8 are all refused.
    """
    raw = next((ch for ch in query if not "\x21" <= ch <= "\x7e"), None)
    if raw is not None:
        raise _malformed(f"it holds a raw {printable(raw)!r} character")
    if _BAD_ESCAPE.search(query):
        raise _malformed("a `%` in it is not followed by two hexadecimal digits")
    pairs = []
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        try:
            pairs.append(
                (
                    unquote_plus(name, errors="strict"),
                    unquote_plus(value, errors="strict"),
                )
            )
        except UnicodeDecodeError as exc:
            raise _malformed("a `%` escape in it does not decode as UTF-8") from exc
    return pairs


def _malformed(problem: str) -> MalformedCallbackError:
    return MalformedCallbackError(
        f"The callback's query cannot be read: {problem}. Start again from a fresh "
        "authorization URL; if you pasted it, copy the whole address again."
    )


def _response_parameters(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The known response parameters, each with all its values; others ignored."""
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in RESPONSE_PARAMETERS:
            continue
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise _malformed(f"its `{name}` holds a control character such as NUL")
        params.setdefault(name, []).append(value)
    return params


def verify_state(query: str, expected_state: str) -> dict[str, list[str]]:
    """Parse `query` and check its `state` first: constant time, exactly once.

    Nothing else in the query is looked at before this (RFC 6749 section 10.12;
    security cases 78 and 81): an `error` with a wrong state is a forgery, not a
    verdict of the authorization server.
    """
    params = _response_parameters(parse_query(query))
    states = params.get("state", [])
    if len(states) > 1:
        raise _malformed(f"`state` appears {len(states)} times instead of once")
    if not states:
        raise StateMismatchError(
            "The callback carries no `state`, so nothing shows that it answers this "
            "sign-in; it was rejected. If you pasted it, copy the whole address: it "
            "may have been cut short."
        )
    if not hmac.compare_digest(states[0].encode(), expected_state.encode()):
        raise StateMismatchError(
            f"The callback's `state` ({fingerprint(states[0])}) differs from the one "
            f"this sign-in sent ({fingerprint(expected_state)}): it answers another "
            "or an older authorization URL, or it is forged. Open the authorization "
            "URL of this run, and copy the whole address if you paste it."
        )
    return params


def verify_iss(params: dict[str, list[str]], expected_iss: str | None) -> str | None:
    """Check `iss` against the expected issuer by simple string comparison.

    RFC 9207 section 2.4: when the server sends `iss`, or is known to, a missing
    or different value means the answer may come from another server (a mix-up
    attack); the code must not be redeemed.
    """
    values = params.get("iss", [])
    if len(values) > 1:
        raise _malformed(f"`iss` appears {len(values)} times instead of once")
    iss = values[0] if values else None
    if expected_iss is None or iss == expected_iss:
        return iss
    if iss is None:
        problem = "carries no `iss`"
    else:
        problem = f"names the issuer `{printable(iss, 100)}`"
    raise IssuerMismatchError(
        f"The callback {problem}, but this sign-in went to `{expected_iss}`, which "
        "sends `iss` (RFC 9207): the answer may come from another server. Nothing "
        "was exchanged; start again, and check where the authorization URL points."
    )


def read_answer(
    params: dict[str, list[str]], **details: Any
) -> CallbackResult | ErrorResponse:
    """The code, or the error, of a callback whose state and issuer are checked.

    Only `error`, `error_description` and `error_uri` of an error are kept (case
    82); a parameter given twice, or both `code` and `error`, is malformed (83).
    """
    for name in ("code", "error", "error_description", "error_uri", "scope"):
        if len(params.get(name, [])) > 1:
            raise _malformed(f"`{name}` appears {len(params[name])} times")
    one = {name: values[0] for name, values in params.items()}
    if "error" in one and "code" in one:
        raise _malformed("it carries both `code` and `error`")
    if "error" in one:
        return ErrorResponse(
            one["error"], one.get("error_description"), one.get("error_uri")
        )
    if not one.get("code"):
        raise _malformed(
            "it carries neither a `code` nor an `error`, as if it were cut short"
        )
    return CallbackResult(
        code=one["code"],
        state_fingerprint=fingerprint(one["state"]),
        scope=one.get("scope"),
        iss=one.get("iss"),
        **details,
    )


class _SpentStates:
    """States whose sign-in finished: a state works once (RFC 9700 section 4.7.1).

    Only SHA-256 digests are kept, never the states themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digests: set[bytes] = set()

    def spend(self, state: str) -> None:
        with self._lock:
            self._digests.add(hashlib.sha256(state.encode()).digest())

    def is_spent(self, state: str) -> bool:
        with self._lock:
            return hashlib.sha256(state.encode()).digest() in self._digests


SPENT = _SpentStates()


def spent_error(state: str) -> StateMismatchError:
    return StateMismatchError(
        f"The `state` {fingerprint(state)} belongs to a sign-in that already "
        "finished (caught, declined, stopped or timed out), and a state works only "
        "once. Build a new authorization URL and start again."
    )


def check_unspent(state: str) -> None:
    if not state:
        raise ConfigError(
            "`expected_state` is empty. Pass the `state` that went into the "
            "authorization URL."
        )
    if SPENT.is_spent(state):
        raise spent_error(state)


def settle(
    params: dict[str, list[str]],
    expected_state: str,
    expected_iss: str | None,
    **details: Any,
) -> CallbackResult | ErrorResponse:
    """The end of the checks after `state`: issuer, then the answer; spends it."""
    try:
        verify_iss(params, expected_iss)
    except IssuerMismatchError:
        SPENT.spend(expected_state)
        raise
    answer = read_answer(params, **details)
    SPENT.spend(expected_state)
    return answer

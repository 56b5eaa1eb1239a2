"""Step 5 of the flow, the tokens: what `/oauth/token` answered, kept masked.

`TokenSet` is read from the token endpoint's JSON (RFC 6749 section 5.1) and never
shows a token: every `repr`, `str`, format and HTML display masks it. `Secret` wraps
each secret string; `fingerprint` names one without revealing it, and `Lineage` keeps
the chain of refresh-token rotations as fingerprints only.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from kit.clocks import AccessTokenClock, RefreshPolicy, format_duration
from kit.errors import TokenResponseError

logger = logging.getLogger(__name__)

MASK = "…(masked)"
SHOWN_PREFIX = 4  # characters of a secret a display keeps, "eyJh…(masked)"
MIN_LENGTH_TO_SHOW_PREFIX = 16  # shorter secrets show no character at all
FINGERPRINT_LENGTH = 12  # hex digits of SHA-256


def fingerprint(secret: str | Secret) -> str:
    """A short SHA-256 prefix that names a secret without revealing it.

    Two displays of the same token show the same fingerprint, so a learner can
    follow a token through logs and rotations; the token cannot be recovered.
    """
    value = secret.reveal() if isinstance(secret, Secret) else secret
    digest = hashlib.sha256(value.encode("utf-8")).hexdigest()
    return digest[:FINGERPRINT_LENGTH]


def mask(secret: str) -> str:
    """`secret` as displays show it: its first four characters, then `…(masked)`.

    A secret shorter than 16 characters shows none of its characters, and an
    empty one shows as `(empty)`.
    """
    if not secret:
        return "(empty)"
    if len(secret) < MIN_LENGTH_TO_SHOW_PREFIX:
        return MASK
    return secret[:SHOWN_PREFIX] + MASK


class Secret:
    """A secret string that displays masked; `reveal()` gives the value to send.

    Typing `tokens.access_token` in a cell shows `Secret('eyJh…(masked)')`, so the
    token never lands in a notebook's saved outputs. Call `reveal()` only where the
    value leaves for the server, such as an `Authorization` header. Not a
    dataclass, so that `dataclasses.asdict` of a token set keeps it masked.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for a request body or header; never print it."""
        return self._value

    @property
    def fingerprint(self) -> str:
        """The secret's short SHA-256 fingerprint (see `fingerprint`)."""
        return fingerprint(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __repr__(self) -> str:
        return f"Secret({mask(self._value)!r})"

    def __str__(self) -> str:
        return mask(self._value)

    def __format__(self, spec: str) -> str:
        return format(mask(self._value), spec)


@dataclass(frozen=True)
class TokenSet:
    """The tokens of one answer from `/oauth/token`, with local receipt times.

    `expires_at` is the local clock at receipt plus `expires_in` (never a server
    timestamp, so a skewed clock cannot make a live token look dead); it is `None`
    when the server sent no `expires_in`, which RFC 6749 section 5.1 allows.
    """

    access_token: Secret
    token_type: str
    expires_at: float | None
    received_at: float
    scope: tuple[str, ...] = ()
    refresh_token: Secret | None = None

    @classmethod
    def from_response(
        cls,
        body: Mapping[str, Any],
        *,
        now: Callable[[], float] = time.time,
        requested_scope: tuple[str, ...] = (),
    ) -> TokenSet:
        """Read a successful token response (RFC 6749 section 5.1).

        Unknown fields are ignored. `token_type` must be `bearer` in any case, and
        may be absent (Atlassian's documented example leaves it out). `expires_in`
        may be a number or a numeric string. Without `scope`, the granted scope
        is the requested one (RFC 6749 section 3.3). `now` is read once, here.
        """
        received_at = now()
        if not isinstance(body, Mapping):
            message = (
                "The token response is not a JSON object (RFC 6749 section 5.1). "
                "Check that the auth URL points at Atlassian or the sandbox."
            )
            raise TokenResponseError(message)
        access_token = _wrapped(body.get("access_token"))
        refresh_token = _wrapped(body.get("refresh_token"))
        fields = {
            name: body.get(name) for name in ("token_type", "expires_in", "scope")
        }
        del body  # from here on, no local holds a token in clear (case 101)

        expires_in = _expires_in(fields["expires_in"])
        tokens = cls(
            access_token=_access_token(access_token),
            token_type=_token_type(fields["token_type"]),
            expires_at=None if expires_in is None else received_at + expires_in,
            received_at=received_at,
            scope=_scope(fields["scope"], requested_scope),
            refresh_token=_refresh_token(refresh_token),
        )
        logger.debug("Read a token response: %s.", tokens.describe())
        return tokens

    @property
    def expires_in(self) -> float | None:
        """The lifetime the server gave, in seconds, as of `received_at`."""
        if self.expires_at is None:
            return None
        return self.expires_at - self.received_at

    def clock(self, now: Callable[[], float] = time.time) -> AccessTokenClock:
        """The access token's clock: remaining life and when to refresh."""
        return AccessTokenClock(expires_at=self.expires_at, now=now)

    def needs_refresh(self, now: Callable[[], float] = time.time) -> bool:
        """Whether the access token is within 60 s of expiry, or past it."""
        return self.clock(now).refresh_due()

    def with_refresh_token_of(self, previous: TokenSet) -> TokenSet:
        """These tokens, keeping `previous`'s refresh token if none came.

        RFC 6749 section 6 lets a server keep the refresh token; Atlassian always
        rotates it. Either way the newest refresh token is the one kept.
        """
        if self.refresh_token is not None:
            return self
        return replace(self, refresh_token=previous.refresh_token)

    def peek_claims(self) -> dict[str, Any] | None:
        """The access token's JWT claims, read without verifying, or `None`.

        For learning only: Atlassian says its tokens are opaque and may change
        format (facts 2.3), so never make the kit's logic depend on these.
        """
        import jwt  # noqa: PLC0415 - PyJWT is loaded only when asked

        try:
            claims = jwt.decode(
                self.access_token.reveal(), options={"verify_signature": False}
            )
        except jwt.PyJWTError:
            return None
        return dict(claims)

    def describe(self) -> str:
        """One masked line: fingerprints, type, scope and expiry."""
        refresh = (
            "none" if self.refresh_token is None else self.refresh_token.fingerprint
        )
        return (
            f"access token {self.access_token.fingerprint}, refresh token {refresh}, "
            f"{self.token_type}, expires_at={self.expires_at}, "
            f"scope={' '.join(self.scope) or '(none)'}"
        )

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict that HOLDS THE TOKENS IN CLEAR: for the token file only."""
        return {
            "access_token": self.access_token.reveal(),
            "refresh_token": (
                None if self.refresh_token is None else self.refresh_token.reveal()
            ),
            "token_type": self.token_type,
            "expires_at": self.expires_at,
            "received_at": self.received_at,
            "scope": list(self.scope),
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> TokenSet:
        """The inverse of `to_record`; raises `KeyError` or `TypeError` if malformed."""
        refresh = record["refresh_token"]
        expires_at = record["expires_at"]
        return cls(
            access_token=Secret(_text(record["access_token"])),
            refresh_token=None if refresh is None else Secret(_text(refresh)),
            token_type=_text(record["token_type"]),
            expires_at=None if expires_at is None else float(expires_at),
            received_at=float(record["received_at"]),
            scope=tuple(_text(item) for item in record["scope"]),
        )

    def __repr__(self) -> str:
        return (
            f"TokenSet(access_token={self.access_token!r}, "
            f"refresh_token={self.refresh_token!r}, token_type={self.token_type!r}, "
            f"expires_at={self.expires_at!r}, received_at={self.received_at!r}, "
            f"scope={self.scope!r})"
        )

    def __str__(self) -> str:
        return repr(self)

    def __format__(self, spec: str) -> str:
        return format(repr(self), spec)

    def _repr_html_(self) -> str:
        refresh = self.refresh_token
        rows = [
            ("access_token", f"{self.access_token} ({self.access_token.fingerprint})"),
            (
                "refresh_token",
                "none" if refresh is None else f"{refresh} ({refresh.fingerprint})",
            ),
            ("token_type", self.token_type),
            ("expires_at", _expiry_for_people(self.expires_at, self.received_at)),
            ("scope", " ".join(self.scope)),
        ]
        cells = "".join(
            f"<tr><th>{html.escape(name)}</th><td>{html.escape(value)}</td></tr>"
            for name, value in rows
        )
        return f"<table><caption>TokenSet</caption>{cells}</table>"


def _expiry_for_people(expires_at: float | None, received_at: float) -> str:
    """`2026-12-04 10:00:00 UTC, 1 h after it was received`, or why there is none.

    The lifetime is counted from receipt, not from now, so that the table reads
    the same whenever it is shown, and on the sandbox's clock as on the real one.
    """
    if expires_at is None:
        return "not given (the answer had no expires_in)"
    moment = datetime.fromtimestamp(expires_at, UTC)
    lifetime = format_duration(expires_at - received_at)
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC, {lifetime} after it was received"


@dataclass(frozen=True)
class Rotation:
    """One refresh: the spent refresh token and the one received, as fingerprints."""

    parent: str
    child: str
    at: float


@dataclass(frozen=True)
class Lineage:
    """A refresh-token family: its first token and every rotation since.

    Atlassian rotates the refresh token on every refresh; the family began at the
    consent and ends 365 days later, or after 90 days unused (facts 3). Only
    fingerprints are kept, so the lineage may be shown and logged freely.
    """

    root: str
    started_at: float
    rotations: tuple[Rotation, ...] = ()

    @classmethod
    def begin(cls, tokens: TokenSet) -> Lineage | None:
        """A family begun by a code exchange's tokens; `None` with no refresh token."""
        if tokens.refresh_token is None:
            return None
        return cls(root=tokens.refresh_token.fingerprint, started_at=tokens.received_at)

    @property
    def current(self) -> str:
        """The fingerprint of the newest refresh token of the family."""
        return self.rotations[-1].child if self.rotations else self.root

    @property
    def chain(self) -> tuple[str, ...]:
        """Every refresh token of the family, oldest first, as fingerprints."""
        return (self.root, *(rotation.child for rotation in self.rotations))

    @property
    def last_rotated_at(self) -> float | None:
        """When the newest refresh token arrived by rotation, if it did."""
        return self.rotations[-1].at if self.rotations else None

    @property
    def last_used_at(self) -> float:
        """When the family last got a new refresh token (its idle clock's start)."""
        return self.rotations[-1].at if self.rotations else self.started_at

    def rotated(self, spent: Secret, received: Secret, at: float) -> Lineage:
        """This lineage plus one rotation from `spent` to `received`."""
        if spent.fingerprint == received.fingerprint:
            return self
        rotation = Rotation(parent=spent.fingerprint, child=received.fingerprint, at=at)
        return replace(self, rotations=(*self.rotations, rotation))

    def policy(self, now: Callable[[], float] = time.time) -> RefreshPolicy:
        """The family's policy clocks: reuse leeway, idle limit, absolute limit."""
        return RefreshPolicy(
            family_started_at=self.started_at,
            last_used_at=self.last_used_at,
            rotated_at=self.last_rotated_at,
            now=now,
        )

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (fingerprints only)."""
        return {
            "root": self.root,
            "started_at": self.started_at,
            "rotations": [
                {"parent": item.parent, "child": item.child, "at": item.at}
                for item in self.rotations
            ],
        }

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> Lineage:
        """The inverse of `to_record`; raises `KeyError` or `TypeError` if malformed."""
        rotations = tuple(
            Rotation(
                parent=_text(item["parent"]),
                child=_text(item["child"]),
                at=float(item["at"]),
            )
            for item in record["rotations"]
        )
        return cls(
            root=_text(record["root"]),
            started_at=float(record["started_at"]),
            rotations=rotations,
        )


def _wrapped(value: object) -> object:
    """A string wrapped as a `Secret` at once; anything else as it is (no secret)."""
    return Secret(value) if isinstance(value, str) else value


def _access_token(value: object) -> Secret:
    if not isinstance(value, Secret) or not value:
        message = (
            "The token response holds no `access_token` (RFC 6749 section 5.1 "
            "requires one). Check that the request went to `/oauth/token` and "
            "start the flow again for a fresh code."
        )
        raise TokenResponseError(message)
    return value


def _refresh_token(value: object) -> Secret | None:
    if value is None:
        return None
    if not isinstance(value, Secret) or not value:
        message = (
            "The token response's `refresh_token` is not a non-empty string. "
            "Start the flow again; if it repeats, the server is misbehaving."
        )
        raise TokenResponseError(message)
    return value


def _token_type(value: object) -> str:
    if value is None:
        return "Bearer"  # Atlassian's documented example sends no token_type
    if not isinstance(value, str) or value.lower() != "bearer":
        shown = value if isinstance(value, str) and len(value) <= 20 else "unexpected"
        message = (
            f"The token response's `token_type` is {shown!r}, but the kit can only "
            "use `Bearer` tokens (RFC 6749 section 7.1). Check that the auth URL "
            "points at Atlassian or the sandbox."
        )
        raise TokenResponseError(message)
    return "Bearer"


def _expires_in(value: object) -> int | None:
    if value is None:
        return None
    seconds: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        seconds = value
    elif isinstance(value, float) and value.is_integer():
        seconds = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        seconds = int(value.strip())
    if seconds is None or seconds < 0:
        shown = repr(value)[:20]
        message = (
            f"The token response's `expires_in` is {shown}, not a number of "
            "seconds (RFC 6749 section 5.1). Start the flow again; if it repeats, "
            "the server is misbehaving."
        )
        raise TokenResponseError(message)
    return seconds


def _scope(value: object, requested: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return requested
    if not isinstance(value, str):
        message = (
            "The token response's `scope` is not a space-separated string "
            "(RFC 6749 section 3.3). Start the flow again; if it repeats, the "
            "server is misbehaving."
        )
        raise TokenResponseError(message)
    return tuple(value.split())


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value

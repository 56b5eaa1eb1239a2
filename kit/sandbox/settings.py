"""The sandbox's choices where Atlassian's behaviour is unknown, and lessons' knobs.

Two profiles: `atlassian` copies Atlassian's observed behaviour, quirks included, and
`rfc` follows RFC 6749, 6750 and 9700 to the letter. Every choice the fact sheet marks
as uncertain is a field here, with the default and the reason beside it.
"""

from __future__ import annotations

import difflib
import json
import math
import reprlib
import types
import typing
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any, Literal

Profile = Literal["atlassian", "rfc"]
PROFILES: tuple[Profile, ...] = ("atlassian", "rfc")

MINUTE = 60
DAY = 86400


@dataclass(frozen=True)
class Settings:
    """The sandbox's behaviour, fixed for one running server unless changed on purpose.

    Build one with `Settings.for_profile("rfc", code_lifetime=120)`; the profile sets
    the defaults that differ, keyword arguments override any field.
    """

    profile: Profile = "atlassian"

    # Authorization codes. RFC 6749 section 4.1.2 recommends at most 10 minutes;
    # Atlassian publishes no figure and people see codes die sooner, so a lesson can
    # shorten it (facts 2.4).
    code_lifetime: float = 10 * MINUTE

    # Access tokens live one hour: `expires_in: 3600` (facts 2.3).
    access_token_lifetime: float = 3600

    # Rotating refresh tokens (facts 3): a reuse inside the leeway is tolerated, a
    # later reuse revokes the family; 90 days idle, 365 days from first consent.
    refresh_reuse_leeway: float = 10 * MINUTE
    refresh_idle_limit: float = 90 * DAY
    refresh_absolute_limit: float = 365 * DAY

    # A bad authorization code: `modern` answers 400 invalid_request
    # "authorization_code is invalid" (seen since about 2022); `legacy` answers the
    # Auth0-era 403 invalid_grant "Invalid authorization code" (facts 2.5).
    bad_code_style: Literal["modern", "legacy"] = "modern"

    # A code redeemed twice: revoke what its first exchange issued (RFC 6749
    # section 4.1.2 SHOULD). Atlassian's behaviour is unknown; off by default there.
    revoke_on_code_reuse: bool = False

    # `audience=api.atlassian.com` is documented as required (facts 1.1); what
    # Atlassian does without it is unknown, so the sandbox refuses by default.
    require_audience: bool = True

    # PKCE is not offered to developer-console apps (facts 1.2): `ignore` accepts and
    # forgets a challenge; `enforce` binds an S256 challenge to the code.
    pkce: Literal["ignore", "enforce"] = "ignore"

    # Loopback redirect URIs whose port differs from the registered one: RFC 9700
    # section 4.1.3 allows it; Atlassian matches the whole string (facts 1.1).
    loopback_port_may_vary: bool = False

    # Token endpoint bodies: Atlassian documents JSON and accepts forms (facts 2.1);
    # RFC 6749 section 3.2 allows only forms.
    accept_json_token_requests: bool = True

    # RFC 9207 `iss` on every authorization response, with metadata advertising it.
    issue_iss_parameter: bool = False

    # The deprecated v1 `space` and `content` endpoints answer 410 Gone for 3LO
    # traffic (facts 6.1); `True` brings their legacy answers back.
    legacy_v1_endpoints: bool = False

    # API requests allowed per app and user per minute before 429 with
    # `Retry-After` (facts 6.7); None means no limit.
    rate_limit_per_minute: int | None = None

    # Failed client authentications per client per minute before the token endpoint
    # answers 429 (RFC 6749 section 2.3.1: protect against brute force).
    failed_auth_limit_per_minute: int = 20

    @classmethod
    def for_profile(cls, profile: str, **overrides: Any) -> Settings:
        """The defaults of a profile, with any field overridden by keyword."""
        if profile not in PROFILES:
            raise ValueError(
                f"Unknown sandbox profile {profile!r}. Choose one of: "
                + ", ".join(PROFILES)
                + "."
            )
        base = cls() if profile == "atlassian" else cls(**_RFC_DEFAULTS)
        return base.with_changes(**overrides)

    def __post_init__(self) -> None:
        self.validate()

    def with_changes(self, **changes: Any) -> Settings:
        """A copy with some fields changed; unknown names raise `ValueError`."""
        unknown = sorted(set(changes) - set(_HINTS))
        if unknown:
            raise ValueError(_unknown_message(unknown))
        return replace(self, **changes)

    def validate(self) -> None:
        """Raise `ValueError` naming the first field whose value cannot work.

        Every field is checked against its type (a JSON `1` is no boolean, a `"600"`
        no number), then against its range.
        """
        for name, hint in _HINTS.items():
            value = getattr(self, name)
            if not _has_type(value, hint):
                raise ValueError(_type_message(name, value, hint))
        for name in _DURATIONS:
            if not 0 <= getattr(self, name) < 100 * 365 * DAY:
                raise ValueError(
                    f"`{name}` must be from 0 to 100 years in seconds, not "
                    f"{getattr(self, name)!r}. {_example(name)}"
                )
        for name in _POSITIVE_COUNTS:
            count = getattr(self, name)
            if count is not None and count < 1:
                raise ValueError(
                    f"`{name}` must be 1 or more, not {count!r}. {_example(name)}"
                )

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-ready values."""
        return asdict(self)


_RFC_DEFAULTS: dict[str, Any] = {
    "profile": "rfc",
    "revoke_on_code_reuse": True,
    "require_audience": False,
    "pkce": "enforce",
    "loopback_port_may_vary": True,
    "accept_json_token_requests": False,
    "issue_iss_parameter": True,
}


_HINTS: dict[str, Any] = typing.get_type_hints(Settings)
_DURATIONS = (
    "code_lifetime",
    "access_token_lifetime",
    "refresh_reuse_leeway",
    "refresh_idle_limit",
    "refresh_absolute_limit",
)
_POSITIVE_COUNTS = ("rate_limit_per_minute", "failed_auth_limit_per_minute")


def _is_number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


# What each plain type accepts: strictly, so that a JSON `1` is no boolean.
_ACCEPTS: dict[Any, Callable[[Any], bool]] = {
    bool: lambda value: isinstance(value, bool),
    int: lambda value: isinstance(value, int) and not isinstance(value, bool),
    float: _is_number,
    type(None): lambda value: value is None,
}


def _has_type(value: Any, hint: Any) -> bool:
    """Whether a value fits a field's type: a bool is no number, a NaN no time."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return any(value == v and type(value) is type(v) for v in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(value, arm) for arm in typing.get_args(hint))
    accepts = _ACCEPTS.get(hint)
    return accepts(value) if accepts else isinstance(value, hint)


def _describe(hint: Any) -> str:
    """A field's type in words, as a learner would write it in JSON."""
    origin = typing.get_origin(hint)
    if origin is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in typing.get_args(hint))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(arm) for arm in typing.get_args(hint))
    words = {
        bool: "true or false",
        int: "a whole number",
        float: "a number of seconds",
        type(None): "null",
    }
    return words.get(hint, getattr(hint, "__name__", str(hint)))


def _example(name: str) -> str:
    """A sentence showing a value that works: the field's default."""
    return f"For example: {json.dumps({name: _DEFAULTS[name]})}."


def _type_message(name: str, value: Any, hint: Any) -> str:
    return (
        f"`{name}` must be {_describe(hint)}, not {reprlib.repr(value)} "
        f"({type(value).__name__}). {_example(name)}"
    )


def _unknown_message(unknown: list[str]) -> str:
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name, list(_HINTS), n=1)
        if close:
            hints.append(f"`{name}`: did you mean `{close[0]}`?")
    return (
        f"Unknown sandbox setting(s): {', '.join(unknown)}. "
        + (" ".join(hints) + " " if hints else "")
        + f"Known settings: {', '.join(sorted(_HINTS))}."
    )


_DEFAULTS: dict[str, Any] = Settings().as_dict()

"""The flow's clocks: the code's window, the access token's life, the refresh policy.

Each clock is plain data over an injectable `now` (a callable returning epoch
seconds), so that tests and notebooks move time by hand and widgets can render any
clock as its remaining time and one sentence in plain words.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

Now = Callable[[], float]

MINUTE = 60.0
HOUR = 60 * MINUTE
DAY = 24 * HOUR

CODE_UPPER_BOUND = 10 * MINUTE  # RFC 6749 4.1.2's recommended maximum (facts 2.4)
CODE_HURRY_AFTER = 2 * MINUTE  # codes were seen failing after "a few minutes"
ACCESS_TOKEN_LEEWAY = 60.0  # refresh this long before expiry (case 115)
REUSE_LEEWAY = 10 * MINUTE  # facts 3: a spent refresh token may be sent again
IDLE_LIMIT = 90 * DAY  # facts 3: unused this long, the refresh token expires
ABSOLUTE_LIMIT = 365 * DAY  # facts 3: the family ends this long after consent

CodePhase = Literal["fresh", "hurry", "likely expired"]


def format_duration(seconds: float) -> str:
    """A duration for people: its two largest units, such as `1 h 5 min` or `42 s`.

    The sign is dropped (sentences say "ago" themselves) and a fraction of a
    second is rounded down, so a window with 0.4 s left reads `0 s`.
    """
    remaining = int(abs(seconds))
    units = (("day", int(DAY)), ("h", int(HOUR)), ("min", int(MINUTE)), ("s", 1))
    parts: list[str] = []
    for name, size in units:
        count, remaining = divmod(remaining, size)
        if count and len(parts) < 2:
            parts.append(_unit(count, name))
        elif parts:
            break
    return " ".join(parts) or "0 s"


def _unit(count: int, name: str) -> str:
    if name == "day" and count != 1:
        return f"{count} days"
    return f"{count} {name}"


@dataclass(frozen=True)
class CodeWindow:
    """How long an authorization code may still be exchanged, at best.

    The window starts when the code arrives at the callback. 600 s is the
    RFC 6749 section 4.1.2 recommended maximum; Atlassian publishes no figure
    (facts 2.4), and the sandbox may be set shorter. So `upper_bound` is a bound,
    not a promise: exchange the code at once.
    """

    started_at: float
    upper_bound: float = CODE_UPPER_BOUND
    hurry_after: float = CODE_HURRY_AFTER
    now: Now = field(default=time.time, repr=False, compare=False)

    def elapsed(self) -> float:
        """Seconds since the code arrived."""
        return max(0.0, self.now() - self.started_at)

    def remaining(self) -> float:
        """Seconds left before the upper bound; 0 once it has passed."""
        return max(0.0, self.upper_bound - self.elapsed())

    def phase(self) -> CodePhase:
        """`fresh`, then `hurry` after two minutes, then `likely expired`."""
        elapsed = self.elapsed()
        if elapsed >= self.upper_bound:
            return "likely expired"
        return "hurry" if elapsed >= self.hurry_after else "fresh"

    def sentence(self) -> str:
        """The window in plain words, for a notebook or a widget."""
        age = format_duration(self.elapsed())
        bound = format_duration(self.upper_bound)
        phase = self.phase()
        if phase == "likely expired":
            return (
                f"The code arrived {age} ago, past the {bound} upper bound: it has "
                "most likely expired. Start the flow again for a fresh code."
            )
        left = format_duration(self.remaining())
        advice = "Exchange it now." if phase == "fresh" else "Hurry: exchange it now."
        return (
            f"The code arrived {age} ago; at most {left} remain of the {bound} "
            f"upper bound, and the server may allow less. {advice}"
        )


@dataclass(frozen=True)
class AccessTokenClock:
    """The access token's life, counted from local receipt time (case 115).

    `expires_at` is local receipt time plus `expires_in`, or `None` when the server
    sent no `expires_in`. The kit refreshes `leeway` seconds before expiry, so
    that a request never leaves with a token about to die.
    """

    expires_at: float | None
    leeway: float = ACCESS_TOKEN_LEEWAY
    now: Now = field(default=time.time, repr=False, compare=False)

    @property
    def refresh_at(self) -> float | None:
        """When a refresh becomes due: `leeway` seconds before expiry."""
        return None if self.expires_at is None else self.expires_at - self.leeway

    def remaining(self) -> float | None:
        """Seconds until expiry (0 once expired), or `None` when unknown."""
        if self.expires_at is None:
            return None
        return max(0.0, self.expires_at - self.now())

    def is_expired(self) -> bool:
        """Whether the expiry time has come; `False` when it is unknown."""
        return self.expires_at is not None and self.now() >= self.expires_at

    def refresh_due(self) -> bool:
        """Whether to refresh before the next call: within the leeway, or expired."""
        return self.refresh_at is not None and self.now() >= self.refresh_at

    def sentence(self) -> str:
        """The access token's state in plain words."""
        if self.expires_at is None:
            return (
                "The server did not say when the access token expires; the kit "
                "refreshes it when an API call answers 401."
            )
        delta = self.expires_at - self.now()
        if delta <= 0:
            return (
                f"The access token expired {format_duration(delta)} ago. "
                "Refresh it, or start the flow again if there is no refresh token."
            )
        if self.refresh_due():
            return (
                f"The access token expires in {format_duration(delta)}, within the "
                f"{format_duration(self.leeway)} leeway: refresh it before the next "
                "call."
            )
        return (
            f"The access token is valid for {format_duration(delta)}; the kit "
            f"refreshes it {format_duration(self.leeway)} before it expires."
        )


@dataclass(frozen=True)
class Countdown:
    """One policy clock: a start, a length, and what is left of it."""

    name: str
    started_at: float
    length: float
    now: Now = field(default=time.time, repr=False, compare=False)

    @property
    def ends_at(self) -> float:
        """When the clock runs out."""
        return self.started_at + self.length

    def elapsed(self) -> float:
        """Seconds since the clock started."""
        return max(0.0, self.now() - self.started_at)

    def remaining(self) -> float:
        """Seconds left; 0 once the clock has run out."""
        return max(0.0, self.ends_at - self.now())

    def is_over(self) -> bool:
        """Whether the clock has run out (from the second it reaches its length)."""
        return self.now() >= self.ends_at


@dataclass(frozen=True)
class RefreshPolicy:
    """Atlassian's three refresh-token clocks (facts 3; DOC-3LO, ANN-RRT).

    - reuse leeway: for 10 minutes after a rotation, the spent refresh token may be
      sent again; after that, sending it revokes the whole family;
    - idle: a refresh token unused for 90 days expires;
    - absolute: the family ends 365 days after the consent, however often used.
    """

    family_started_at: float
    last_used_at: float
    rotated_at: float | None = None
    reuse_leeway_length: float = REUSE_LEEWAY
    idle_limit: float = IDLE_LIMIT
    absolute_limit: float = ABSOLUTE_LIMIT
    now: Now = field(default=time.time, repr=False, compare=False)

    def reuse_leeway(self) -> Countdown | None:
        """The spent token's leeway, or `None` before the first rotation."""
        if self.rotated_at is None:
            return None
        return Countdown(
            "reuse leeway", self.rotated_at, self.reuse_leeway_length, self.now
        )

    def idle(self) -> Countdown:
        """The idle limit, restarted by each new refresh token."""
        return Countdown("idle", self.last_used_at, self.idle_limit, self.now)

    def absolute(self) -> Countdown:
        """The absolute limit, counted from the consent that began the family."""
        return Countdown(
            "absolute", self.family_started_at, self.absolute_limit, self.now
        )

    def usable(self) -> bool:
        """Whether the newest refresh token is within the idle and absolute limits."""
        return not (self.idle().is_over() or self.absolute().is_over())

    def sentences(self) -> tuple[str, ...]:
        """The three clocks in plain words, leeway first (if any)."""
        return (
            self.reuse_leeway_sentence(),
            self.idle_sentence(),
            self.absolute_sentence(),
        )

    def reuse_leeway_sentence(self) -> str:
        """The reuse leeway in plain words."""
        leeway = self.reuse_leeway()
        length = format_duration(self.reuse_leeway_length)
        if leeway is None:
            return (
                "No refresh has happened yet; each refresh starts a "
                f"{length} leeway in which the spent refresh token may be sent again."
            )
        if leeway.is_over():
            return (
                f"The {length} reuse leeway ended "
                f"{format_duration(self.now() - leeway.ends_at)} ago: sending the "
                "spent refresh token again now revokes every refresh token of the "
                "family, and the person must consent again."
            )
        return (
            f"The spent refresh token may be sent again for "
            f"{format_duration(leeway.remaining())} (the {length} reuse leeway) "
            "without revoking the family."
        )

    def idle_sentence(self) -> str:
        """The idle limit in plain words."""
        idle = self.idle()
        limit = format_duration(self.idle_limit)
        if idle.is_over():
            return (
                f"The refresh token sat unused for {limit} or more, so it has "
                "expired. Start the flow again for a new consent."
            )
        return (
            f"The refresh token was last renewed {format_duration(idle.elapsed())} "
            f"ago; use it within {format_duration(idle.remaining())}, or it expires "
            f"after {limit} unused."
        )

    def absolute_sentence(self) -> str:
        """The absolute limit in plain words."""
        absolute = self.absolute()
        limit = format_duration(self.absolute_limit)
        if absolute.is_over():
            return (
                f"The token family began {format_duration(absolute.elapsed())} ago "
                f"and has passed its {limit} limit. Start the flow again for a new "
                "consent."
            )
        return (
            f"The token family began {format_duration(absolute.elapsed())} ago; it "
            f"ends in {format_duration(absolute.remaining())}, {limit} after the "
            "consent, however often it is refreshed."
        )

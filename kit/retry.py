"""When to try an API call again: 429 and 503, `Retry-After`, capped backoff.

Atlassian answers 429 (and some 503s) with `Retry-After` in seconds and
`X-RateLimit-Reset` as an ISO 8601 time; without them it advises exponential
backoff with jitter (facts 6.7). `RetryPolicy.wait_for` turns an answer's
headers into seconds to wait, or None when the wait is too long to sit out.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

RETRY_STATUSES = frozenset({429, 503})  # wait and retry (facts 6.7)
SERVER_ERRORS = frozenset({500, 502, 504})  # retried fewer times, GETs only


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how long, the kit waits on a busy server.

    `max_attempts` counts the first try. A server that asks for more than
    `max_wait` seconds is not waited for: the call fails at once and says how
    long it asked for (case 109). Without a header the wait doubles from
    `base_delay`, with full jitter, up to `max_wait` (case 108).
    """

    max_attempts: int = 4
    max_server_error_attempts: int = 2
    base_delay: float = 1.0
    max_wait: float = 30.0
    jitter: Callable[[float], float] = field(
        default=lambda ceiling: random.uniform(0, ceiling),  # noqa: S311 - timing
        repr=False,
        compare=False,
    )

    def attempts_for(self, status: int) -> int:
        """How many tries in all an answer with this status may get."""
        if status in RETRY_STATUSES:
            return self.max_attempts
        if status in SERVER_ERRORS:
            return self.max_server_error_attempts
        return 1

    def wait_for(
        self, headers: Mapping[str, str], attempt: int, now: float
    ) -> float | None:
        """Seconds to wait before try `attempt + 1`, or None if over `max_wait`.

        `Retry-After` wins (seconds or an HTTP date, RFC 9110 section 10.2.3),
        then `X-RateLimit-Reset`, then backoff. `now` is epoch seconds.
        """
        asked = server_wait(headers, now)
        if asked is None:
            return self.jitter(min(self.max_wait, self.base_delay * 2 ** (attempt - 1)))
        return asked if asked <= self.max_wait else None


def server_wait(headers: Mapping[str, str], now: float) -> float | None:
    """The wait the server asked for, in seconds from `now`, if it asked."""
    lowered = {k.lower(): v for k, v in headers.items()}
    retry_after = lowered.get("retry-after", "").strip()
    if retry_after:
        seconds = _seconds_or_date(retry_after, now)
        if seconds is not None:
            return seconds
    reset = lowered.get("x-ratelimit-reset", "").strip()
    return _iso_wait(reset, now) if reset else None


def _seconds_or_date(value: str, now: float) -> float | None:
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # the asctime form: HTTP dates are UTC (RFC 9110 5.6.7)
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _iso_wait(value: str, now: float) -> float | None:
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)

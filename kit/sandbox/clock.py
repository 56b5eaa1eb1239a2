"""The sandbox's clock, which a lesson or a test can move forward.

Codes live minutes, access tokens an hour and refresh tokens up to a year: to show any
of them expiring in seconds, every time the sandbox reads goes through a `Clock`, and
`advance()` travels forward. Time never goes backwards.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class Clock:
    """Wall-clock time plus an offset that only grows.

    `Clock()` follows real time; `Clock(frozen_at=...)` stands still until advanced,
    which makes boundaries (a code at its lifetime minus one second) exact in tests.
    """

    def __init__(self, frozen_at: float | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at = frozen_at

    def now(self) -> float:
        """Seconds since the epoch, as the sandbox sees them."""
        base = time.time() if self._frozen_at is None else self._frozen_at
        return base + self._offset

    def __repr__(self) -> str:
        now = dt.datetime.fromtimestamp(self.now(), dt.UTC).isoformat()
        kind = "frozen" if self.frozen else "running"
        return f"<Clock {kind} at {now}, advanced {self._offset:g} s>"

    @property
    def offset(self) -> float:
        """How far this clock has been moved ahead, in seconds."""
        return self._offset

    @property
    def frozen(self) -> bool:
        """Whether this clock stands still between advances."""
        return self._frozen_at is not None

    def advance(
        self,
        seconds: float = 0,
        *,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
    ) -> float:
        """Move the clock forward and return the new `now()`.

        Raises `ValueError` for a negative or non-finite step: travelling back would
        let a used code or a rotated token live again, which nothing real does.
        """
        step = seconds + 60 * minutes + 3600 * hours + 86400 * days
        if not (step >= 0 and step != float("inf")):
            raise ValueError(
                f"The clock only moves forward by a finite amount; got {step!r} "
                "seconds. Pass a positive number such as `advance(minutes=11)`."
            )
        with self._lock:
            self._offset += step
        return self.now()

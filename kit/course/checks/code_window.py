"""The check of `04-code-window`: was the code's lifetime found by experiment?

It compares the learner's `lifetime` with the sandbox's `code_lifetime` setting,
within a few seconds, and says only in which direction a wrong answer is off, so
that the hint does not give the number away.
"""

from __future__ import annotations

from typing import Any

import requests

from kit.clocks import format_duration
from kit.course.checks import Result, is_done, not_done, result
from kit.errors import KitError
from kit.sandbox_controls import SandboxControls

TITLE = "Exercise: measure the code's lifetime"
TOLERANCE = 5.0  # seconds either side of the sandbox's setting


def measured(lifetime: Any, controls: SandboxControls | None) -> Result:
    """Whether `lifetime` is the sandbox's code lifetime, in seconds, give or take 5."""
    if not is_done(lifetime):
        return not_done(TITLE, "lifetime")
    if isinstance(lifetime, bool) or not isinstance(lifetime, int | float):
        kind = type(lifetime).__name__
        hint = f"`lifetime` is a {kind}; store a number of seconds, such as `high`."
        return result(TITLE, [(False, hint)])
    if lifetime <= 0:
        hint = "`lifetime` must be a positive number of seconds after the arrival."
        return result(TITLE, [(False, hint)])
    actual = _code_lifetime(controls)
    if isinstance(actual, str):
        return result(TITLE, [(False, actual)])
    return result(
        TITLE,
        [
            (True, "`lifetime` is a positive number of seconds."),
            (abs(lifetime - actual) <= TOLERANCE, _closeness(float(lifetime), actual)),
        ],
    )


def _code_lifetime(controls: SandboxControls | None) -> float | str:
    """The sandbox's `code_lifetime`, or a sentence saying why it is unknown."""
    if controls is None:
        return "This check reads the sandbox's settings; run it on the sandbox."
    try:
        return float(controls.settings()["code_lifetime"])
    except (KitError, requests.RequestException, KeyError, TypeError, ValueError):
        return "The sandbox did not tell its `code_lifetime`; is it still running?"


def _closeness(lifetime: float, actual: float) -> str:
    if abs(lifetime - actual) <= TOLERANCE:
        within = format_duration(TOLERANCE)
        return f"It matches the sandbox's code lifetime, within {within}."
    if abs(lifetime * 60 - actual) <= TOLERANCE:
        return "`lifetime` looks like minutes; the check wants seconds."
    if lifetime > actual:
        return (
            "`lifetime` is too long: codes are refused sooner. Look again at the "
            "experiments that failed, and keep the shortest wait that failed."
        )
    return (
        "`lifetime` is too short: codes still work after that long. Keep the "
        "shortest wait after which `works_after` returned False."
    )

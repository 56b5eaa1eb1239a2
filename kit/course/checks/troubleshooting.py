"""The check of `09-troubleshooting`: the step the doctor names for each failure.

Each answer in `steps` is compared with `kit.diagnose(failure).step` for the
failure of the same name; a wrong one gets a hint to read, not the answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kit.course.checks import Result, is_done, not_done, result
from kit.doctor import STEPS, diagnose

TITLE = "Exercise: name the step"


def named(steps: Any, failures: Mapping[str, Any]) -> Result:
    """Whether each of `steps` is the step `kit.diagnose` names for its failure."""
    if not is_done(steps):
        return not_done(TITLE, "steps")
    if not isinstance(steps, Mapping):
        kind = type(steps).__name__
        hint = f'`steps` is a {kind}; make it a dict: `{{"first": "...", ...}}`.'
        return result(TITLE, [(False, hint)])
    points = [
        _point(name, steps.get(name, ...), failure)
        for name, failure in failures.items()
    ]
    extra = sorted(set(map(str, steps)) - set(failures))
    if extra:
        shown = ", ".join(f"`{name}`" for name in extra)
        points.append((False, f"`steps` names no such failure: {shown}."))
    return result(TITLE, points)


def _point(name: str, answer: Any, failure: Any) -> tuple[bool, str]:
    if not is_done(answer):
        return False, f"Set `steps[{name!r}]`: it is still `...`."
    if answer not in STEPS:
        listed = ", ".join(f"`{step}`" for step in STEPS)
        return (
            False,
            f"`steps[{name!r}]` is {answer!r}, not a step; use one of {listed}.",
        )
    expected = diagnose(failure).step
    if answer == expected:
        return True, f"`{name}`: the doctor names the step `{expected}` too."
    return False, (
        f"`{name}`: not `{answer}`. Look at what it is ({_kind(failure)}) and where "
        f"it came from, then run `kit.diagnose(failures[{name!r}])` and read its "
        "Step line."
    )


def _kind(failure: Any) -> str:
    if isinstance(failure, str):
        return "an address or a page's text"
    if isinstance(failure, BaseException):
        return f"an exception, `{type(failure).__name__}`"
    return f"a recorded `{type(failure).__name__}`"

"""The exercises' self-checks: what is right and what is not, one line each.

Each notebook's exercise ends with a call to its check, from a module named
after the notebook's topic (`from kit.course.checks import authorization_url as
check`), that returns a `Result`: a line per point, ✓ or ✗ with a hint, and a
verdict.
A check never raises on a wrong answer, so that "Run All" goes on; it says what
to change instead. Nothing it shows holds a secret.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

ALL_CORRECT = "All correct."
NOT_YET = "Not yet:"


@dataclass(frozen=True)
class Result:
    """The outcome of one exercise's check."""

    title: str
    points: tuple[tuple[bool, str], ...]

    @property
    def ok(self) -> bool:
        return bool(self.points) and all(passed for passed, _ in self.points)

    @property
    def verdict(self) -> str:
        failed = sum(1 for passed, _ in self.points if not passed)
        if self.ok:
            return ALL_CORRECT
        return f"{NOT_YET} {failed} of {len(self.points)} points to fix."

    def __str__(self) -> str:
        lines = [f"{'✓' if ok else '✗'} {text}" for ok, text in self.points]
        return "\n".join([self.title, *lines, self.verdict])

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        items = "".join(
            f"<li>{_mark(ok)} {_code(text)}</li>" for ok, text in self.points
        )
        colour = "#216e4e" if self.ok else "#ae2e24"
        return (
            f"<div class='kit-check'><b>{html.escape(self.title)}</b><ul>{items}</ul>"
            f"<b style='color:{colour}'>{html.escape(self.verdict)}</b></div>"
        )


def _code(text: str) -> str:
    """`text` escaped, each `name` in backticks shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def _mark(ok: bool) -> str:
    """✓ in green or ✗ in red: characters every font has, unlike emoji."""
    colour, sign = ("#216e4e", "✓") if ok else ("#ae2e24", "✗")
    return f"<b style='color:{colour}'>{sign}</b>"


def result(title: str, points: Iterable[tuple[bool, str]]) -> Result:
    """A `Result` from (passed, sentence) pairs; write each sentence as a hint."""
    return Result(title, tuple(points))


def is_done(value: Any) -> bool:
    """Whether the learner replaced the `...` of a starter cell."""
    return value is not Ellipsis and value is not None


def not_done(title: str, name: str) -> Result:
    hint = f"Set `{name}` in the cell above: it is still `...`."
    return result(title, [(False, hint)])

"""A diagnosis: the step that failed, what happened, why, and the fix; and the
scrubbing every text that leaves the doctor goes through.
"""

from __future__ import annotations

import html
import re
import textwrap
from dataclasses import dataclass
from typing import Literal, get_args

from kit.redact import scrub
from kit.tokens import mask

Step = Literal[
    "settings",
    "authorize",
    "callback",
    "exchange",
    "refresh",
    "resources",
    "api",
    "transport",
]
STEPS: tuple[Step, ...] = get_args(Step)
SEEN_LIMIT = 160  # characters of an answer a diagnosis quotes
# A JWT, or a long opaque run: a token that no field name announced.
_TOKENISH = re.compile(r"\beyJ[\w-]*\.[\w.-]+|[A-Za-z0-9_-]{40,}")


@dataclass(frozen=True)
class Diagnosis:
    """Which step failed, what happened, why, and what to do about it.

    `trap` is set when the answer looks like something it is not; `seen` quotes
    the answer in short, masked. Nothing here holds a secret.
    """

    step: Step
    what: str
    cause: str
    fix: str
    reference: str
    trap: str | None = None
    seen: str | None = None

    def message(self) -> str:
        """What happened and what to do, as one paragraph for an exception."""
        return f"{self.what} {self.fix}"

    def _rows(self) -> list[tuple[str, str]]:
        rows = [("Step", str(self.step)), ("What", self.what), ("Cause", self.cause)]
        rows += [("Fix", self.fix)] + ([("Trap", self.trap)] if self.trap else [])
        rows += [("Seen", self.seen)] if self.seen else []
        return [*rows, ("See", self.reference)]

    def __str__(self) -> str:
        return "\n".join(
            textwrap.fill(
                value,
                88,
                initial_indent=f"{label + ':':7}",
                subsequent_indent=" " * 7,
                break_long_words=False,
                break_on_hyphens=False,
            )
            for label, value in self._rows()
        )

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left;vertical-align:top'>{label}</th>"
            f"<td style='text-align:left'>{html_of(value)}</td></tr>"
            for label, value in self._rows()
        )
        return f"<table class='kit-diagnosis'>{cells}</table>"


def html_of(text: str) -> str:
    """`text` escaped, with each `name` in backticks shown as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def text_of(value: object) -> str:
    return short(value) if isinstance(value, str) else ""


def short(text: str, limit: int = SEEN_LIMIT) -> str:
    """`text` scrubbed of secrets, on one line, cut to `limit` characters."""
    text = _TOKENISH.sub(lambda m: mask(m.group()), scrub(text))
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"

"""The rules of `table.py`, parsed at import, and the answer they are matched on."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from string import Template

from kit.doctor.diagnosis import STEPS, Diagnosis, Step
from kit.doctor.table import SHARED, TABLE


@dataclass(frozen=True)
class Answer:
    """What the rules look at: where it came from, its status, marks and words."""

    source: str  # an exchange's step, "url" or "exception"
    step: Step  # the step reported when the rule names none
    status: int = 0  # 0: no answer
    marks: frozenset[str] = frozenset()
    said: str = ""
    seen: str | None = None
    values: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Rule:
    """One known answer: where it applies, and the diagnosis it gets.

    It matches when the answer's source is one of `sources`, its status one of
    `statuses`, one of `marks` is among its marks, and one of `said` is in what
    it said; an empty condition holds for all. `$name` in the texts is one of
    the answer's values.
    """

    sources: frozenset[str]
    statuses: frozenset[int]
    marks: frozenset[str]
    said: tuple[str, ...]
    texts: Mapping[str, str]

    def matches(self, answer: Answer) -> bool:
        words = answer.said.lower()
        return (
            (not self.sources or answer.source in self.sources)
            and (not self.statuses or answer.status in self.statuses)
            and (not self.marks or bool(self.marks & answer.marks))
            and (not self.said or any(w in words for w in self.said))
        )

    def diagnosis(self, answer: Answer) -> Diagnosis:
        def text(name: str) -> str:
            return Template(self.texts.get(name, "")).safe_substitute(answer.values)

        return Diagnosis(
            step=step_named(self.texts.get("step")) or answer.step,
            what=text("what"),
            cause=text("cause"),
            fix=text("fix"),
            reference=self.texts["see"],
            trap=text("trap") or None,
            seen=answer.seen,
        )


def step_named(name: str | None) -> Step | None:
    return next((step for step in STEPS if step == name), None)


GROUPS = {
    "TOKEN": "exchange refresh",
    "API": "api resources me",
    "ANSWER": "exchange refresh api resources me",
    "*": "",
}
_RANGES = {"0": (0,), "2xx": (200, 201, 202, 204), "3xx": (301, 302, 303, 307, 308)}


def _parse_table(table: str) -> tuple[_Rule, ...]:
    """The rules of `TABLE`, in order; a malformed block fails the import."""
    rules = []
    for block in re.split(r"\n(?=\S)", table.strip()):
        header, _, body = block.partition("\n  ")
        sources, statuses, marks, *said = (" ".join(header.split()) + "|||").split("|")
        texts = dict(re.findall(r"(\w+): (.*?)(?=\n  \w+: |\Z)", "  " + body, re.S))
        texts = {k: _shared(" ".join(v.split())) for k, v in texts.items()}
        if not texts.get("see") or texts.get("step", "api") not in STEPS:
            raise ValueError(f"a rule of kit.doctor is malformed: {header!r}")
        rules.append(
            _Rule(
                sources=frozenset(_expand(sources)),
                statuses=frozenset(n for s in statuses.split() for n in _statuses(s)),
                marks=frozenset(marks.split()),
                said=tuple(w.strip().lower() for w in said[0].split("/") if w.strip()),
                texts=texts,
            )
        )
    return tuple(rules)


def _expand(sources: str) -> list[str]:
    return " ".join(GROUPS.get(word, word) for word in sources.split()).split()


def _statuses(word: str) -> tuple[int, ...]:
    if word == "5xx":
        return tuple(range(500, 600))
    return _RANGES.get(word) or (int(word),)


def _shared(text: str) -> str:
    return re.sub(r"@(\w+)", lambda m: SHARED[m.group(1)], text)


RULES = _parse_table(TABLE)


def first_match(answer: Answer) -> Diagnosis:
    rule = next(rule for rule in RULES if rule.matches(answer))  # the last: all
    return rule.diagnosis(answer)

"""A useful subset of CQL, the Confluence Query Language of `/rest/api/search`.

`parse` turns a query such as `type = page AND space in (ENG, OPS) AND text ~ "robot"
ORDER BY lastmodified DESC` into a small tree, and `matches` tests an `Entity` (a page
or a space) against it. Anything outside the subset raises `CqlError` with a message
saying what was wrong and where; it never raises anything else (facts 6.3).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Literal

FIELDS = (
    "ancestor",
    "created",
    "creator",
    "id",
    "label",
    "lastmodified",
    "parent",
    "space",
    "text",
    "title",
    "type",
)
ALIASES = {"space.key": "space", "lastModified": "lastmodified"}
ORDER_FIELDS = ("created", "id", "lastmodified", "title")
TYPES = ("page", "blogpost", "comment", "attachment", "space", "user", "folder")
_EQUALITY = ("=", "!=", "in", "not in")
_OPERATORS: dict[str, tuple[str, ...]] = {
    "ancestor": _EQUALITY,
    "created": ("=", "!=", "<", "<=", ">", ">="),
    "creator": _EQUALITY,
    "id": _EQUALITY,
    "label": _EQUALITY,
    "lastmodified": ("=", "!=", "<", "<=", ">", ">="),
    "parent": _EQUALITY,
    "space": _EQUALITY,
    "text": ("~", "!~"),
    "title": ("=", "!=", "~", "!~", *_EQUALITY[2:]),
    "type": _EQUALITY,
}
MAX_DEPTH = 40
MAX_LENGTH = 4000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|!~|<=|>=|=|~|<|>)
      | (?P<punct>[(),])
      | (?P<word>[^\s"'(),=!~<>]+)
    )""",
    re.VERBOSE | re.DOTALL,
)
_DATE = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:\s+(\d{1,2}):(\d{2}))?")
_TERM = re.compile(r"[\w*]+")


class CqlError(Exception):
    """A query outside the sandbox's CQL subset, with a message saying why."""


@dataclass(frozen=True)
class Token:
    """One lexical token: its kind, its text, and where it starts."""

    kind: Literal["string", "op", "punct", "word", "end"]
    text: str
    position: int


@dataclass(frozen=True)
class Value:
    """A value in a clause: literal text, or a function call such as currentUser()."""

    text: str
    function: bool = False


@dataclass(frozen=True)
class Clause:
    """`field op value`, or `field in (values)`."""

    field: str
    op: str
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Not:
    """`NOT expr`."""

    item: Node


@dataclass(frozen=True)
class Junction:
    """`a AND b AND ...` or `a OR b OR ...`."""

    kind: Literal["and", "or"]
    items: tuple[Node, ...]


Node = Clause | Not | Junction


@dataclass(frozen=True)
class Query:
    """A parsed query: its condition (None matches everything) and its order."""

    where: Node | None
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    def fields(self) -> set[str]:
        """Every field the condition mentions."""
        return _fields(self.where) if self.where is not None else set()


@dataclass(frozen=True)
class Entity:
    """What a query is tested against: a page or a space, flattened."""

    type: str
    id: str
    space_key: str
    title: str
    text: str
    labels: tuple[str, ...]
    creator: str
    created: str
    lastmodified: str
    ancestors: tuple[str, ...] = ()
    parent: str | None = None


def tokenize(query: str) -> list[Token]:
    """The query's tokens, ending with an `end` token."""
    tokens: list[Token] = []
    position = 0
    while True:
        while position < len(query) and query[position].isspace():
            position += 1
        if position >= len(query):
            return [*tokens, Token("end", "", position)]
        found = _TOKEN.match(query, position)
        if found is None or found.lastgroup is None:
            raise CqlError(f"Unexpected character {query[position]!r} at {position}.")
        text = found.group(found.lastgroup)
        start = found.start(found.lastgroup)
        tokens.append(Token(found.lastgroup, text, start))  # type: ignore[arg-type]
        position = found.end()


class _Parser:
    """A recursive-descent parser over the token list."""

    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.index = 0
        self.depth = 0

    @property
    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def keyword(self, *words: str) -> bool:
        """Consume the keywords if they come next (case-insensitive)."""
        ahead = self.tokens[self.index : self.index + len(words)]
        if len(ahead) == len(words) and all(
            t.kind == "word" and t.text.lower() == w
            for t, w in zip(ahead, words, strict=True)
        ):
            self.index += len(words)
            return True
        return False

    def expect(self, kind: str, text: str | None = None) -> Token:
        token = self.take()
        if token.kind != kind or (text is not None and token.text != text):
            wanted = repr(text) if text else kind
            raise CqlError(f"Expected {wanted} at {token.position}, {_found(token)}.")
        return token

    def query(self) -> Query:
        where = None
        if self.peek.kind != "end" and not self._at_order():
            where = self.disjunction()
        order = self.order_by()
        if self.peek.kind != "end":
            raise CqlError(
                f"Unexpected {self.peek.text!r} at {self.peek.position}; "
                "expected AND, OR, ORDER BY or the end of the query."
            )
        return Query(where, order)

    def _at_order(self) -> bool:
        ahead = self.tokens[self.index : self.index + 2]
        return [t.text.lower() for t in ahead] == ["order", "by"]

    def disjunction(self) -> Node:
        items = [self.conjunction()]
        while self.keyword("or"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else Junction("or", tuple(items))

    def conjunction(self) -> Node:
        items = [self.negation()]
        while self.keyword("and"):
            items.append(self.negation())
        return items[0] if len(items) == 1 else Junction("and", tuple(items))

    def negation(self) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise CqlError(f"The query nests deeper than {MAX_DEPTH} levels.")
        try:
            if self.keyword("not"):
                return Not(self.negation())
            if self.peek.kind == "punct" and self.peek.text == "(":
                self.take()
                inner = self.disjunction()
                self.expect("punct", ")")
                return inner
            return self.clause()
        finally:
            self.depth -= 1

    def clause(self) -> Clause:
        token = self.take()
        if token.kind != "word":
            raise CqlError(
                f"Expected a field name at {token.position}, {_found(token)}."
            )
        name = field_name(token.text)
        op = self.operator(name)
        if op in ("in", "not in"):
            return _checked(Clause(name, op, self.value_list()))
        return _checked(Clause(name, op, (self.value(),)))

    def operator(self, name: str) -> str:
        token = self.peek
        if self.keyword("not", "in"):
            op = "not in"
        elif self.keyword("in"):
            op = "in"
        elif token.kind == "op":
            op = self.take().text
        else:
            raise CqlError(
                f"Expected an operator after `{name}` at {token.position}, "
                f"{_found(token)}."
            )
        if op not in _OPERATORS[name]:
            allowed = ", ".join(_OPERATORS[name])
            raise CqlError(
                f"The operator `{op}` does not work on the field `{name}`; "
                f"use one of: {allowed}."
            )
        return op

    def value_list(self) -> tuple[Value, ...]:
        self.expect("punct", "(")
        values = [self.value()]
        while self.peek.kind == "punct" and self.peek.text == ",":
            self.take()
            values.append(self.value())
        self.expect("punct", ")")
        return tuple(values)

    def value(self) -> Value:
        token = self.take()
        if token.kind == "string":
            return Value(_unquote(token.text))
        if token.kind != "word":
            raise CqlError(f"Expected a value at {token.position}, {_found(token)}.")
        if self.peek.kind == "punct" and self.peek.text == "(":
            self.take()
            self.expect("punct", ")")
            return Value(token.text, function=True)
        return Value(token.text)

    def order_by(self) -> tuple[tuple[str, bool], ...]:
        if not self.keyword("order", "by"):
            return ()
        order = [self.order_item()]
        while self.peek.kind == "punct" and self.peek.text == ",":
            self.take()
            order.append(self.order_item())
        return tuple(order)

    def order_item(self) -> tuple[str, bool]:
        token = self.expect("word")
        name = ALIASES.get(token.text, token.text.lower())
        if name not in ORDER_FIELDS:
            raise CqlError(
                f"Cannot order by `{token.text}`; use one of: "
                f"{', '.join(ORDER_FIELDS)}."
            )
        if self.keyword("desc"):
            return name, True
        self.keyword("asc")
        return name, False


def parse(query: str) -> Query:
    """Parse a CQL query; `CqlError` says what is wrong with a bad one."""
    if len(query) > MAX_LENGTH:
        raise CqlError(f"The query is longer than {MAX_LENGTH} characters.")
    if not query.strip():
        raise CqlError("The query is empty; try `type = page`.")
    return _Parser(tokenize(query)).query()


def field_name(raw: str) -> str:
    """A field's canonical name; an unknown field lists the valid ones."""
    name = ALIASES.get(raw, raw.lower())
    if name not in FIELDS:
        raise CqlError(
            f"`{raw}` is not a field the sandbox's CQL knows; valid fields are: "
            f"{', '.join(FIELDS)}."
        )
    return name


def _checked(clause: Clause) -> Clause:
    """The clause, once its values suit its field; else `CqlError` (at parse time)."""
    for value in clause.values:
        if clause.field in ("created", "lastmodified"):
            parse_date(_value_text(value, clause))
        elif clause.op in ("~", "!~") and not terms(_value_text(value, clause)):
            raise CqlError(f"The value {value.text!r} holds no word to search for.")
        elif value.function:
            _resolve(value, clause, "")
    return clause


def _found(token: Token) -> str:
    return (
        "found the end of the query" if token.kind == "end" else f"found {token.text!r}"
    )


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1], flags=re.DOTALL)


def _fields(node: Node) -> set[str]:
    if isinstance(node, Clause):
        return {node.field}
    if isinstance(node, Not):
        return _fields(node.item)
    return set().union(*(_fields(item) for item in node.items))


# Evaluation


def matches(node: Node | None, entity: Entity, current_user: str) -> bool:
    """Whether the entity satisfies the condition."""
    if node is None:
        return True
    if isinstance(node, Not):
        return not matches(node.item, entity, current_user)
    if isinstance(node, Junction):
        results = (matches(item, entity, current_user) for item in node.items)
        return all(results) if node.kind == "and" else any(results)
    return _clause(node, entity, current_user)


def _clause(clause: Clause, entity: Entity, current_user: str) -> bool:
    negated = clause.op in ("!=", "!~", "not in")
    if clause.field in ("created", "lastmodified"):
        moment = entity.created if clause.field == "created" else entity.lastmodified
        return _compare_date(clause.op, moment, _value_text(clause.values[0], clause))
    if clause.op in ("~", "!~"):
        haystack = entity.title if clause.field == "title" else _all_text(entity)
        found = _contains_terms(haystack, _value_text(clause.values[0], clause))
        return found != negated
    candidates = _field_values(clause.field, entity)
    wanted = {_resolve(v, clause, current_user).casefold() for v in clause.values}
    found = any(candidate.casefold() in wanted for candidate in candidates)
    return found != negated


def _field_values(field: str, entity: Entity) -> tuple[str, ...]:
    values: dict[str, tuple[str, ...]] = {
        "type": (entity.type,),
        "id": (entity.id,),
        "space": (entity.space_key,),
        "title": (entity.title,),
        "label": entity.labels,
        "creator": (entity.creator,),
        "ancestor": entity.ancestors,
        "parent": (entity.parent,) if entity.parent else (),
    }
    return values[field]


def _resolve(value: Value, clause: Clause, current_user: str) -> str:
    if not value.function:
        return value.text
    if value.text.lower() == "currentuser" and clause.field == "creator":
        return current_user
    raise CqlError(
        f"The function `{value.text}()` is not supported on `{clause.field}`; "
        "the sandbox knows `creator = currentUser()` only."
    )


def _value_text(value: Value, clause: Clause) -> str:
    if value.function:
        raise CqlError(
            f"The function `{value.text}()` is not supported on `{clause.field}`; "
            'write a literal value such as "2024-01-31".'
        )
    return value.text


def _all_text(entity: Entity) -> str:
    return f"{entity.title}\n{entity.text}"


def terms(text: str) -> list[str]:
    """The words of a `~` value, lower-cased; a trailing `*` means a prefix."""
    return [term.casefold() for term in _TERM.findall(text) if term.strip("*")]


def _contains_terms(haystack: str, wanted: str) -> bool:
    words = terms(wanted)
    if not words:
        raise CqlError(f"The value {wanted!r} holds no word to search for.")
    folded = haystack.casefold()
    return all(word.rstrip("*") in folded for word in words)


def parse_date(value: str) -> tuple[dt.datetime, bool]:
    """A CQL date (`yyyy-mm-dd`, `yyyy/mm/dd hh:mm`) and whether it has a time."""
    found = _DATE.fullmatch(value.strip())
    if found is None:
        raise CqlError(
            f"{value!r} is not a date; write `yyyy-mm-dd` or `yyyy/mm/dd hh:mm`."
        )
    try:
        year, month, day, hour, minute = (int(p) if p else 0 for p in found.groups())
        return dt.datetime(year, month, day, hour, minute), found.group(4) is not None
    except ValueError as exc:
        raise CqlError(f"{value!r} is not a valid date.") from exc


def _compare_date(op: str, moment: str, value: str) -> bool:
    bound, timed = parse_date(value)
    at = dt.datetime.strptime(moment[:19], "%Y-%m-%dT%H:%M:%S")
    if op in ("=", "!="):
        same = at == bound if timed else at.date() == bound.date()
        return same == (op == "=")
    checks = {"<": at < bound, "<=": at <= bound, ">": at > bound, ">=": at >= bound}
    return checks[op]

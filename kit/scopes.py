"""Before step 1 of the flow: which scopes to ask for, and what each one opens.

The catalogue comes from Atlassian's Confluence specs (`kit/data/`, made by
`scripts/build_scope_catalogue.py`). It teaches facts 5.2: v2 takes granular scopes
only; v1 takes its classic scopes or one granular alternative; and both families
can be mixed in one grant.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeAlias

from kit.errors import CatalogueError

Family: TypeAlias = Literal["classic", "granular", "identity", "offline"]

CATALOGUE_FILE = "data/scope_catalogue.json"
MAX_ADVISED_SETS = 32

# What the course and `python -m kit login` ask for unless told otherwise: enough
# to read pages, spaces, search and the user in v1 and v2, and to refresh.
EVERYDAY_SCOPES = (
    "read:page:confluence",
    "read:space:confluence",
    "search:confluence",
    "read:confluence-user",
    "read:me",
    "offline_access",
)

# The operations the course calls by name: (api, method, path) in the catalogue.
FRIENDLY_NAMES: dict[str, tuple[str, str, str]] = {
    "v1 search": ("v1", "GET", "/wiki/rest/api/search"),
    "v1 current user": ("v1", "GET", "/wiki/rest/api/user/current"),
    "v1 spaces": ("v1", "GET", "/wiki/rest/api/space"),
    "v1 space": ("v1", "GET", "/wiki/rest/api/space/{spaceKey}"),
    "v1 content": ("v1", "GET", "/wiki/rest/api/content"),
    "v1 content item": ("v1", "GET", "/wiki/rest/api/content/{id}"),
    "v2 spaces": ("v2", "GET", "/wiki/api/v2/spaces"),
    "v2 space": ("v2", "GET", "/wiki/api/v2/spaces/{id}"),
    "v2 pages in space": ("v2", "GET", "/wiki/api/v2/spaces/{id}/pages"),
    "v2 pages": ("v2", "GET", "/wiki/api/v2/pages"),
    "v2 page": ("v2", "GET", "/wiki/api/v2/pages/{id}"),
    "me": ("identity", "GET", "/me"),
}


@dataclass(frozen=True)
class Operation:
    """One API operation and the scope sets that open it.

    `scope_sets` are alternatives: a token reaches the operation when it holds
    every scope of at least one set. For v1 the classic set comes first.
    """

    api: str
    method: str
    path: str
    operation_id: str
    summary: str
    deprecated: bool
    experimental: bool
    scope_sets: tuple[tuple[str, ...], ...]

    @property
    def key(self) -> str:
        """`api METHOD path`, as in `v2 GET /wiki/api/v2/spaces`."""
        return f"{self.api} {self.method} {self.path}"

    @property
    def friendly_name(self) -> str | None:
        """The course's name for it (`v2 spaces`), if it has one."""
        wanted = (self.api, self.method, self.path)
        return next((k for k, v in FRIENDLY_NAMES.items() if v == wanted), None)

    def __str__(self) -> str:
        return f"{self.key} ({self.operation_id})"


OperationRef: TypeAlias = Operation | str | tuple[str, str, str]


@dataclass(frozen=True)
class Scope:
    """One scope: its family, what it means, and the operations it opens."""

    name: str
    family: Family
    description: str
    details: str
    operations: tuple[str, ...]

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class OperationAdvice:
    """The scope sets that reach one operation, and why, in one sentence."""

    operation: Operation
    alternatives: tuple[tuple[str, ...], ...]
    explanation: str


@dataclass(frozen=True)
class ScopeAdvice:
    """What to ask for so that a token reaches every chosen operation.

    `minimal_sets` each reach all of them and none holds another; the first is
    the recommendation: fewest scopes, then classic first, as Atlassian advises.
    """

    operations: tuple[OperationAdvice, ...]
    minimal_sets: tuple[tuple[str, ...], ...]
    explanation: str

    @property
    def recommended(self) -> tuple[str, ...]:
        """The first minimal set (empty when no operation was chosen)."""
        return self.minimal_sets[0] if self.minimal_sets else ()

    def scope_param(self, *, offline_access: bool = True) -> str:
        """The recommended set as a `scope` value, `offline_access` added."""
        extra = ("offline_access",) if offline_access else ()
        return " ".join(dict.fromkeys(self.recommended + extra))

    def __str__(self) -> str:
        lines = [advice.explanation for advice in self.operations]
        return "\n".join([*lines, self.explanation])


@dataclass(frozen=True)
class _Catalogue:
    scopes: dict[str, Scope]
    operations: dict[str, Operation]


@cache
def _catalogue() -> _Catalogue:
    """The catalogue file, parsed on first use (importing `kit` stays light)."""
    text = resources.files("kit").joinpath(CATALOGUE_FILE).read_text("utf-8")
    data = json.loads(text)
    return _Catalogue(
        scopes={name: _scope(name, rec) for name, rec in data["scopes"].items()},
        operations={key: _operation(rec) for key, rec in data["operations"].items()},
    )


def _scope(name: str, record: dict[str, Any]) -> Scope:
    return Scope(
        name=name,
        family=record["family"],
        description=record["description"],
        details=record["details"],
        operations=tuple(record["operations"]),
    )


def _operation(record: dict[str, Any]) -> Operation:
    return Operation(
        api=record["api"],
        method=record["method"],
        path=record["path"],
        operation_id=record["operationId"],
        summary=record["summary"],
        deprecated=record["deprecated"],
        experimental=record["experimental"],
        scope_sets=tuple(tuple(group) for group in record["scope_sets"]),
    )


def all_scopes() -> tuple[Scope, ...]:
    """Every scope in the catalogue, sorted by name."""
    return tuple(sorted(_catalogue().scopes.values(), key=lambda s: s.name))


def all_operations() -> tuple[Operation, ...]:
    """Every operation in the catalogue, sorted by key."""
    return tuple(sorted(_catalogue().operations.values(), key=lambda o: o.key))


def get_scope(name: str) -> Scope:
    """The catalogue's record of a scope; `CatalogueError` names a close match."""
    scopes = _catalogue().scopes
    if name in scopes:
        return scopes[name]
    hint = _did_you_mean(name, scopes)
    message = (
        f"`{name}` is not a Confluence, identity or offline scope in the kit's "
        f"catalogue.{hint} `kit.scopes.all_scopes()` lists them all."
    )
    raise CatalogueError(message)


def family(scope: str) -> Family:
    """`classic`, `granular`, `identity` (`read:me`) or `offline` (`offline_access`)."""
    return get_scope(scope).family


def describe(scope: str) -> str:
    """A scope in plain words: family, meaning, and a few operations it opens."""
    record = get_scope(scope)
    text = f"`{record.name}` ({record.family}): {record.description}"
    if record.details:
        text += f" {record.details}"
    count = len(record.operations)
    if count:
        examples = sorted(record.operations, key=_example_rank)
        shown = ", ".join(examples[:3])
        more = f" and {count - 3} more" if count > 3 else ""
        text += f" It opens {count} operation(s): {shown}{more}."
    elif record.family in {"classic", "granular"}:
        text += " No operation in the specs takes it."
    return text


def _example_rank(key: str) -> tuple[bool, int, str]:
    _, method, path = key.split(" ", 2)
    return (method != "GET", len(path), key)


def find_operation(ref: OperationRef) -> Operation:
    """An operation by friendly name, key, or (api, method, path).

    A path may be concrete (`/wiki/api/v2/pages/123`) or the spec's template
    (`/wiki/api/v2/pages/{id}`); a v1 path may leave out `/wiki`, as the gateway
    allows (facts 4.2).
    """
    if isinstance(ref, Operation):
        return ref
    if isinstance(ref, tuple):
        api, method, path = ref
    elif ref.strip().lower() in FRIENDLY_NAMES:
        api, method, path = FRIENDLY_NAMES[ref.strip().lower()]
    else:
        api, method, path = _split_key(ref)
    found = _match(api, method.upper(), path)
    if found is None:
        raise CatalogueError(_unknown_operation(f"{api} {method} {path}".strip()))
    return found


def _split_key(text: str) -> tuple[str, str, str]:
    parts = text.split()
    if len(parts) != 3:
        raise CatalogueError(_unknown_operation(text))
    return parts[0], parts[1], parts[2]


def _match(api: str, method: str, path: str) -> Operation | None:
    operations = _catalogue().operations
    if api == "v1" and path.startswith("/rest/api"):
        path = "/wiki" + path
    exact = operations.get(f"{api} {method} {path}")
    if exact is not None:
        return exact
    candidates = [
        op
        for op in operations.values()
        if (op.api, op.method) == (api, method) and _template_matches(op.path, path)
    ]
    # A literal segment beats a parameter: `/content/search` over `/content/{id}`.
    return min(candidates, key=lambda op: op.path.count("{"), default=None)


def _template_matches(template: str, path: str) -> bool:
    pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
    return re.fullmatch(pattern, path) is not None


def _unknown_operation(text: str) -> str:
    names = list(FRIENDLY_NAMES) + list(_catalogue().operations)
    hint = _did_you_mean(text, names)
    return (
        f"No operation `{text}` in the scope catalogue.{hint} Name one as in "
        f"FRIENDLY_NAMES (`v2 pages`), or as `api METHOD path` "
        f"(`v2 GET /wiki/api/v2/pages`)."
    )


def _did_you_mean(name: str, candidates: Iterable[str]) -> str:
    matches = difflib.get_close_matches(name, list(candidates), n=3, cutoff=0.6)
    if not matches:
        return ""
    return " Did you mean " + " or ".join(f"`{m}`" for m in matches) + "?"


def granted_set(granted: str | Iterable[str]) -> frozenset[str]:
    """A grant as a set: a space-separated `scope` string or any iterable."""
    if isinstance(granted, str):
        return frozenset(granted.split())
    return frozenset(granted)


def can_reach(granted: str | Iterable[str], operation: OperationRef) -> bool:
    """Whether a token holding `granted` passes the gateway's scope check."""
    held = granted_set(granted)
    return any(held.issuperset(group) for group in find_operation(operation).scope_sets)


def missing_scopes(
    granted: str | Iterable[str], operation: OperationRef
) -> tuple[str, ...]:
    """The fewest scopes to add to `granted` to reach `operation`; () if none.

    Among equally short answers the classic set wins for v1 (it comes first).
    """
    target = find_operation(operation)
    if not target.scope_sets:
        raise CatalogueError(_no_scope_message(target))
    held = granted_set(granted)
    gaps = [tuple(s for s in group if s not in held) for group in target.scope_sets]
    return min(gaps, key=len)


def _no_scope_message(operation: Operation) -> str:
    return (
        f"No OAuth 2.0 scope opens {operation}: Atlassian's spec lists none, so a "
        f"3LO token cannot call it. Choose another operation."
    )


def explain_operation(operation: OperationRef) -> OperationAdvice:
    """The scope sets that reach one operation, and the rule behind them."""
    target = find_operation(operation)
    if not target.scope_sets:
        raise CatalogueError(_no_scope_message(target))
    sentence = _rule_sentence(target)
    if target.deprecated:
        sentence = sentence[:-1] + (
            "; Atlassian marks it deprecated, so the gateway may answer 410 Gone."
        )
    return OperationAdvice(target, target.scope_sets, sentence)


def _rule_sentence(op: Operation) -> str:
    sets = [" + ".join(f"`{s}`" for s in group) for group in op.scope_sets]
    if op.api == "v2":
        return f"{op} is a v2 operation, so it takes granular scopes only: {sets[0]}."
    if op.api == "identity":
        return f"{op} is the User Identity API: it takes {sets[0]}."
    if len(sets) == 1:
        return (
            f"{op} is a v1 operation with one scope set and no alternative: {sets[0]}."
        )
    kinds = [_set_family(group) for group in op.scope_sets]
    return (
        f"{op} is a v1 operation: it takes the {kinds[0]} {sets[0]}, "
        f"or its {kinds[1]} alternative {sets[1]}."
    )


def _set_family(group: Iterable[str]) -> str:
    families = {family(s) for s in group}
    return families.pop() if len(families) == 1 else "mixed"


def scopes_for(operations: Iterable[OperationRef]) -> ScopeAdvice:
    """The minimal scope sets that reach every one of `operations` (facts 5.2).

    v2 operations need granular scopes; each v1 operation takes its classic set or
    its granular alternative; one grant may mix both families, so the answer is
    the union of one choice per operation, keeping only the minimal unions. When
    more than `MAX_ADVISED_SETS` unions compete, each step keeps the best ranked,
    so a long list of operations gets minimal sets, though perhaps not every one.
    """
    advice = tuple(explain_operation(op) for op in dict.fromkeys(operations))
    options: set[frozenset[str]] = {frozenset()}
    for alternatives in dict.fromkeys(item.alternatives for item in advice):
        grown = {option | set(group) for option in options for group in alternatives}
        options = set(sorted(_minimal(grown), key=_rank)[:MAX_ADVISED_SETS])
    ranked = sorted(_minimal(options), key=_rank)
    minimal_sets = tuple(tuple(sorted(option)) for option in ranked)
    return ScopeAdvice(advice, minimal_sets, _summary(len(advice), minimal_sets))


def _minimal(options: set[frozenset[str]]) -> set[frozenset[str]]:
    return {a for a in options if not any(b < a for b in options)}


def _rank(option: frozenset[str]) -> tuple[int, int, list[str]]:
    granular = sum(family(s) == "granular" for s in option)
    return (len(option), granular, sorted(option))


def _summary(count: int, minimal_sets: tuple[tuple[str, ...], ...]) -> str:
    if count == 0:
        return "No operation was chosen, so no Confluence scope is needed."
    best = minimal_sets[0]
    shown = ", ".join(f"`{s}`" for s in best)
    text = f"Ask for {shown}: it reaches all {count} operation(s)"
    others = len(minimal_sets) - 1
    text += f", and so do {others} other minimal set(s)." if others else "."
    families = {family(s) for s in best}
    if {"classic", "granular"} <= families:
        text += " It mixes classic and granular scopes, which one grant allows."
    return text + " Add `offline_access` to get a refresh token."

"""Which Confluence operation a gateway path names, and the scopes it accepts.

The gateway calls `match_operation` on every request under
`/ex/confluence/{cloudid}` (facts 4.2), then checks the token's scopes against the
operation's `scope_sets` (facts 5.2) before `ConfluenceApi.handle` answers. The
operations come from `data/operations.json`, extracted from Atlassian's specs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Literal
from urllib.parse import unquote

Api = Literal["v1", "v2"]

_PARAM = re.compile(r"^\{([^{}]+)\}$")
_V1_WITHOUT_WIKI = "/rest/"


@dataclass(frozen=True)
class Operation:
    """One operation of the v1 or v2 REST API, as the specs describe it.

    `scope_sets` are alternatives: holding every scope of any one set is enough
    (v1 operations accept their classic set or a granular one).
    """

    operation_id: str
    method: str
    path: str
    api: Api
    scope_sets: tuple[frozenset[str], ...]
    deprecated: bool
    implemented: bool


@dataclass(frozen=True)
class _Route:
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    operation: Operation
    rank: tuple[int, ...]  # 0 for a literal segment, 1 for a parameter


def load_operations() -> tuple[Operation, ...]:
    """Every operation of `operations.json`, in the file's order."""
    raw = resources.files("kit.sandbox").joinpath("data", "operations.json")
    rows = json.loads(raw.read_text(encoding="utf-8"))["operations"]
    return tuple(
        Operation(
            operation_id=row["operationId"],
            method=row["method"],
            path=row["path"],
            api=row["api"],
            scope_sets=tuple(frozenset(s) for s in row["scope_sets"]),
            deprecated=row["deprecated"],
            implemented=row["implemented"],
        )
        for row in rows
    )


def _route(operation: Operation) -> _Route:
    parts, names, rank = [], [], []
    for segment in operation.path.strip("/").split("/"):
        param = _PARAM.match(segment)
        if param:
            names.append(param.group(1))
            parts.append("([^/]+)")
            rank.append(1)
        else:
            parts.append(re.escape(segment))
            rank.append(0)
    pattern = re.compile("/" + "/".join(parts))
    return _Route(pattern, tuple(names), operation, tuple(rank))


@lru_cache(maxsize=1)
def _table() -> dict[tuple[str, int], tuple[_Route, ...]]:
    """Routes bucketed by method and segment count, literal segments first."""
    table: dict[tuple[str, int], list[_Route]] = {}
    for operation in load_operations():
        route = _route(operation)
        table.setdefault((operation.method, len(route.rank)), []).append(route)
    return {key: tuple(sorted(v, key=lambda r: r.rank)) for key, v in table.items()}


def operations() -> tuple[Operation, ...]:
    """Every operation the gateway can route, implemented or not."""
    return tuple(route.operation for bucket in _table().values() for route in bucket)


def match_operation(
    method: str, subpath: str
) -> tuple[Operation, dict[str, str]] | None:
    """The operation for a path after `/ex/confluence/{cloudid}`, with its params.

    `subpath` is the raw (percent-encoded) path, e.g. `/wiki/api/v2/pages/123`.
    v1 paths may drop `/wiki` (`/rest/api/search`), as Atlassian's own example
    does (facts 4.2). HEAD is routed as GET. Parameters never span a `/`; they
    are percent-decoded as UTF-8, and a path that does not decode matches nothing.
    """
    method = "GET" if method.upper() == "HEAD" else method.upper()
    if subpath.startswith(_V1_WITHOUT_WIKI):
        subpath = "/wiki" + subpath
    count = subpath.count("/")
    for route in _table().get((method, count), ()):
        found = route.pattern.fullmatch(subpath)
        if found is None:
            continue
        try:
            values = [unquote(v, errors="strict") for v in found.groups()]
        except UnicodeDecodeError:
            return None
        return route.operation, dict(zip(route.names, values, strict=True))
    return None

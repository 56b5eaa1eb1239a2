"""Build the kit's scope catalogue from Atlassian's Confluence specs.

Before the flow starts, a learner chooses scopes. This script reads the v1 and v2
OpenAPI specs and the team's scope table in `shared/specs/`, and writes
`kit/data/scope_catalogue.json`: every scope, its family, a plain-words description
and the operations it opens. It shares no code with the sandbox's own extraction.

    .venv/bin/python scripts/build_scope_catalogue.py [--specs DIR] [--out FILE]

The output is deterministic (sorted keys, a final newline) and records the SHA-256
of each source, so rerunning it on the same specs reproduces the file byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_SPECS = REPO.parent / "shared" / "specs"
DEFAULT_OUT = REPO / "kit" / "data" / "scope_catalogue.json"
SOURCES = {
    "v1": "confluence-v1.swagger.v3.json",
    "v2": "confluence-v2.openapi-v2.v3.json",
    "table": "confluence-scopes.tsv",
}
# Where each API's spec paths live on a site; v2's spec paths omit the prefix.
PATH_PREFIX = {"v1": "", "v2": "/wiki/api/v2"}
METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
GRANULAR = re.compile(r"^(read|write|delete):[a-z0-9.-]+:confluence$")

# The two scopes that are not Confluence's: they come from facts 1.1 and 4.3.
IDENTITY_AND_OFFLINE: dict[str, dict[str, Any]] = {
    "offline_access": {
        "family": "offline",
        "description": "Get a refresh token with the access token.",
        "details": (
            "Without it the token response has no `refresh_token`, and the person "
            "must consent again when the access token expires after an hour. It "
            "need not be added to the app in the developer console."
        ),
        "operations": [],
    },
    "read:me": {
        "family": "identity",
        "description": "View the profile of the person who consented.",
        "details": (
            "User Identity API: `GET https://api.atlassian.com/me`. Add the User "
            "Identity API to the app in the developer console, or consent fails."
        ),
        "operations": ["identity GET /me"],
    },
}
IDENTITY_OPERATIONS: dict[str, dict[str, Any]] = {
    "identity GET /me": {
        "api": "identity",
        "method": "GET",
        "path": "/me",
        "operationId": "getMe",
        "summary": "Get the profile of the person who consented",
        "deprecated": False,
        "experimental": False,
        "scope_sets": [["read:me"]],
    },
}


class CatalogueBuildError(Exception):
    """The specs and the scope table disagree, or a spec has an unexpected shape."""


def sha256_of(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def scope_family(name: str) -> str:
    """`granular` for `<action>:<resource>:confluence`, else `classic`.

    Granular actions are read, write and delete (facts 5.1); `readonly:...` and the
    `confluence-` resources are classic, as Atlassian's console lists them.
    """
    match = GRANULAR.match(name)
    if match and not name.split(":")[1].startswith("confluence-"):
        return "granular"
    return "classic"


def plain_words(text: str) -> tuple[str, str]:
    """A spec description as (first sentence, the rest), without HTML or markdown."""
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"\*\*|__", "", text)
    text = " ".join(text.split())
    first, _, rest = text.partition(". ")
    if rest:
        return first + ".", rest
    return text, ""


def operation_key(api: str, method: str, path: str) -> str:
    """The catalogue's key for an operation, such as `v2 GET /wiki/api/v2/spaces`."""
    return f"{api} {method.upper()} {path}"


def scope_sets(operation: Mapping[str, Any]) -> list[list[str]]:
    """The alternative scope sets of `x-atlassian-oauth2-scopes`, Current first.

    Within one set every scope is required; the sets are alternatives (facts 5.2).
    """
    entries = operation.get("x-atlassian-oauth2-scopes", [])
    rank = {"Current": 0, "Beta": 1}
    unknown = [entry["state"] for entry in entries if entry["state"] not in rank]
    if unknown:
        raise CatalogueBuildError(f"unexpected scope states {unknown}")
    ordered = sorted(entries, key=lambda entry: rank[entry["state"]])
    return [sorted(entry["scopes"]) for entry in ordered]


def spec_operations(spec: Mapping[str, Any], api: str) -> dict[str, dict[str, Any]]:
    """Every operation of one spec, keyed by `operation_key`."""
    operations = {}
    for spec_path, item in spec["paths"].items():
        path = PATH_PREFIX[api] + spec_path
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            operations[operation_key(api, method, path)] = {
                "api": api,
                "method": method.upper(),
                "path": path,
                "operationId": operation["operationId"],
                "summary": " ".join(str(operation.get("summary", "")).split()),
                "deprecated": bool(operation.get("deprecated", False)),
                "experimental": bool(operation.get("x-experimental", False)),
                "scope_sets": scope_sets(operation),
            }
    return operations


def spec_scope_texts(spec: Mapping[str, Any]) -> dict[str, str]:
    """The scope descriptions a spec declares under its OAuth security scheme."""
    schemes = spec["components"]["securitySchemes"]
    flows = schemes["oAuthDefinitions"]["flows"]
    return dict(flows["authorizationCode"]["scopes"])


def read_scope_table(text: str) -> list[dict[str, str]]:
    """The scope table's rows as dicts keyed by its header; `#` lines skipped."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def table_disagreements(
    rows: Iterable[Mapping[str, str]], operations: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    """Each table row that the specs contradict, in words; empty when all agree."""
    problems = []
    for row in rows:
        key = operation_key(row["api"], row["method"], row["path"])
        found = operations.get(key)
        sets = [sorted(row["accepted_scopes"].split())]
        if row["granular_alt_scopes"].strip():
            sets.append(sorted(row["granular_alt_scopes"].split()))
        expected = {
            "operationId": row["operationId"],
            "deprecated": row["deprecated"] == "yes",
            "scope_sets": sets,
        }
        if found is None:
            problems.append(f"{key}: in the table, not in the spec")
        elif {name: found[name] for name in expected} != expected:
            problems.append(f"{key}: table says {expected}, spec says {found}")
    return problems


def family_problems(operations: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Operations whose scopes break facts 5.2: v2 and v1's Beta sets are granular."""
    problems = []
    for key, operation in operations.items():
        sets = operation["scope_sets"]
        checked = sets if operation["api"] == "v2" else sets[1:]
        classic = [
            s for group in checked for s in group if scope_family(s) != "granular"
        ]
        if classic:
            problems.append(f"{key}: classic {classic} where only granular belongs")
    return problems


def scope_records(
    texts: Mapping[str, str], operations: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """One record per Confluence scope declared or used, with what it opens."""
    opens: dict[str, set[str]] = {name: set() for name in texts}
    for key, operation in operations.items():
        for scope in {s for group in operation["scope_sets"] for s in group}:
            opens.setdefault(scope, set()).add(key)
    records = {}
    for name, keys in opens.items():
        text = texts.get(name)
        if text is None:
            description = "Not described in Atlassian's specs."
            details = "The v1 spec requires it on the operations listed, nowhere else."
        else:
            description, details = plain_words(text)
        records[name] = {
            "family": scope_family(name),
            "description": description,
            "details": details,
            "operations": sorted(keys),
        }
    return records


def build_catalogue(
    v1: Mapping[str, Any],
    v2: Mapping[str, Any],
    rows: list[dict[str, str]],
    sources: Mapping[str, str],
) -> dict[str, Any]:
    """The catalogue as a JSON-ready dict; raises `CatalogueBuildError` on conflicts.

    Where both specs describe a scope, v2's newer wording wins.
    """
    operations = {**spec_operations(v1, "v1"), **spec_operations(v2, "v2")}
    problems = table_disagreements(rows, operations) + family_problems(operations)
    if problems:
        raise CatalogueBuildError("\n".join(problems))
    texts = {**spec_scope_texts(v1), **spec_scope_texts(v2)}
    scopes = scope_records(texts, operations)
    scopes.update(IDENTITY_AND_OFFLINE)
    operations.update(IDENTITY_OPERATIONS)
    return {
        "about": (
            "Generated by scripts/build_scope_catalogue.py from Atlassian's "
            "Confluence specs; do not edit by hand. Within a scope set every scope "
            "is required; the sets of an operation are alternatives."
        ),
        "sources": dict(sources),
        "scopes": scopes,
        "operations": operations,
    }


def render(catalogue: Mapping[str, Any]) -> str:
    """The catalogue as deterministic JSON text with a final newline."""
    return json.dumps(catalogue, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def build_from_directory(specs: Path) -> str:
    """The catalogue's text, built from the three files in `specs`."""
    paths = {name: specs / filename for name, filename in SOURCES.items()}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise CatalogueBuildError(f"missing spec files: {', '.join(missing)}")
    v1 = json.loads(paths["v1"].read_text(encoding="utf-8"))
    v2 = json.loads(paths["v2"].read_text(encoding="utf-8"))
    rows = read_scope_table(paths["table"].read_text(encoding="utf-8"))
    sources = {SOURCES[name]: sha256_of(path) for name, path in paths.items()}
    return render(build_catalogue(v1, v2, rows, sources))


def main(argv: list[str] | None = None) -> int:
    """Write the catalogue; exit 1 with the reason when the specs disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--specs", type=Path, default=DEFAULT_SPECS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    try:
        text = build_from_directory(args.specs)
    except CatalogueBuildError as exc:
        print(f"Cannot build the scope catalogue: {exc}", file=sys.stderr)
        return 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

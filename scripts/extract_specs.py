"""Extract what the sandbox needs from Atlassian's Confluence OpenAPI specs.

Reads `shared/specs/` (the v1 and v2 specs and the team's scope table), checks that
they agree, and writes `kit/sandbox/data/operations.json`, `kit/sandbox/data/
scopes.json` and `tests/schemas/confluence-v1.json` / `-v2.json`. The output is
deterministic: run it twice and nothing changes.

    .venv/bin/python scripts/extract_specs.py [--shared ../shared] [--out .]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SPEC_FILES = {
    "v1": "confluence-v1.swagger.v3.json",
    "v2": "confluence-v2.openapi-v2.v3.json",
}
TSV_FILE = "confluence-scopes.tsv"
V2_PREFIX = "/wiki/api/v2"

# What the sandbox answers; everything else in the table is matched but gets 501.
IMPLEMENTED = {
    ("v2", "getSpaces"),
    ("v2", "getSpaceById"),
    ("v2", "getPagesInSpace"),
    ("v2", "getPages"),
    ("v2", "getPageById"),
    ("v1", "searchByCQL"),
    ("v1", "getCurrentUser"),
    ("v1", "getSpaces"),
    ("v1", "getSpace"),
    ("v1", "getContent"),
    ("v1", "getContentById"),
}

# Implemented operations that the scope table leaves out: taken from the spec alone.
EXTRA_OPERATIONS = (("v1", "GET", "/wiki/rest/api/user/current"),)

ANNOTATIONS = {"description", "example", "examples", "summary", "externalDocs", "title"}
VERBS = {
    "read": "View",
    "write": "Create and update",
    "delete": "Delete",
    "manage": "Manage",
    "search": "Search",
}


class SpecMismatchError(Exception):
    """The scope table and the specs disagree about an operation."""


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read_tsv(path: Path) -> list[dict[str, str]]:
    """The scope table's rows as dicts keyed by its header; comments skipped."""
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"), strict=True)) for line in lines[1:]]


def spec_operation(spec: dict[str, Any], api: str, method: str, path: str) -> Any:
    """The spec's operation object for an API path such as `/wiki/api/v2/pages`."""
    spec_path = path[len(V2_PREFIX) :] if api == "v2" else path
    return spec["paths"][spec_path][method.lower()]


def scope_sets(operation: dict[str, Any]) -> list[list[str]]:
    """Alternatives from `x-atlassian-oauth2-scopes`: Current first, then Beta."""
    entries = operation.get("x-atlassian-oauth2-scopes", [])
    order = {"Current": 0, "Beta": 1}
    ranked = sorted(entries, key=lambda entry: order.get(entry["state"], 2))
    return [sorted(entry["scopes"]) for entry in ranked]


def describe(api: str, method: str, path: str, op: dict[str, Any]) -> dict[str, Any]:
    """One row of operations.json, from the spec."""
    return {
        "operationId": op["operationId"],
        "method": method.upper(),
        "path": path,
        "api": api,
        "deprecated": bool(op.get("deprecated", False)),
        "experimental": bool(op.get("x-experimental", False)),
        "scope_sets": scope_sets(op),
        "implemented": (api, op["operationId"]) in IMPLEMENTED,
    }


def tsv_view(row: dict[str, str]) -> dict[str, Any]:
    """A table row in the shape `describe` produces, for comparison."""
    sets = [sorted(row["accepted_scopes"].split())]
    if row["granular_alt_scopes"].strip():
        sets.append(sorted(row["granular_alt_scopes"].split()))
    return {
        "operationId": row["operationId"],
        "method": row["method"],
        "path": row["path"],
        "api": row["api"],
        "deprecated": row["deprecated"] == "yes",
        "experimental": row["experimental"] == "yes",
        "scope_sets": sets,
    }


def build_operations(
    specs: dict[str, Any], rows: list[dict[str, str]]
) -> list[dict[str, Any]]:
    """Every table row (plus `EXTRA_OPERATIONS`), derived from the specs.

    Raises `SpecMismatchError` listing every row the specs contradict.
    """
    operations, problems = [], []
    for row in rows:
        api, method, path = row["api"], row["method"], row["path"]
        found = describe(
            api, method, path, spec_operation(specs[api], api, method, path)
        )
        expected = tsv_view(row)
        if {k: found[k] for k in expected} != expected:
            problems.append(f"{api} {method} {path}: table {expected}, spec {found}")
        operations.append(found)
    for api, method, path in EXTRA_OPERATIONS:
        operations.append(
            describe(api, method, path, spec_operation(specs[api], api, method, path))
        )
    if problems:
        raise SpecMismatchError("\n".join(problems))
    missing = IMPLEMENTED - {(op["api"], op["operationId"]) for op in operations}
    if missing:
        raise SpecMismatchError(f"implemented but not extracted: {sorted(missing)}")
    return sorted(operations, key=lambda op: (op["path"], op["method"]))


def plain_words(text: str) -> str:
    """The first sentence of a description, without HTML or markdown."""
    text = re.sub(r"<[^>]+>", "", text)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[`*_]{1,2}", "", text)
    text = " ".join(text.split())
    match = re.match(r"(.+?\.)(\s|$)", text)
    return match.group(1) if match else text


def derived_description(scope: str) -> str:
    """Words for a scope the specs use but never describe, from its name."""
    parts = scope.split(":")
    verb = VERBS.get(parts[0], parts[0].capitalize())
    resource = parts[1] if len(parts) == 3 else parts[-1]
    resource = resource.replace("confluence-", "").replace(".", " ").replace("-", " ")
    return f"{verb} {resource} (described by its name; the spec gives no text)."


def build_scopes(specs: dict[str, Any]) -> dict[str, str]:
    """Scope to one-line description, for every Confluence scope in either spec."""
    described: dict[str, str] = {}
    used: set[str] = set()
    for api in ("v1", "v2"):  # v2 last, so its newer wording wins
        schemes = specs[api]["components"]["securitySchemes"]
        flows = schemes["oAuthDefinitions"]["flows"]["authorizationCode"]
        for scope, text in flows["scopes"].items():
            described[scope] = plain_words(text)
        for item in specs[api]["paths"].values():
            for op in item.values():
                for entry in op.get("x-atlassian-oauth2-scopes", []):
                    used.update(entry["scopes"])
    for scope in used - described.keys():
        described[scope] = derived_description(scope)
    return {k: v for k, v in described.items() if "confluence" in k}


def strip_annotations(node: Any, in_properties: bool = False) -> Any:
    """A schema without prose; property names called `description` survive."""
    if isinstance(node, list):
        return [strip_annotations(item) for item in node]
    if not isinstance(node, dict):
        return node
    if in_properties:
        return {name: strip_annotations(value) for name, value in node.items()}
    return {
        key: strip_annotations(value, key == "properties")
        for key, value in node.items()
        if key not in ANNOTATIONS and not key.startswith("x-")
    }


def schema_refs(node: Any, found: set[str]) -> None:
    """Collect the component names `$ref`ed anywhere inside `node`."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            schema_refs(value, found)
    elif isinstance(node, list):
        for item in node:
            schema_refs(item, found)


def build_schemas(
    spec: dict[str, Any], api: str, operations: list[dict[str, Any]]
) -> dict[str, Any]:
    """The response schemas of the implemented operations, with their components."""
    chosen: dict[str, Any] = {}
    for op in operations:
        if op["api"] != api or not op["implemented"]:
            continue
        spec_op = spec_operation(spec, api, op["method"], op["path"])
        responses = {}
        for status, response in spec_op["responses"].items():
            media = response.get("content", {}).get("application/json")
            if media and "schema" in media:
                responses[status] = strip_annotations(media["schema"])
        chosen[op["operationId"]] = {
            "method": op["method"],
            "path": op["path"],
            "responses": responses,
        }
    return {"operations": chosen, "components": {"schemas": _closure(spec, chosen)}}


def _closure(spec: dict[str, Any], roots: dict[str, Any]) -> dict[str, Any]:
    components = spec["components"]["schemas"]
    todo: set[str] = set()
    schema_refs(roots, todo)
    kept: dict[str, Any] = {}
    while todo:
        name = todo.pop()
        if name in kept:
            continue
        kept[name] = strip_annotations(components[name])
        schema_refs(kept[name], todo)
    return kept


def dump(payload: Any) -> bytes:
    """Stable JSON: sorted keys, one-space indent, a final newline."""
    return (
        json.dumps(payload, indent=1, sort_keys=True, ensure_ascii=False) + "\n"
    ).encode()


def generate(shared: Path) -> dict[str, bytes]:
    """Every output file's repo-relative path and bytes."""
    spec_dir = shared / "specs"
    paths = {api: spec_dir / name for api, name in SPEC_FILES.items()}
    specs = {api: json.loads(path.read_text()) for api, path in paths.items()}
    sources = {
        api: {"file": f"specs/{path.name}", "sha256": sha256(path)}
        for api, path in {**paths, "tsv": spec_dir / TSV_FILE}.items()
    }
    meta = {"generator": "scripts/extract_specs.py", "sources": sources}
    operations = build_operations(specs, read_tsv(spec_dir / TSV_FILE))
    files = {
        "kit/sandbox/data/operations.json": {"meta": meta, "operations": operations},
        "kit/sandbox/data/scopes.json": {"meta": meta, "scopes": build_scopes(specs)},
    }
    for api in ("v1", "v2"):
        schemas = build_schemas(specs[api], api, operations)
        files[f"tests/schemas/confluence-{api}.json"] = {"meta": meta, **schemas}
    return {name: dump(payload) for name, payload in files.items()}


def main(argv: list[str] | None = None) -> int:
    """Write the extracted files under `--out`; 1 when the sources disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    parser.add_argument("--out", type=Path, default=REPO)
    args = parser.parse_args(argv)
    try:
        outputs = generate(args.shared)
    except SpecMismatchError as exc:
        print(f"The scope table and the specs disagree:\n{exc}", file=sys.stderr)
        return 1
    for name, data in outputs.items():
        target = args.out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != data:
            target.write_bytes(data)
        print(f"wrote {name} ({len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

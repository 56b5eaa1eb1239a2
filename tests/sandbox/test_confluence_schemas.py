"""Every JSON body the emulated Confluence returns validates against Atlassian's specs.

Each implemented operation is called with several parameter combinations through a
running sandbox, and its body is checked with OAS30Validator against the response
schema extracted into `tests/schemas/`; a stricter check refuses undeclared keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from confluence_support import ARCHIVE_ID, CLASSIC, GRANULAR, LABS, get, token
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from sandbox_driver import START_TIME, Flow

from kit.sandbox import Clock, Sandbox
from kit.sandbox.confluence import operations

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
EVERY_SCOPE = f"{GRANULAR} {CLASSIC} read:confluence-content.all"

# (api, operationId, path, params, cloud id)
CASES: list[tuple[str, str, str, dict[str, str], str]] = [
    ("v2", "getSpaces", "/wiki/api/v2/spaces", {}, LABS),
    ("v2", "getSpaces", "/wiki/api/v2/spaces", {"limit": "1"}, LABS),
    (
        "v2",
        "getSpaces",
        "/wiki/api/v2/spaces",
        {"description-format": "view", "include-icon": "true", "sort": "-name"},
        LABS,
    ),
    ("v2", "getSpaces", "/wiki/api/v2/spaces", {"status": "archived"}, LABS),
    ("v2", "getSpaces", "/wiki/api/v2/spaces", {}, ARCHIVE_ID),
    ("v2", "getSpaceById", "/wiki/api/v2/spaces/98306", {}, LABS),
    (
        "v2",
        "getSpaceById",
        "/wiki/api/v2/spaces/98308",
        {
            "description-format": "plain",
            "include-icon": "true",
            "include-labels": "true",
            "include-operations": "true",
            "include-properties": "true",
            "include-permissions": "true",
        },
        LABS,
    ),
    ("v2", "getPages", "/wiki/api/v2/pages", {}, LABS),
    ("v2", "getPages", "/wiki/api/v2/pages", {"body-format": "storage"}, LABS),
    (
        "v2",
        "getPages",
        "/wiki/api/v2/pages",
        {"body-format": "atlas_doc_format", "status": "trashed", "limit": "250"},
        LABS,
    ),
    ("v2", "getPages", "/wiki/api/v2/pages", {"title": "Nothing like this"}, LABS),
    ("v2", "getPagesInSpace", "/wiki/api/v2/spaces/98306/pages", {}, LABS),
    (
        "v2",
        "getPagesInSpace",
        "/wiki/api/v2/spaces/98306/pages",
        {"depth": "root", "sort": "-modified-date", "body-format": "storage"},
        LABS,
    ),
    ("v2", "getPagesInSpace", "/wiki/api/v2/spaces/163842/pages", {}, ARCHIVE_ID),
    ("v2", "getPageById", "/wiki/api/v2/pages/131073", {}, LABS),
    (
        "v2",
        "getPageById",
        "/wiki/api/v2/pages/131076",
        {"body-format": "storage", "include-labels": "true"},
        LABS,
    ),
    (
        "v2",
        "getPageById",
        "/wiki/api/v2/pages/131076",
        {
            "body-format": "view",
            "include-versions": "true",
            "include-likes": "true",
            "include-operations": "true",
            "include-properties": "true",
            "include-favorited-by-current-user-status": "true",
            "include-version": "false",
        },
        LABS,
    ),
    (
        "v2",
        "getPageById",
        "/wiki/api/v2/pages/131076",
        {"body-format": "atlas_doc_format"},
        LABS,
    ),
    ("v1", "searchByCQL", "/wiki/rest/api/search", {"cql": "type = page"}, LABS),
    (
        "v1",
        "searchByCQL",
        "/wiki/rest/api/search",
        {"cql": "type = space OR label = runbook", "limit": "50"},
        LABS,
    ),
    (
        "v1",
        "searchByCQL",
        "/wiki/rest/api/search",
        {"cql": "space = NOPE", "excerpt": "none"},
        LABS,
    ),
    (
        "v1",
        "searchByCQL",
        "/wiki/rest/api/search",
        {"cql": "space = OLD", "includeArchivedSpaces": "true"},
        LABS,
    ),
    ("v1", "searchByCQL", "/wiki/rest/api/search", {"cql": "type = page"}, ARCHIVE_ID),
    ("v1", "getCurrentUser", "/wiki/rest/api/user/current", {}, LABS),
    ("v1", "getSpaces", "/wiki/rest/api/space", {}, LABS),
    (
        "v1",
        "getSpaces",
        "/wiki/rest/api/space",
        {"limit": "1", "expand": "description.plain,homepage"},
        LABS,
    ),
    ("v1", "getSpace", "/wiki/rest/api/space/ENG", {}, LABS),
    (
        "v1",
        "getSpace",
        "/wiki/rest/api/space/OPS",
        {"expand": "description.view,homepage"},
        LABS,
    ),
    ("v1", "getContent", "/wiki/rest/api/content", {"spaceKey": "OPS"}, LABS),
    (
        "v1",
        "getContent",
        "/wiki/rest/api/content",
        {"limit": "3", "expand": "body.storage,version,space,history,ancestors"},
        LABS,
    ),
    ("v1", "getContentById", "/wiki/rest/api/content/131076", {}, LABS),
    (
        "v1",
        "getContentById",
        "/wiki/rest/api/content/131076",
        {"expand": "body.storage,body.view,version,space,history,ancestors"},
        LABS,
    ),
]


@pytest.fixture(scope="module")
def lab() -> Iterator[Flow]:
    server = Sandbox(
        "atlassian", clock=Clock(frozen_at=START_TIME), legacy_v1_endpoints=True
    ).start()
    with requests.Session() as http:
        yield Flow(server, http)
    server.stop()


@pytest.fixture(scope="module")
def tokens(lab: Flow) -> dict[str, str]:
    return {
        LABS: token(lab, EVERY_SCOPE),
        ARCHIVE_ID: token(lab, EVERY_SCOPE, site=ARCHIVE_ID),
    }


def schema_file(api: str) -> dict[str, Any]:
    return dict(json.loads((SCHEMAS / f"confluence-{api}.json").read_text()))


def response_schema(api: str, operation_id: str) -> dict[str, Any]:
    """The 200 schema, with the file's components beside it so `$ref`s resolve."""
    document = schema_file(api)
    schema = document["operations"][operation_id]["responses"]["200"]
    return {**schema, "components": document["components"]}


def undeclared(
    instance: Any, schema: dict[str, Any], root: dict[str, Any]
) -> list[str]:
    """Keys of `instance` that the schema neither declares nor lets through."""
    schema = _resolve(schema, root)
    parts = [_resolve(part, root) for part in schema.get("allOf", [])] or [schema]
    if isinstance(instance, list):
        items = [p["items"] for p in parts if "items" in p]
        return [
            f"[{n}]{path}"
            for n, item in enumerate(instance)
            for schema_item in items
            for path in undeclared(item, schema_item, root)
        ]
    if not isinstance(instance, dict) or not any("properties" in p for p in parts):
        return []
    if any(p.get("additionalProperties", False) is not False for p in parts):
        return []
    declared: dict[str, list[Any]] = {}
    for part in parts:
        for key, value in part.get("properties", {}).items():
            declared.setdefault(key, []).append(value)
    found = [f".{key}" for key in instance if key not in declared]
    for key, value in instance.items():
        if key in declared:
            merged = {"allOf": declared[key]}
            found += [f".{key}{p}" for p in undeclared(value, merged, root)]
    return found


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_cases_cover_every_implemented_operation() -> None:
    implemented = {(op.api, op.operation_id) for op in operations() if op.implemented}

    covered = {(api, operation_id) for api, operation_id, *_ in CASES}

    assert len(implemented) == 11
    assert covered == implemented


Case = tuple[str, str, str, dict[str, str], str]


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c[0]}-{c[1]}-{n}" for n, c in enumerate(CASES)]
)
def test_the_body_validates_against_the_operations_response_schema(
    lab: Flow, tokens: dict[str, str], case: Case
) -> None:
    api, operation_id, path, params, cloud_id = case
    schema = response_schema(api, operation_id)

    answer = get(lab, path, tokens[cloud_id], cloud_id=cloud_id, **params)

    assert answer.status_code == 200, answer.text
    body = answer.json()
    OAS30Validator(schema, format_checker=oas30_format_checker).validate(body)
    assert undeclared(body, schema, schema) == []


def test_the_strict_check_notices_an_invented_key() -> None:
    schema = response_schema("v2", "getPageById")

    found = undeclared(
        {"id": "1", "version": {"number": 1, "colour": "red"}}, schema, schema
    )

    assert found == [".version.colour"]


def test_the_validator_notices_a_wrong_type() -> None:
    schema = response_schema("v2", "getSpaceById")
    validator = OAS30Validator(schema, format_checker=oas30_format_checker)

    errors = list(validator.iter_errors({"id": 98306, "key": "ENG"}))

    assert [error.json_path for error in errors] == ["$.id"]

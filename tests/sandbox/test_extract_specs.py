"""`scripts/extract_specs.py`: its pure functions, and that it reproduces the data.

The unit tests run on small inline specs. The reproduction test needs Atlassian's
specs in `../shared/specs`, which live beside the repository, not in users' clones.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).parents[2].parent / "shared"
OUTPUTS = (
    "kit/sandbox/data/operations.json",
    "kit/sandbox/data/scopes.json",
    "tests/schemas/confluence-v1.json",
    "tests/schemas/confluence-v2.json",
)


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extract_specs", REPO / "scripts" / "extract_specs.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["extract_specs"] = module
    spec.loader.exec_module(module)
    return module


extract = _load_script()


def _operation(operation_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "operationId": operation_id,
        "x-atlassian-oauth2-scopes": [
            {"state": "Beta", "scopes": ["read:content-details:confluence"]},
            {"state": "Current", "scopes": ["search:confluence"]},
        ],
        "responses": {
            "200": {
                "description": "Found.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/Result"}
                    }
                },
            },
            "401": {"description": "No."},
        },
        **extra,
    }


SPEC: dict[str, Any] = {
    "paths": {
        "/wiki/rest/api/search": {"get": _operation("searchByCQL")},
        "/wiki/rest/api/user/current": {"get": _operation("getCurrentUser")},
    },
    "components": {
        "schemas": {
            "Result": {
                "description": "A result.",
                "properties": {
                    "description": {"type": "string", "example": "x"},
                    "page": {"$ref": "#/components/schemas/Page"},
                },
                "x-internal": True,
            },
            "Page": {"type": "object", "title": "Page"},
            "Unused": {"type": "string"},
        }
    },
}


# Pure functions


def test_scope_sets_put_current_before_beta() -> None:
    sets = extract.scope_sets(SPEC["paths"]["/wiki/rest/api/search"]["get"])

    assert sets == [["search:confluence"], ["read:content-details:confluence"]]


def test_plain_words_keeps_the_first_sentence_without_markup() -> None:
    text = "Read <b>pages</b> and [spaces](https://x.example). Also `more`."

    assert extract.plain_words(text) == "Read pages and spaces."


def test_plain_words_keeps_a_text_without_a_full_stop() -> None:
    assert extract.plain_words("  View   **pages**  ") == "View pages"


def test_derived_description_reads_a_granular_scope_name() -> None:
    words = extract.derived_description("read:content-details:confluence")

    assert words.startswith("View content details")


def test_derived_description_reads_a_classic_scope_name() -> None:
    words = extract.derived_description("write:confluence-space")

    assert words.startswith("Create and update space")


def test_strip_annotations_drops_prose_but_keeps_a_property_named_description() -> None:
    stripped = extract.strip_annotations(SPEC["components"]["schemas"]["Result"])

    assert stripped == {
        "properties": {
            "description": {"type": "string"},
            "page": {"$ref": "#/components/schemas/Page"},
        }
    }


def test_schema_refs_collects_every_referenced_component() -> None:
    found: set[str] = set()

    extract.schema_refs(SPEC["components"]["schemas"], found)

    assert found == {"Page"}


def test_build_schemas_keeps_only_json_responses_and_their_components() -> None:
    operations = [
        {
            "api": "v1",
            "operationId": "searchByCQL",
            "method": "GET",
            "path": "/wiki/rest/api/search",
            "implemented": True,
        }
    ]

    schemas = extract.build_schemas(SPEC, "v1", operations)

    assert schemas["operations"]["searchByCQL"]["responses"] == {
        "200": {"$ref": "#/components/schemas/Result"}
    }
    assert sorted(schemas["components"]["schemas"]) == ["Page", "Result"]


def test_describe_marks_implemented_and_deprecated_operations() -> None:
    operation = _operation("searchByCQL", deprecated=True)

    row = extract.describe("v1", "get", "/wiki/rest/api/search", operation)

    assert row["method"] == "GET"
    assert row["deprecated"] is True
    assert row["experimental"] is False
    assert row["implemented"] is True


def test_a_table_row_that_contradicts_the_spec_is_reported() -> None:
    row = {
        "operationId": "searchByCQL",
        "method": "GET",
        "path": "/wiki/rest/api/search",
        "api": "v1",
        "deprecated": "no",
        "experimental": "no",
        "accepted_scopes": "read:confluence-content.all",
        "granular_alt_scopes": "",
    }
    specs = {"v1": SPEC, "v2": {"paths": {}}}

    with pytest.raises(extract.SpecMismatchError, match="searchByCQL"):
        extract.build_operations(specs, [row])


def test_read_tsv_skips_comments_and_keys_rows_by_the_header(tmp_path: Path) -> None:
    table = tmp_path / "scopes.tsv"
    table.write_text("# a comment\napi\tpath\nv1\t/x\nv2\t/y\n")

    assert extract.read_tsv(table) == [
        {"api": "v1", "path": "/x"},
        {"api": "v2", "path": "/y"},
    ]


def test_dump_is_stable_sorted_and_ends_with_a_newline() -> None:
    first = extract.dump({"b": 1, "a": ["\u00e9"]})
    second = extract.dump({"a": ["\u00e9"], "b": 1})

    assert first == second
    assert first.endswith(b"\n")
    assert first.index(b'"a"') < first.index(b'"b"')
    assert "\u00e9".encode() in first


# The committed files


def test_running_the_script_reproduces_the_committed_files_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not (SHARED / "specs").is_dir():
        pytest.skip(
            "Atlassian's specs live outside users' clones, in ../shared/specs; "
            "this check runs where they are present."
        )

    status = extract.main(["--shared", str(SHARED), "--out", str(tmp_path)])

    assert status == 0
    for name in OUTPUTS:
        assert (tmp_path / name).read_bytes() == (REPO / name).read_bytes(), name
    assert capsys.readouterr().out.count("wrote ") == len(OUTPUTS)

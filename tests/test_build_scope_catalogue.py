"""`scripts/build_scope_catalogue.py`: its pure functions on small inline specs, and
that rerunning it on `../shared/specs` reproduces the committed catalogue.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
SPECS = Path(__file__).resolve().parents[1].parent / "shared" / "specs"
SCRIPT = REPO / "scripts" / "build_scope_catalogue.py"
COMMITTED = REPO / "kit" / "data" / "scope_catalogue.json"


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_scope_catalogue", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["build_scope_catalogue"] = module
    spec.loader.exec_module(module)
    return module


build = _load_script()

needs_specs = pytest.mark.skipif(
    not SPECS.is_dir(),
    reason=f"Atlassian's specs are not at {SPECS}: they live beside the repository "
    "on the team's machines, not in clones, so the byte-for-byte check cannot run.",
)


def _operation(scopes: list[tuple[str, list[str]]], **extra: Any) -> dict[str, Any]:
    entries = [
        {"scheme": "oAuthDefinitions", "state": state, "scopes": names}
        for state, names in scopes
    ]
    return {"x-atlassian-oauth2-scopes": entries, **extra}


def _spec(paths: dict[str, Any], scopes: dict[str, str]) -> dict[str, Any]:
    flow = {"authorizationCode": {"scopes": scopes}}
    schemes = {"oAuthDefinitions": {"type": "oauth2", "flows": flow}}
    return {"paths": paths, "components": {"securitySchemes": schemes}}


V1 = _spec(
    {
        "/wiki/rest/api/search": {
            "get": _operation(
                [
                    ("Beta", ["read:content-details:confluence"]),
                    ("Current", ["search:confluence"]),
                ],
                operationId="searchByCQL",
                summary="Search  content",
            )
        },
        "/wiki/rest/api/space": {
            "get": _operation(
                [("Current", ["read:confluence-space.summary"])],
                operationId="getSpaces",
                deprecated=True,
            ),
        },
    },
    {
        "search:confluence": "Search Confluence. Note, <b>APIs</b> may return more.",
        "read:confluence-space.summary": "Read a summary of space information.",
        "read:content-details:confluence": "View content details.",
        "read:space:confluence": "View spaces.",
    },
)
V2 = _spec(
    {
        "/spaces": {
            "get": _operation(
                [("Current", ["read:space:confluence"])], operationId="getSpaces"
            ),
            "parameters": [],
        }
    },
    {"read:space:confluence": "View spaces and their properties."},
)
TABLE = (
    "# a comment line\n"
    "operationId\tmethod\tpath\taccepted_scopes\tgranular_alt_scopes\tapi\t"
    "deprecated\texperimental\n"
    "searchByCQL\tGET\t/wiki/rest/api/search\tsearch:confluence\t"
    "read:content-details:confluence\tv1\tno\tno\n"
    "getSpaces\tGET\t/wiki/api/v2/spaces\tread:space:confluence\t\tv2\tno\tno\n"
)


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("read:page:confluence", "granular"),
        ("delete:space:confluence", "granular"),
        ("read:content.metadata:confluence", "granular"),
        ("search:confluence", "classic"),
        ("read:confluence-content.all", "classic"),
        ("read:confluence-content", "classic"),
        ("readonly:content.attachment:confluence", "classic"),
        ("manage:confluence-configuration", "classic"),
    ],
)
def test_scope_family_follows_the_shape_atlassian_gives_each_family(
    scope: str, expected: str
) -> None:
    assert build.scope_family(scope) == expected


def test_plain_words_drops_markup_and_splits_off_the_first_sentence() -> None:
    text = "Read <b>all</b> [content](https://x.example).  Note, **more** here."

    first, rest = build.plain_words(text)

    assert first == "Read all content."
    assert rest == "Note, more here."


def test_scope_sets_put_the_current_set_before_the_beta_alternative() -> None:
    operation = V1["paths"]["/wiki/rest/api/search"]["get"]

    assert build.scope_sets(operation) == [
        ["search:confluence"],
        ["read:content-details:confluence"],
    ]


def test_scope_sets_refuse_a_state_they_do_not_know() -> None:
    operation = _operation([("Deprecated", ["x:confluence"])])

    with pytest.raises(build.CatalogueBuildError, match="Deprecated"):
        build.scope_sets(operation)


def test_spec_operations_prefix_v2_paths_and_skip_path_level_keys() -> None:
    operations = build.spec_operations(V2, "v2")

    assert list(operations) == ["v2 GET /wiki/api/v2/spaces"]
    assert operations["v2 GET /wiki/api/v2/spaces"]["path"] == "/wiki/api/v2/spaces"


def test_spec_operations_record_deprecation_and_tidy_the_summary() -> None:
    operations = build.spec_operations(V1, "v1")

    assert operations["v1 GET /wiki/rest/api/space"]["deprecated"] is True
    assert operations["v1 GET /wiki/rest/api/search"]["summary"] == "Search content"


def test_the_scope_table_is_read_without_its_comment_lines() -> None:
    rows = build.read_scope_table(TABLE)

    assert [row["operationId"] for row in rows] == ["searchByCQL", "getSpaces"]


def test_table_and_specs_that_agree_report_no_disagreement() -> None:
    operations = {**build.spec_operations(V1, "v1"), **build.spec_operations(V2, "v2")}

    assert build.table_disagreements(build.read_scope_table(TABLE), operations) == []


def test_a_table_row_the_spec_contradicts_or_lacks_is_reported() -> None:
    operations = build.spec_operations(V1, "v1")
    wrong = TABLE.replace("\tsearch:confluence\t", "\tread:confluence-user\t")

    problems = build.table_disagreements(build.read_scope_table(wrong), operations)

    assert len(problems) == 2
    assert "v1 GET /wiki/rest/api/search: table says" in problems[0]
    assert "v2 GET /wiki/api/v2/spaces: in the table, not in the spec" in problems[1]


def test_a_classic_scope_on_a_v2_operation_is_a_build_error() -> None:
    v2 = _spec(
        {"/spaces": {"get": _operation([("Current", ["search:confluence"])])}}, {}
    )
    v2["paths"]["/spaces"]["get"]["operationId"] = "getSpaces"

    with pytest.raises(build.CatalogueBuildError, match="classic"):
        build.build_catalogue(V1, v2, [], {})


def test_scope_records_list_what_each_scope_opens_and_note_undeclared_ones() -> None:
    operations = build.spec_operations(V1, "v1")
    texts = {"search:confluence": "Search Confluence."}

    records = build.scope_records(texts, operations)

    assert records["search:confluence"]["operations"] == [
        "v1 GET /wiki/rest/api/search"
    ]
    assert records["read:content-details:confluence"]["description"] == (
        "Not described in Atlassian's specs."
    )


def test_the_catalogue_adds_offline_access_and_read_me_and_prefers_v2_wording() -> None:
    rows = build.read_scope_table(TABLE)

    catalogue = build.build_catalogue(V1, V2, rows, {"a.json": "00"})

    scopes = catalogue["scopes"]
    assert scopes["offline_access"]["family"] == "offline"
    assert scopes["read:me"]["operations"] == ["identity GET /me"]
    assert catalogue["operations"]["identity GET /me"]["scope_sets"] == [["read:me"]]
    assert scopes["read:space:confluence"]["description"] == (
        "View spaces and their properties."
    )
    assert catalogue["sources"] == {"a.json": "00"}


def test_render_sorts_keys_and_ends_with_one_newline() -> None:
    text = build.render({"b": 1, "a": {"d": 2, "c": 3}})

    assert text.endswith("}\n")
    assert not text.endswith("\n\n")
    assert text.index('"a"') < text.index('"b"')
    assert text.index('"c"') < text.index('"d"')


def test_the_script_exits_1_naming_the_files_it_cannot_find(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = build.main(["--specs", str(tmp_path), "--out", str(tmp_path / "o.json")])

    assert status == 1
    assert "missing spec files" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


@needs_specs
def test_rerunning_the_script_reproduces_the_committed_catalogue_byte_for_byte(
    tmp_path: Path,
) -> None:
    out = tmp_path / "scope_catalogue.json"

    result = subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(SCRIPT), "--specs", str(SPECS), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == COMMITTED.read_bytes()


@needs_specs
def test_the_catalogue_records_the_sha256_of_each_source() -> None:
    catalogue = json.loads(COMMITTED.read_text(encoding="utf-8"))

    expected = {
        filename: hashlib.sha256((SPECS / filename).read_bytes()).hexdigest()
        for filename in build.SOURCES.values()
    }

    assert catalogue["sources"] == expected

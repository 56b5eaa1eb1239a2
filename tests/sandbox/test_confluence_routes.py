"""How a Confluence path becomes an operation, and how `ConfluenceApi` answers it.

Unit tests on `match_operation` (the v1 alias without `/wiki`, HEAD, percent-decoding,
literal segments beating parameters, scopes) and on the dispatch: 410, 501 and 500.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kit.sandbox.confluence import ConfluenceApi, Operation, match_operation, operations
from kit.sandbox.confluence.api import HANDLERS, is_removed
from kit.sandbox.confluence.call import Call
from kit.sandbox.confluence.errors import GONE_MESSAGE
from kit.sandbox.http import Request, Response
from kit.sandbox.scenario import PINECONE, SITES, USER
from kit.sandbox.settings import Settings

SECRET_TOKEN = "eyJ-not-a-real-token-but-secret"
CONFLUENCE = ConfluenceApi(SITES, USER)


def named(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    found = match_operation(method, path)
    return None if found is None else (found[0].operation_id, found[1])


def test_a_v2_path_names_its_operation_and_parameters() -> None:
    assert named("GET", "/wiki/api/v2/pages/131076") == (
        "getPageById",
        {"id": "131076"},
    )


def test_a_v1_path_works_with_or_without_wiki() -> None:
    with_wiki = named("GET", "/wiki/rest/api/search")
    without = named("GET", "/rest/api/search")

    assert with_wiki == without == ("searchByCQL", {})


def test_the_v2_api_has_no_alias_without_wiki() -> None:
    assert named("GET", "/api/v2/pages") is None


def test_head_is_routed_as_get() -> None:
    assert named("HEAD", "/wiki/api/v2/spaces") == ("getSpaces", {})


def test_methods_are_matched_whatever_their_case() -> None:
    assert named("get", "/wiki/api/v2/spaces") == ("getSpaces", {})


def test_a_method_the_path_does_not_offer_matches_nothing() -> None:
    assert named("PATCH", "/wiki/api/v2/pages") is None


def test_parameters_are_percent_decoded_as_utf8() -> None:
    assert named("GET", "/wiki/rest/api/space/%7Eada") == (
        "getSpace",
        {"spaceKey": "~ada"},
    )
    assert named("GET", "/wiki/rest/api/space/caf%C3%A9") == (
        "getSpace",
        {"spaceKey": "caf\u00e9"},
    )


def test_a_parameter_that_is_not_utf8_matches_nothing() -> None:
    assert named("GET", "/wiki/rest/api/space/%FF") is None


def test_an_encoded_slash_stays_inside_one_parameter() -> None:
    assert named("GET", "/wiki/rest/api/space/a%2Fb") == (
        "getSpace",
        {"spaceKey": "a/b"},
    )


def test_a_parameter_never_spans_a_slash() -> None:
    assert named("GET", "/wiki/api/v2/pages/1/2") is None


def test_a_literal_segment_beats_a_parameter() -> None:
    assert named("GET", "/wiki/rest/api/content/search") == (
        "searchContentByCQL",
        {},
    )
    assert named("GET", "/wiki/rest/api/content/search2") == (
        "getContentById",
        {"id": "search2"},
    )


def test_an_empty_parameter_matches_nothing() -> None:
    assert named("GET", "/wiki/api/v2/pages/") is None


@pytest.mark.parametrize(
    "path",
    ["", "/", "/wiki", "/wiki/api/v2", "/wiki/api/v3/pages", "/wiki/rest/api"],
)
def test_paths_outside_the_specs_match_nothing(path: str) -> None:
    assert named("GET", path) is None


def test_v1_search_accepts_its_classic_scope_or_the_granular_alternative() -> None:
    operation = _operation("v1", "searchByCQL")

    assert operation.scope_sets == (
        frozenset({"search:confluence"}),
        frozenset({"read:content-details:confluence"}),
    )


def test_v2_operations_accept_one_granular_set_only() -> None:
    pages = _operation("v2", "getPages")
    spaces = _operation("v2", "getSpaces")

    assert pages.scope_sets == (frozenset({"read:page:confluence"}),)
    assert spaces.scope_sets == (frozenset({"read:space:confluence"}),)


def test_every_implemented_operation_has_a_handler_and_no_other_does() -> None:
    implemented = {(op.api, op.operation_id) for op in operations() if op.implemented}

    assert implemented
    assert implemented == set(HANDLERS)


def test_only_deprecated_v1_space_and_content_operations_count_as_removed() -> None:
    removed = {op.operation_id for op in operations() if is_removed(op)}

    assert {"getSpaces", "getSpace", "getContent", "getContentById"} <= removed
    assert "searchByCQL" not in removed
    assert "searchContentByCQL" not in removed
    assert "getCurrentUser" not in removed
    assert all(
        op.api == "v1" and op.deprecated for op in operations() if is_removed(op)
    )


def test_every_operation_is_reachable_by_its_own_path() -> None:
    for operation in operations():
        path = operation.path.replace("{", "").replace("}", "")

        found = match_operation(operation.method, path)

        assert found is not None, operation.path
        assert found[0].path == operation.path


def _operation(api: str, operation_id: str) -> Operation:
    (found,) = [
        op
        for op in operations()
        if op.api == api and op.operation_id == operation_id and op.method == "GET"
    ]
    return found


# Dispatch (`ConfluenceApi.handle`), without a server


def _handle(
    operation_id: str, api: str = "v2", method: str = "GET", **settings: Any
) -> Response:
    (operation,) = [
        op
        for op in operations()
        if op.api == api and op.operation_id == operation_id and op.method == method
    ]
    request = Request(
        method,
        operation.path,
        headers={"authorization": f"Bearer {SECRET_TOKEN}"},
    )
    confluence = ConfluenceApi(SITES, USER)
    params = {"id": "131076", "spaceKey": "ENG"}
    return confluence.handle(
        operation, params, request, PINECONE, Settings(**settings), frozenset()
    )


def test_handle_answers_an_implemented_operation() -> None:
    answer = _handle("getPageById")

    assert answer.status == 200
    assert answer.json()["id"] == "131076"


def test_handle_answers_a_deprecated_v1_content_operation_with_410() -> None:
    answer = _handle("getContentById", api="v1")

    assert answer.status == 410
    assert answer.json()["message"] == GONE_MESSAGE


def test_handle_answers_the_legacy_shape_when_the_setting_is_on() -> None:
    answer = _handle("getContentById", api="v1", legacy_v1_endpoints=True)

    assert answer.status == 200
    assert answer.json()["type"] == "page"


def test_handle_answers_an_unemulated_operation_with_501() -> None:
    answer = _handle("getChildPages")

    assert answer.status == 501
    assert "getChildPages" in answer.json()["errors"][0]["title"]


def test_a_failing_handler_becomes_a_logged_500_without_the_token(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(call: Call) -> Response:
        raise RuntimeError("boom")

    monkeypatch.setitem(HANDLERS, ("v2", "getPageById"), broken)

    answer = _handle("getPageById")

    assert answer.status == 500
    assert answer.json()["errors"][0]["code"] == "INTERNAL_SERVER_ERROR"
    assert "getPageById" in caplog.text
    assert SECRET_TOKEN not in caplog.text
    assert SECRET_TOKEN.encode() not in answer.body


_NAMES = st.sampled_from(
    [
        "limit",
        "cursor",
        "status",
        "sort",
        "title",
        "body-format",
        "description-format",
        "id",
        "ids",
        "keys",
        "space-id",
        "depth",
        "get-draft",
        "include-labels",
        "version",
        "cql",
        "start",
        "expand",
        "excerpt",
        "includeArchivedSpaces",
        "spaceKey",
        "type",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0", "1", "250", "251", "-1", "true", "draft", "storage", ","]),
)
_IMPLEMENTED = [op for op in operations() if op.implemented]


@settings(max_examples=400, deadline=None)
@given(
    operation=st.sampled_from(_IMPLEMENTED),
    query=st.lists(st.tuples(_NAMES, _VALUES), max_size=6),
    path_value=st.text(max_size=12),
    legacy=st.booleans(),
)
def test_random_parameters_never_make_confluence_answer_500(
    operation: Operation,
    query: list[tuple[str, str]],
    path_value: str,
    legacy: bool,
) -> None:
    request = Request("GET", operation.path, query=query)
    params = {"id": path_value, "spaceKey": path_value}

    answer = CONFLUENCE.handle(
        operation,
        params,
        request,
        PINECONE,
        Settings(legacy_v1_endpoints=legacy),
        frozenset(),
    )

    assert answer.status in (200, 400, 404, 410)
    assert answer.json()

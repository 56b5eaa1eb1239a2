"""The v2 spaces and pages of the emulated Confluence, end to end through the gateway.

Covers cursor paging (`_links.next` and the `Link` header), limits, filters, bodies,
404s, the two sites, and the gateway's scope check on v2 and v1 (facts 5.2-6.6).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest
import requests
from confluence_support import (
    ARCHIVE_ID,
    CLASSIC,
    GRANULAR,
    follow,
    get,
    token,
    walk,
)
from sandbox_driver import START_TIME, Flow

from kit.sandbox import Clock, Sandbox
from kit.sandbox.confluence.site_content import content_for
from kit.sandbox.scenario import PINECONE

ENG = "98306"
CONTENT = content_for(PINECONE)
ENG_PAGES = CONTENT.pages_by_space[ENG]
SETTING_UP = "131076"  # "Setting up your workstation", a current ENG page
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}


@pytest.fixture(scope="module")
def lab() -> Iterator[Flow]:
    server = Sandbox("atlassian", clock=Clock(frozen_at=START_TIME)).start()
    with requests.Session() as http:
        yield Flow(server, http)
    server.stop()


@pytest.fixture(scope="module")
def granular(lab: Flow) -> str:
    return token(lab, GRANULAR)


def ids(answer: requests.Response) -> list[str]:
    return [item["id"] for item in answer.json()["results"]]


def error_of(answer: requests.Response) -> dict[str, object]:
    errors = answer.json()["errors"]
    assert len(errors) == 1
    return dict(errors[0])


# Paging


def test_walking_eng_ten_at_a_time_returns_every_listable_page_exactly_once(
    lab: Flow, granular: str
) -> None:
    expected = [p.id for p in ENG_PAGES if p.status != "draft"]
    path = f"/wiki/api/v2/spaces/{ENG}/pages"

    answers = list(
        walk(lab, path, granular, limit=10, status="current,archived,trashed")
    )

    seen = [page_id for answer in answers for page_id in ids(answer)]
    assert len(ENG_PAGES) == 75
    assert sorted(seen) == sorted(expected)
    assert len(seen) == len(set(seen)) == 74
    assert [len(ids(answer)) for answer in answers] == [10] * 7 + [4]


def test_link_header_names_the_same_next_page_as_links_next(
    lab: Flow, granular: str
) -> None:
    path = f"/wiki/api/v2/spaces/{ENG}/pages"

    answers = list(walk(lab, path, granular, limit=10))

    for answer in answers[:-1]:
        following = answer.json()["_links"]["next"]
        base = "https://pinecone-labs.atlassian.net/wiki"
        assert answer.headers["link"] == (
            f'<{following}>; rel="next", <{base}>; rel="base"'
        )
        assert following.startswith(f"/wiki/api/v2/spaces/{ENG}/pages?")
        assert "cursor=" in following
    last = answers[-1]
    assert "next" not in last.json()["_links"]
    assert "link" not in last.headers


def test_a_list_carries_its_site_base_in_links(lab: Flow, granular: str) -> None:
    answer = get(lab, "/wiki/api/v2/spaces", granular)

    assert answer.json()["_links"]["base"] == "https://pinecone-labs.atlassian.net/wiki"


def test_next_link_keeps_the_filters_of_the_first_request(
    lab: Flow, granular: str
) -> None:
    first = get(lab, "/wiki/api/v2/pages", granular, limit=2, sort="-title")

    second = follow(lab, first.json()["_links"]["next"], granular)

    titles = [p["title"].casefold() for p in first.json()["results"]]
    titles += [p["title"].casefold() for p in second.json()["results"]]
    assert titles == sorted(titles, reverse=True)
    assert "sort=-title" in first.json()["_links"]["next"]


def test_the_default_limit_is_25_and_250_is_accepted(lab: Flow, granular: str) -> None:
    default = get(lab, "/wiki/api/v2/pages", granular)
    widest = get(lab, "/wiki/api/v2/pages", granular, limit=250)

    assert len(ids(default)) == 25
    assert widest.status_code == 200
    assert "next" not in widest.json()["_links"]


@pytest.mark.parametrize("limit", ["0", "251", "-1", "ten", "", "2.5"])
def test_a_limit_outside_1_to_250_is_refused_with_the_v2_envelope(
    lab: Flow, granular: str, limit: str
) -> None:
    answer = get(lab, "/wiki/api/v2/pages", granular, limit=limit)

    assert answer.status_code == 400
    error = error_of(answer)
    assert error["code"] == "INVALID_REQUEST_PARAMETER"
    assert error["status"] == 400
    assert "limit" in str(error["title"])


def _cursor(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        "zzz",
        "!!!",
        "%%",
        "\u00e9t\u00e9",
        "A" * 5000,
        _cursor([]),
        _cursor({"v": 1, "o": -1, "q": "x"}),
        _cursor({"v": 1, "o": 10, "q": "not-this-query"}),
        _cursor({"v": 2, "o": 10}),
        _cursor({"v": 1, "o": "10", "q": 3}),
    ],
)
def test_a_garbage_or_tampered_cursor_is_a_400_never_a_500(
    lab: Flow, granular: str, cursor: str
) -> None:
    answer = get(lab, "/wiki/api/v2/pages", granular, cursor=cursor)

    assert answer.status_code == 400
    assert error_of(answer)["code"] == "INVALID_REQUEST_PARAMETER"


def test_a_cursor_from_another_list_is_refused(lab: Flow, granular: str) -> None:
    spaces = get(lab, "/wiki/api/v2/pages", granular, limit=1).json()
    cursor = spaces["_links"]["next"].rsplit("cursor=", 1)[1]

    answer = get(lab, f"/wiki/api/v2/spaces/{ENG}/pages", granular, cursor=cursor)

    assert answer.status_code == 400


# Pages


def test_pages_list_current_and_archived_by_default_but_never_trashed_or_drafts(
    lab: Flow, granular: str
) -> None:
    answers = walk(lab, f"/wiki/api/v2/spaces/{ENG}/pages", granular, limit=250)

    statuses = {p["status"] for a in answers for p in a.json()["results"]}

    assert statuses == {"current", "archived"}


def test_asking_for_drafts_in_a_list_is_a_400(lab: Flow, granular: str) -> None:
    answer = get(lab, "/wiki/api/v2/pages", granular, status="draft")

    assert answer.status_code == 400


def test_title_filter_is_exact_but_ignores_case(lab: Flow, granular: str) -> None:
    exact = get(
        lab, "/wiki/api/v2/pages", granular, title="SETTING UP YOUR WORKSTATION"
    )
    partial = get(lab, "/wiki/api/v2/pages", granular, title="Setting up")

    assert ids(exact) == [SETTING_UP]
    assert ids(partial) == []


def test_space_id_filter_keeps_only_that_spaces_pages(lab: Flow, granular: str) -> None:
    ops = CONTENT.space_by_key_or_none("OPS")
    assert ops is not None

    answer = get(lab, "/wiki/api/v2/pages", granular, **{"space-id": ops.id})

    assert {p["spaceId"] for p in answer.json()["results"]} == {ops.id}


def test_depth_root_lists_only_the_spaces_top_level_pages(
    lab: Flow, granular: str
) -> None:
    answer = get(lab, f"/wiki/api/v2/spaces/{ENG}/pages", granular, depth="root")

    assert ids(answer) == ["131073"]
    assert "parentId" not in answer.json()["results"][0]


def test_a_listing_is_compact_json_and_the_same_bytes_each_time_it_is_asked(
    lab: Flow, granular: str
) -> None:
    first = get(lab, "/wiki/api/v2/pages", granular, **{"body-format": "storage"})
    again = get(lab, "/wiki/api/v2/pages", granular, **{"body-format": "storage"})
    parsed = first.json()

    assert first.content == again.content
    assert first.content == json.dumps(parsed, separators=(",", ":")).encode()
    assert list(parsed) == ["results", "_links"]
    assert all(p["body"]["storage"]["value"] for p in parsed["results"])


def test_answers_kept_between_requests_do_not_leak_into_one_another(
    lab: Flow, granular: str
) -> None:
    """Each filter chooses its own pages, however the requests interleave."""
    ops = CONTENT.space_by_key_or_none("OPS")
    assert ops is not None
    by_space = {"space-id": ops.id, "limit": 250}
    everything = {"limit": 250}

    for _ in range(2):
        all_ids = ids(get(lab, "/wiki/api/v2/pages", granular, **everything))
        ops_ids = ids(get(lab, "/wiki/api/v2/pages", granular, **by_space))
        newest_first = ids(
            get(lab, "/wiki/api/v2/pages", granular, sort="-id", **everything)
        )
        drafts = get(lab, "/wiki/api/v2/pages", granular, status="draft")

        assert set(ops_ids) < set(all_ids)
        assert ops_ids
        assert newest_first == all_ids[::-1]
        assert (
            drafts.status_code == 400
        )  # refused each time: a failing query keeps nothing


def test_a_site_keeps_only_so_many_queries_and_answers_the_rest_the_same(
    lab: Flow, granular: str
) -> None:
    from kit.sandbox.confluence import v2  # noqa: PLC0415 - the bound under test

    titles = [f"no such page {n}" for n in range(v2.ANSWERS_KEPT + 10)]
    answers = [get(lab, "/wiki/api/v2/pages", granular, title=t) for t in titles]
    exact = get(
        lab, "/wiki/api/v2/pages", granular, title="SETTING UP YOUR WORKSTATION"
    )

    assert all(ids(a) == [] for a in answers)
    assert ids(exact) == [SETTING_UP]
    assert 0 < len(CONTENT.answers) <= v2.ANSWERS_KEPT  # the sandbox's own content


def test_a_page_carries_its_parent_position_version_and_links(
    lab: Flow, granular: str
) -> None:
    answer = get(lab, f"/wiki/api/v2/pages/{SETTING_UP}", granular)

    page = answer.json()
    assert answer.status_code == 200
    assert page["parentId"] == "131074"
    assert page["parentType"] == "page"
    assert page["version"]["number"] >= 1
    assert page["_links"]["webui"].startswith(f"/spaces/ENG/pages/{SETTING_UP}/")
    assert page["_links"]["tinyui"].startswith("/x/")
    assert page["_links"]["base"] == "https://pinecone-labs.atlassian.net/wiki"


def test_a_space_homepage_links_to_the_space_overview(lab: Flow, granular: str) -> None:
    answer = get(lab, "/wiki/api/v2/pages/131073", granular)

    assert answer.json()["_links"]["webui"] == "/spaces/ENG/overview"


def test_body_format_storage_returns_the_storage_representation(
    lab: Flow, granular: str
) -> None:
    answer = get(
        lab, f"/wiki/api/v2/pages/{SETTING_UP}", granular, **{"body-format": "storage"}
    )

    storage = answer.json()["body"]["storage"]
    assert storage["representation"] == "storage"
    assert storage["value"] == CONTENT.page_by_id[SETTING_UP].storage
    assert storage["value"].startswith("<p>")


def test_without_body_format_the_body_is_empty(lab: Flow, granular: str) -> None:
    answer = get(lab, f"/wiki/api/v2/pages/{SETTING_UP}", granular)

    assert answer.json()["body"] == {}


def test_body_format_atlas_doc_format_is_an_adf_document(
    lab: Flow, granular: str
) -> None:
    answer = get(
        lab,
        "/wiki/api/v2/pages",
        granular,
        limit=1,
        **{"body-format": "atlas_doc_format"},
    )

    body = answer.json()["results"][0]["body"]["atlas_doc_format"]
    assert json.loads(body["value"])["type"] == "doc"


@pytest.mark.parametrize("body_format", ["wiki", "STORAGE", "view"])
def test_an_unknown_body_format_on_a_list_is_a_400(
    lab: Flow, granular: str, body_format: str
) -> None:
    answer = get(lab, "/wiki/api/v2/pages", granular, **{"body-format": body_format})

    assert answer.status_code == 400
    assert "body-format" in str(error_of(answer)["title"])


def test_an_unknown_page_id_is_a_404_with_the_v2_envelope(
    lab: Flow, granular: str
) -> None:
    answer = get(lab, "/wiki/api/v2/pages/1", granular)

    assert answer.status_code == 404
    assert answer.json() == {
        "errors": [
            {
                "status": 404,
                "code": "NOT_FOUND",
                "title": "Cannot find a page with id [1]",
                "detail": None,
            }
        ]
    }


def test_a_page_id_that_is_not_a_number_is_a_400(lab: Flow, granular: str) -> None:
    answer = get(lab, "/wiki/api/v2/pages/abc", granular)

    assert answer.status_code == 400


def test_a_draft_is_found_only_with_get_draft(lab: Flow, granular: str) -> None:
    draft = next(p for p in ENG_PAGES if p.status == "draft")

    hidden = get(lab, f"/wiki/api/v2/pages/{draft.id}", granular)
    shown = get(
        lab, f"/wiki/api/v2/pages/{draft.id}", granular, **{"get-draft": "true"}
    )

    assert hidden.status_code == 404
    assert shown.json()["status"] == "draft"


def test_a_trashed_page_is_found_only_when_trashed_is_asked_for(
    lab: Flow, granular: str
) -> None:
    trashed = next(p for p in ENG_PAGES if p.status == "trashed")

    hidden = get(lab, f"/wiki/api/v2/pages/{trashed.id}", granular)
    shown = get(lab, f"/wiki/api/v2/pages/{trashed.id}", granular, status="trashed")

    assert hidden.status_code == 404
    assert shown.json()["status"] == "trashed"


def test_include_labels_lists_the_pages_labels(lab: Flow, granular: str) -> None:
    answer = get(
        lab, f"/wiki/api/v2/pages/{SETTING_UP}", granular, **{"include-labels": "true"}
    )

    names = [label["name"] for label in answer.json()["labels"]["results"]]
    assert names == list(CONTENT.page_by_id[SETTING_UP].labels)


def test_a_flag_that_is_not_a_boolean_is_a_400(lab: Flow, granular: str) -> None:
    answer = get(
        lab, f"/wiki/api/v2/pages/{SETTING_UP}", granular, **{"include-labels": "yes"}
    )

    assert answer.status_code == 400


# Spaces


def test_spaces_lists_every_space_of_the_site_in_id_order(
    lab: Flow, granular: str
) -> None:
    answer = get(lab, "/wiki/api/v2/spaces", granular)

    keys = [space["key"] for space in answer.json()["results"]]
    assert keys == ["ENG", "OPS", "~ada", "OLD"]


@pytest.mark.parametrize(
    ("params", "keys"),
    [
        ({"keys": "eng,OPS"}, ["ENG", "OPS"]),
        ({"type": "personal"}, ["~ada"]),
        ({"status": "archived"}, ["OLD"]),
        ({"sort": "-key"}, ["~ada", "OPS", "OLD", "ENG"]),
        ({"ids": "98307"}, ["OPS"]),
    ],
)
def test_spaces_filter_by_key_type_status_and_id(
    lab: Flow, granular: str, params: dict[str, str], keys: list[str]
) -> None:
    answer = get(lab, "/wiki/api/v2/spaces", granular, **params)

    assert [space["key"] for space in answer.json()["results"]] == keys


def test_a_space_by_id_carries_its_homepage_and_base(lab: Flow, granular: str) -> None:
    answer = get(
        lab, f"/wiki/api/v2/spaces/{ENG}", granular, **{"description-format": "plain"}
    )

    space = answer.json()
    assert space["key"] == "ENG"
    assert space["homepageId"] == "131073"
    assert space["description"]["plain"]["representation"] == "plain"
    assert space["_links"]["base"] == "https://pinecone-labs.atlassian.net/wiki"


def test_an_unknown_space_id_is_a_404(lab: Flow, granular: str) -> None:
    answer = get(lab, "/wiki/api/v2/spaces/1", granular)

    assert answer.status_code == 404
    assert error_of(answer)["title"] == "Cannot find a space with id [1]"


def test_the_pages_of_an_unknown_space_are_a_404(lab: Flow, granular: str) -> None:
    answer = get(lab, "/wiki/api/v2/spaces/1/pages", granular)

    assert answer.status_code == 404


# Sites


def test_the_archive_site_serves_its_own_spaces(lab: Flow) -> None:
    access_token = token(lab, GRANULAR, site=ARCHIVE_ID)

    answer = get(lab, "/wiki/api/v2/spaces", access_token, cloud_id=ARCHIVE_ID)

    assert [s["key"] for s in answer.json()["results"]] == ["ARC", "MKT"]
    assert answer.json()["_links"]["base"] == (
        "https://pinecone-archive.atlassian.net/wiki"
    )


def test_a_page_of_one_site_is_not_found_on_the_other(lab: Flow) -> None:
    access_token = token(lab, GRANULAR, site=ARCHIVE_ID)

    answer = get(
        lab, f"/wiki/api/v2/pages/{SETTING_UP}", access_token, cloud_id=ARCHIVE_ID
    )

    assert answer.status_code == 404


# Scopes at the gateway (facts 5.2, 5.4)


def test_a_classic_only_token_is_refused_on_v2_with_scope_does_not_match(
    lab: Flow,
) -> None:
    classic = token(lab, CLASSIC)

    answer = get(lab, "/wiki/api/v2/pages", classic)

    assert answer.status_code == 401
    assert answer.json() == SCOPE_MISMATCH
    assert answer.headers["x-failure-category"] == "FAILURE_CLIENT_SCOPE_CHECK"


def test_read_space_details_does_not_list_spaces_on_v2(lab: Flow) -> None:
    details = token(lab, "read:space-details:confluence read:page:confluence")

    answer = get(lab, "/wiki/api/v2/spaces", details)

    assert answer.status_code == 401
    assert answer.json() == SCOPE_MISMATCH


def test_v1_search_accepts_the_classic_scope(lab: Flow) -> None:
    classic = token(lab, "search:confluence")

    answer = get(lab, "/wiki/rest/api/search", classic, cql="type = page")

    assert answer.status_code == 200


def test_v1_search_accepts_its_granular_alternative(lab: Flow) -> None:
    alternative = token(lab, "read:content-details:confluence")

    answer = get(lab, "/wiki/rest/api/search", alternative, cql="type = page")

    assert answer.status_code == 200


def test_v1_search_refuses_a_granular_token_without_the_alternative(
    lab: Flow, granular: str
) -> None:
    answer = get(lab, "/wiki/rest/api/search", granular, cql="type = page")

    assert answer.status_code == 401
    assert answer.json() == SCOPE_MISMATCH


def test_one_mixed_token_drives_both_v1_and_v2(lab: Flow) -> None:
    mixed = token(lab, f"{GRANULAR} {CLASSIC}")

    v2 = get(lab, "/wiki/api/v2/pages", mixed, limit=1)
    v1 = get(lab, "/wiki/rest/api/search", mixed, cql="type = page", limit=1)
    me = get(lab, "/wiki/rest/api/user/current", mixed)

    assert (v2.status_code, v1.status_code, me.status_code) == (200, 200, 200)


def test_the_rfc_profile_refuses_a_missing_scope_with_403_insufficient_scope(
    rfc_flow: Flow,
) -> None:
    classic = token(rfc_flow, CLASSIC)

    answer = get(rfc_flow, "/wiki/api/v2/pages", classic)

    assert answer.status_code == 403
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
    assert "read:page:confluence" in answer.headers["www-authenticate"]


def test_every_confluence_answer_allows_any_origin(lab: Flow, granular: str) -> None:
    ok = get(lab, "/wiki/api/v2/pages", granular, limit=1)
    refused = get(lab, "/wiki/api/v2/pages/1", granular)

    assert ok.headers["access-control-allow-origin"] == "*"
    assert refused.headers["access-control-allow-origin"] == "*"

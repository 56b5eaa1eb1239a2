"""The v1 API of the emulated Confluence: CQL search, the current user, 410 and 501.

Search pages by cursor as facts 6.3 records; the deprecated `space` and `content`
endpoints answer 410 until `legacy_v1_endpoints` brings their legacy answers back.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from confluence_support import ARCHIVE_ID, CLASSIC, GRANULAR, get, token, walk
from sandbox_driver import START_TIME, Flow

from kit.sandbox import Clock, Sandbox
from kit.sandbox.confluence.errors import GONE_MESSAGE
from kit.sandbox.confluence.site_content import content_for
from kit.sandbox.scenario import PINECONE, USER

CONTENT = content_for(PINECONE)
SEARCH = "/wiki/rest/api/search"
V1_SCOPES = f"{CLASSIC} read:confluence-content.all {GRANULAR}"


@pytest.fixture(scope="module")
def lab() -> Iterator[Flow]:
    server = Sandbox("atlassian", clock=Clock(frozen_at=START_TIME)).start()
    with requests.Session() as http:
        yield Flow(server, http)
    server.stop()


@pytest.fixture(scope="module")
def classic(lab: Flow) -> str:
    return token(lab, V1_SCOPES)


@pytest.fixture
def legacy(lab: Flow) -> Iterator[Flow]:
    """The module's sandbox with the legacy v1 endpoints on, for one test."""
    lab.sandbox.configure(legacy_v1_endpoints=True)
    try:
        yield lab
    finally:
        lab.sandbox.configure(legacy_v1_endpoints=False)


def titles(answer: requests.Response) -> list[str]:
    return [result["title"] for result in answer.json()["results"]]


def content_ids(answer: requests.Response) -> list[str]:
    return [result["content"]["id"] for result in answer.json()["results"]]


def searchable(space_key: str) -> list[str]:
    """Ids of the pages a search can find in a space: current pages only."""
    space = CONTENT.space_by_key_or_none(space_key)
    assert space is not None
    pages = CONTENT.pages_by_space[space.id]
    return [page.id for page in pages if page.status == "current"]


# Search paging (facts 6.3)


def test_a_search_walk_returns_every_match_once_and_ends_without_next(
    lab: Flow, classic: str
) -> None:
    answers = list(walk(lab, SEARCH, classic, cql="space = ENG", limit=10))

    found = [page_id for answer in answers for page_id in content_ids(answer)]
    assert sorted(found) == sorted(searchable("ENG"))
    assert len(found) == len(set(found)) == 71
    assert all("next" in a.json()["_links"] for a in answers[:-1])
    assert "next" not in answers[-1].json()["_links"]


def test_search_next_carries_a_cursor_next_true_limit_and_start(
    lab: Flow, classic: str
) -> None:
    answer = get(lab, SEARCH, classic, cql="space = ENG", limit=10, excerpt="none")

    following = answer.json()["_links"]["next"]
    query = parse_qs(urlsplit(following).query)
    assert urlsplit(following).path == "/rest/api/search"
    assert query["next"] == ["true"]
    assert query["limit"] == ["10"]
    assert query["start"] == ["10"]
    assert query["cql"] == ["space = ENG"]
    assert query["cursor"][0]
    assert "excerpt" not in query


def test_search_ignores_start(lab: Flow, classic: str) -> None:
    plain = get(lab, SEARCH, classic, cql="space = ENG", limit=5)
    started = get(lab, SEARCH, classic, cql="space = ENG", limit=5, start=40)

    assert content_ids(started) == content_ids(plain)
    assert started.json()["start"] == 0


def test_search_caps_the_limit_at_100(lab: Flow, classic: str) -> None:
    answer = get(lab, SEARCH, classic, cql="type = page", limit=500)

    body = answer.json()
    assert body["limit"] == 100
    assert body["size"] == body["totalSize"] == len(content_ids(answer)) == 82


def test_search_envelope_reports_size_total_and_the_query(
    lab: Flow, classic: str
) -> None:
    answer = get(lab, SEARCH, classic, cql="space = OPS", limit=3)

    body = answer.json()
    assert body["size"] == 3
    assert body["totalSize"] == len(searchable("OPS"))
    assert body["cqlQuery"] == "space = OPS"
    assert body["_links"]["base"] == "https://pinecone-labs.atlassian.net/wiki"
    assert body["_links"]["context"] == "/wiki"


def test_a_search_cursor_does_not_work_for_another_query(
    lab: Flow, classic: str
) -> None:
    first = get(lab, SEARCH, classic, cql="space = ENG", limit=2)
    cursor = parse_qs(urlsplit(first.json()["_links"]["next"]).query)["cursor"][0]

    answer = get(lab, SEARCH, classic, cql="space = OPS", cursor=cursor)

    assert answer.status_code == 400
    assert answer.json()["statusCode"] == 400


# Search results


def test_a_search_result_names_its_space_and_its_page(lab: Flow, classic: str) -> None:
    answer = get(lab, SEARCH, classic, cql='title = "Setting up your workstation"')

    (result,) = answer.json()["results"]
    assert result["content"]["id"] == "131076"
    assert result["content"]["type"] == "page"
    assert result["entityType"] == "content"
    assert result["resultGlobalContainer"] == {
        "title": "Engineering Handbook",
        "displayUrl": "/spaces/ENG",
    }
    assert result["url"].startswith("/spaces/ENG/pages/131076/")
    assert result["excerpt"].startswith("We support macOS")


def test_an_unknown_space_key_finds_nothing_rather_than_failing(
    lab: Flow, classic: str
) -> None:
    answer = get(lab, SEARCH, classic, cql="space = NOPE")

    assert answer.status_code == 200
    assert answer.json()["results"] == []


def test_archived_pages_are_never_returned(lab: Flow, classic: str) -> None:
    archived = {p.id for p in CONTENT.pages if p.status != "current"}

    answer = get(lab, SEARCH, classic, cql="type = page", limit=100)

    assert archived
    assert not archived & set(content_ids(answer))


def test_archived_spaces_are_left_out_unless_asked_for(lab: Flow, classic: str) -> None:
    default = get(lab, SEARCH, classic, cql="space = OLD")
    included = get(
        lab, SEARCH, classic, cql="space = OLD", includeArchivedSpaces="true"
    )

    assert default.json()["results"] == []
    assert default.json()["archivedResultCount"] == 2
    assert sorted(content_ids(included)) == sorted(searchable("OLD"))


def test_type_space_finds_spaces(lab: Flow, classic: str) -> None:
    answer = get(lab, SEARCH, classic, cql="type = space ORDER BY title")

    results = answer.json()["results"]
    assert [r["space"]["key"] for r in results] == ["~ada", "ENG", "OPS"]
    assert results[0]["title"] == "Ada Okafor"
    assert {r["entityType"] for r in results} == {"space"}


def test_text_search_finds_words_in_the_body(lab: Flow, classic: str) -> None:
    answer = get(lab, SEARCH, classic, cql='text ~ "bootstrap script"')

    assert "131076" in content_ids(answer)
    for page_id in content_ids(answer):
        text = CONTENT.page_by_id[page_id].text.casefold()
        assert "bootstrap" in text
        assert "script" in text


def test_creator_current_user_finds_adas_pages(lab: Flow, classic: str) -> None:
    answer = get(
        lab, SEARCH, classic, cql="creator = currentUser() AND space = ENG", limit=100
    )

    expected = [
        p.id
        for p in CONTENT.pages_by_space["98306"]
        if p.status == "current" and p.author_id == USER.account_id
    ]
    assert sorted(content_ids(answer)) == sorted(expected)


def test_order_by_title_descending_sorts_the_results(lab: Flow, classic: str) -> None:
    answer = get(lab, SEARCH, classic, cql="space = OPS ORDER BY title DESC")

    found = [title.casefold() for title in titles(answer)]
    assert found == sorted(found, reverse=True)


def test_label_and_date_clauses_combine(lab: Flow, classic: str) -> None:
    cql = 'label = runbook AND created >= "2024-01-01" AND NOT space = ENG'

    answer = get(lab, SEARCH, classic, cql=cql, limit=100)

    expected = [
        p.id
        for p in CONTENT.pages
        if "runbook" in p.labels
        and p.status == "current"
        and p.space.key != "ENG"
        and p.space.status == "current"
    ]
    assert expected
    assert sorted(content_ids(answer)) == sorted(expected)


def test_search_through_the_gateway_works_without_wiki(lab: Flow, classic: str) -> None:
    answer = get(lab, "/rest/api/search", classic, cql="space = OPS")

    assert answer.status_code == 200
    assert answer.json()["size"] == len(searchable("OPS"))


# Search errors


def test_a_search_without_cql_is_a_400_in_the_v1_envelope(
    lab: Flow, classic: str
) -> None:
    answer = get(lab, SEARCH, classic)

    body = answer.json()
    assert answer.status_code == 400
    assert body["statusCode"] == 400
    assert body["reason"] == "Bad Request"
    assert "cql" in body["message"]


@pytest.mark.parametrize(
    ("cql", "hint"),
    [
        ("status = current", "valid fields are"),
        ("type = ", "Expected a value"),
        ("space ~ ENG", "operator `~`"),
        ("(type = page", "Expected ')'"),
        ('created > "last tuesday"', "not a date"),
        ("type = page ORDER BY score", "Cannot order by"),
    ],
)
def test_a_cql_error_says_what_was_wrong(
    lab: Flow, classic: str, cql: str, hint: str
) -> None:
    answer = get(lab, SEARCH, classic, cql=cql)

    assert answer.status_code == 400
    assert hint in answer.json()["message"]


# The current user


def test_current_user_is_ada(lab: Flow, classic: str) -> None:
    answer = get(lab, "/wiki/rest/api/user/current", classic)

    user = answer.json()
    assert answer.status_code == 200
    assert user["accountId"] == USER.account_id
    assert user["displayName"] == "Ada Okafor"
    assert user["accountType"] == "atlassian"
    assert user["type"] == "known"
    assert user["_links"]["base"] == "https://pinecone-labs.atlassian.net/wiki"


def test_current_user_accepts_the_granular_alternative(lab: Flow) -> None:
    alternative = token(lab, "read:content-details:confluence")

    answer = get(lab, "/wiki/rest/api/user/current", alternative)

    assert answer.json()["accountId"] == USER.account_id


# Removed endpoints and the legacy setting (facts 6.1)


@pytest.mark.parametrize(
    "path",
    [
        "/wiki/rest/api/space",
        "/wiki/rest/api/space/ENG",
        "/wiki/rest/api/content",
        "/wiki/rest/api/content/131076",
        "/wiki/rest/api/content/131076/child",
        "/rest/api/space",
    ],
)
def test_deprecated_space_and_content_endpoints_are_gone_by_default(
    lab: Flow, classic: str, path: str
) -> None:
    answer = get(lab, path, classic)

    assert answer.status_code == 410
    assert answer.json()["statusCode"] == 410
    assert answer.json()["message"] == GONE_MESSAGE
    assert answer.json()["reason"] == "Gone"


@pytest.mark.parametrize(
    ("path", "api"),
    [
        ("/wiki/api/v2/pages/131076/children", "v2"),
        ("/wiki/rest/api/content/search", "v1"),
        ("/wiki/rest/api/space/ENG/label", "v1"),
    ],
)
def test_a_routed_but_unemulated_operation_is_a_501(
    lab: Flow, classic: str, path: str, api: str
) -> None:
    answer = get(lab, path, classic, cql="type = page")

    assert answer.status_code == 501
    if api == "v2":
        assert answer.json()["errors"][0]["code"] == "NOT_IMPLEMENTED"
    else:
        assert answer.json()["statusCode"] == 501


def test_a_deprecated_endpoint_the_sandbox_lacks_is_a_501_with_legacy_on(
    legacy: Flow, classic: str
) -> None:
    answer = get(legacy, "/wiki/rest/api/content/131076/child", classic)

    assert answer.status_code == 501


def test_legacy_spaces_page_by_start_with_a_relative_next(
    legacy: Flow, classic: str
) -> None:
    first = get(legacy, "/wiki/rest/api/space", classic, limit=2)
    second = get(legacy, "/wiki/rest/api/space", classic, limit=2, start=2)

    body = first.json()
    assert [s["key"] for s in body["results"]] == ["ENG", "OLD"]
    assert [s["key"] for s in second.json()["results"]] == ["OPS", "~ada"]
    assert body["_links"]["next"] == "/rest/api/space?next=true&limit=2&start=2"
    assert "next" not in second.json()["_links"]
    assert body["results"][0]["id"] == 98306


def test_legacy_space_by_key_and_its_404(legacy: Flow, classic: str) -> None:
    found = get(legacy, "/wiki/rest/api/space/eng", classic)
    missing = get(legacy, "/wiki/rest/api/space/NOPE", classic)

    assert found.json()["key"] == "ENG"
    assert found.json()["_links"]["context"] == "/wiki"
    assert missing.status_code == 404
    assert missing.json()["message"] == "No space with key : NOPE"


def test_legacy_content_expands_the_storage_body(legacy: Flow, classic: str) -> None:
    answer = get(
        legacy,
        "/wiki/rest/api/content",
        classic,
        spaceKey="ENG",
        title="Setting up your workstation",
        expand="body.storage,version,space",
    )

    (page,) = answer.json()["results"]
    assert page["body"]["storage"]["representation"] == "storage"
    assert page["body"]["storage"]["value"] == CONTENT.page_by_id["131076"].storage
    assert page["space"]["key"] == "ENG"
    assert page["version"]["number"] == CONTENT.page_by_id["131076"].version_number
    assert "body" not in page["_expandable"]


def test_legacy_content_by_id_and_its_404(legacy: Flow, classic: str) -> None:
    found = get(
        legacy, "/wiki/rest/api/content/131076", classic, expand="ancestors,history"
    )
    missing = get(legacy, "/wiki/rest/api/content/1", classic)

    assert [a["id"] for a in found.json()["ancestors"]] == ["131073", "131074"]
    assert found.json()["history"]["latest"] is True
    assert missing.status_code == 404
    assert missing.json()["statusCode"] == 404


def test_the_archive_site_searches_its_own_content(lab: Flow) -> None:
    access_token = token(lab, "search:confluence", site=ARCHIVE_ID)

    answer = get(lab, SEARCH, access_token, cloud_id=ARCHIVE_ID, cql="type = page")

    spaces = {
        r["resultGlobalContainer"]["displayUrl"] for r in answer.json()["results"]
    }
    assert spaces == {"/spaces/ARC", "/spaces/MKT"}

"""kit.confluence against a running sandbox: accessible-resources and the site pick,
v1 and v2 paging, the scope preflight, refresh on a dead token (113) but not on a
scope mismatch (114), waits on 429 (108, 109), and 410 on removed v1 endpoints.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_driver import Flow, advance_clock, redirect_params

from kit import config as settings
from kit.config import ClientConfig
from kit.confluence import (
    Confluence,
    Site,
    accessible_resources,
    api_path,
    me,
    pick_site,
)
from kit.errors import ApiError, RateLimitedError, ScopeError
from kit.exchange import exchange_code
from kit.record import History
from kit.retry import RetryPolicy
from kit.store import TokenStore
from kit.tokens import TokenSet

PINECONE_ID = "3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73"
ARCHIVE_ID = "a61d0e47-2b8c-4f35-8e9a-70c4d2b15e08"
COURSE_SCOPES = (
    "read:page:confluence read:space:confluence search:confluence "
    "read:confluence-user read:me offline_access"
)


def sandbox_config(flow: Flow) -> ClientConfig:
    return settings.load(env_file=None, environ={}, sandbox_url=flow.url)


def signed_in(flow: Flow, scope: str = COURSE_SCOPES) -> TokenSet:
    return exchange_code(sandbox_config(flow), flow.code(scope=scope))


def client(flow: Flow, tokens: TokenSet | TokenStore, **options: object) -> Confluence:
    return Confluence(sandbox_config(flow), tokens, PINECONE_ID, **options)  # type: ignore[arg-type]


def test_accessible_resources_lists_the_consented_site(flow: Flow) -> None:
    tokens = signed_in(flow)

    sites = accessible_resources(sandbox_config(flow), tokens)

    assert [s.cloud_id for s in sites] == [PINECONE_ID]
    assert sites[0].url == "https://pinecone-labs.atlassian.net"
    assert "confluence" in sites[0].products


def test_jira_and_confluence_share_a_cloud_id_and_pick_site_takes_confluence(
    atlassian_flow: Flow,
) -> None:
    scope = COURSE_SCOPES + " read:jira-work"
    tokens = signed_in(atlassian_flow, scope)

    sites = accessible_resources(sandbox_config(atlassian_flow), tokens)
    chosen = pick_site(sites)

    assert [s.cloud_id for s in sites].count(PINECONE_ID) == 2
    assert {p for s in sites for p in s.products} == {"confluence", "jira"}
    assert chosen.cloud_id == PINECONE_ID
    assert "jira" not in chosen.products


def test_pick_site_asks_for_a_name_when_two_sites_have_confluence(
    atlassian_flow: Flow,
) -> None:
    config = sandbox_config(atlassian_flow)
    for site in (PINECONE_ID, ARCHIVE_ID):
        page = atlassian_flow.authorize(scope=COURSE_SCOPES)
        code = redirect_params(atlassian_flow.consent(page, site=site))["code"]
    tokens = exchange_code(config, code)
    sites = accessible_resources(config, tokens)

    with pytest.raises(ApiError, match="several confluence sites"):
        pick_site(sites)

    assert pick_site(sites, name="pinecone-archive").cloud_id == ARCHIVE_ID
    assert pick_site(sites, name="pinecone-labs.atlassian.net").cloud_id == PINECONE_ID


def test_me_names_the_scenarios_user(flow: Flow) -> None:
    tokens = signed_in(flow)

    person = me(sandbox_config(flow), tokens)

    assert person["name"] == "Ada Okafor"
    assert person["email"] == "ada.okafor@pinecone-labs.example"


def test_v2_pages_follow_next_to_the_end_and_miss_none(flow: Flow) -> None:
    tokens = signed_in(flow)
    history = History()
    confluence = client(flow, tokens, history=history)
    eng = next(s for s in confluence.spaces() if s["key"] == "ENG")
    history.clear()

    pages = list(confluence.space_pages(eng["id"], limit=7))

    ids = [p["id"] for p in pages]
    assert len(ids) >= 60
    assert len(set(ids)) == len(ids)
    assert len(history) == -(-len(ids) // 7)
    assert all("cursor=" in e.url for e in list(history)[1:])


def test_v2_next_comes_from_the_link_header_as_well(flow: Flow) -> None:
    tokens = signed_in(flow)
    confluence = client(flow, tokens)

    first = confluence.get_page("v2", "pages", {"limit": 5})

    assert first.next_url is not None
    assert first.next_url.startswith(confluence.base_url + "/wiki/api/v2/pages?")
    assert 'rel="next"' in first.answer.headers["link"]
    assert len(first.results) == 5


def test_v1_search_follows_its_cursor_until_next_is_missing(flow: Flow) -> None:
    tokens = signed_in(flow)
    confluence = client(flow, tokens)

    pages = list(confluence.pages_of("v1", "search", {"cql": "type=page", "limit": 25}))

    assert len(pages) > 1
    assert pages[-1].next_url is None
    assert all(
        p.next_url and "/wiki/rest/api/search?" in p.next_url for p in pages[:-1]
    )
    titles = [r["title"] for p in pages for r in p.results]
    assert len(titles) == len(set(titles)) or len(titles) > 60


def test_a_page_body_comes_in_storage_format(flow: Flow) -> None:
    tokens = signed_in(flow)
    confluence = client(flow, tokens)
    first = next(confluence.pages(limit=1))

    page = confluence.page(first["id"])

    assert page["body"]["storage"]["representation"] == "storage"
    assert page["body"]["storage"]["value"].startswith("<")


def test_the_preflight_refuses_a_v2_call_a_classic_token_cannot_reach(
    flow: Flow,
) -> None:
    tokens = signed_in(flow, "read:confluence-content.summary search:confluence")
    history = History()
    confluence = client(flow, tokens, history=history)

    with pytest.raises(ScopeError, match="read:page:confluence") as caught:
        confluence.get("v2", "pages")

    assert caught.value.status is None
    assert caught.value.operation == "v2 GET /wiki/api/v2/pages"
    assert ("read:page:confluence",) in caught.value.accepted
    assert len(history) == 0


def test_v1_search_works_with_either_scope_family(flow: Flow) -> None:
    for scope in ("search:confluence", "read:content-details:confluence"):
        tokens = signed_in(flow, scope)

        hits = list(client(flow, tokens).search("type=page", max_results=3))

        assert len(hits) == 3


def test_without_preflight_the_gateway_refuses_and_no_refresh_is_tried(
    atlassian_flow: Flow, tmp_path: Path
) -> None:
    config = sandbox_config(atlassian_flow)
    tokens = exchange_code(
        config, atlassian_flow.code(scope="search:confluence offline_access")
    )
    store = TokenStore(tmp_path / "t.json")
    store.save(tokens)
    history = History()
    confluence = Confluence(
        config, store, PINECONE_ID, preflight=False, history=history
    )

    with pytest.raises(ScopeError) as caught:
        confluence.get("v2", "spaces")

    assert caught.value.status == 401
    assert [e.step for e in history] == ["api"]
    saved = store.load()
    assert saved is not None and saved.tokens.access_token == tokens.access_token


def test_the_rfc_profile_refuses_for_scope_with_403_insufficient_scope(
    rfc_flow: Flow,
) -> None:
    tokens = signed_in(rfc_flow, "search:confluence")
    confluence = client(rfc_flow, tokens, preflight=False)

    with pytest.raises(ScopeError) as caught:
        confluence.get("v2", "spaces")

    assert caught.value.status == 403


def test_a_dead_access_token_is_refreshed_once_and_saved(
    flow: Flow, tmp_path: Path
) -> None:
    config = sandbox_config(flow)
    tokens = exchange_code(config, flow.code(scope=COURSE_SCOPES))
    store = TokenStore(tmp_path / "t.json")
    store.save(tokens)
    advance_clock(flow, 3601)  # the sandbox's clock: dead there, fresh here
    history = History()
    confluence = Confluence(config, store, PINECONE_ID, history=history)

    spaces = confluence.get("v2", "spaces")

    assert spaces["results"]
    assert [e.step for e in history] == ["api", "refresh", "api"]
    saved = store.load()
    assert saved is not None and saved.tokens.access_token != tokens.access_token
    assert saved.lineage is not None and len(saved.lineage.rotations) == 1


def test_a_second_refusal_after_the_refresh_stops_without_a_loop(
    atlassian_flow: Flow, tmp_path: Path
) -> None:
    config = sandbox_config(atlassian_flow)
    tokens = exchange_code(config, atlassian_flow.code(scope=COURSE_SCOPES))
    advance_clock(atlassian_flow, 3601)
    history = History()

    def refresh_to_the_same(stale: TokenSet) -> TokenSet:
        return stale  # a refresh that does not help

    confluence = Confluence(
        config, tokens, PINECONE_ID, refresh=refresh_to_the_same, history=history
    )

    with pytest.raises(ApiError) as caught:
        confluence.get("v2", "spaces")

    assert caught.value.status == 401
    assert [e.step for e in history] == ["api", "api"]


def test_a_429_is_waited_out_as_retry_after_asks(atlassian_flow: Flow) -> None:
    tokens = signed_in(atlassian_flow)
    atlassian_flow.sandbox.configure(rate_limit_per_minute=2)
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the sandbox's time passes instead
        waits.append(seconds)
        atlassian_flow.sandbox.clock.advance(seconds=seconds)

    confluence = client(
        atlassian_flow, tokens, sleep=sleep, retry=RetryPolicy(max_wait=120)
    )
    for _ in range(3):
        confluence.get("v2", "spaces")

    assert len(waits) == 1
    assert 0 < waits[0] <= 60


def test_a_wait_longer_than_the_cap_fails_at_once_and_says_so(
    atlassian_flow: Flow,
) -> None:
    tokens = signed_in(atlassian_flow)
    atlassian_flow.sandbox.configure(rate_limit_per_minute=1)
    waits: list[float] = []
    confluence = client(
        atlassian_flow, tokens, sleep=waits.append, retry=RetryPolicy(max_wait=1.0)
    )
    confluence.get("v2", "spaces")

    with pytest.raises(RateLimitedError) as caught:
        confluence.get("v2", "spaces")

    assert waits == []
    assert caught.value.status == 429
    assert caught.value.retry_after is not None and caught.value.retry_after > 1


def test_removed_v1_space_endpoint_answers_410_with_the_v2_way_out(
    flow: Flow,
) -> None:
    tokens = signed_in(flow, "read:confluence-space.summary")
    confluence = client(flow, tokens)

    with pytest.raises(ApiError) as caught:
        confluence.get("v1", "space")

    assert caught.value.status == 410
    assert "v2" in str(caught.value)


def test_an_unknown_page_is_a_404_error(flow: Flow) -> None:
    tokens = signed_in(flow)

    with pytest.raises(ApiError) as caught:
        client(flow, tokens).page("999999999")

    assert caught.value.status == 404


@pytest.mark.parametrize(
    ("api", "path", "expected"),
    [
        ("v2", "pages", "/wiki/api/v2/pages"),
        ("v2", "/pages/12", "/wiki/api/v2/pages/12"),
        ("v2", "/wiki/api/v2/spaces", "/wiki/api/v2/spaces"),
        ("v1", "search", "/wiki/rest/api/search"),
        ("v1", "/rest/api/user/current", "/wiki/rest/api/user/current"),
        ("v1", "/wiki/rest/api/search", "/wiki/rest/api/search"),
    ],
)
def test_api_path_accepts_each_way_of_naming_a_path(
    api: str, path: str, expected: str
) -> None:
    assert api_path(api, path) == expected  # type: ignore[arg-type]


def test_api_path_refuses_a_query_in_the_path() -> None:
    with pytest.raises(ApiError, match="params"):
        api_path("v2", "pages?limit=5")


def test_a_site_entry_without_its_keys_is_an_error_not_a_crash() -> None:
    with pytest.raises(ApiError, match="lacks"):
        Site.from_json({"name": "no id"})

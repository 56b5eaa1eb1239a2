"""The check of `06-cloud-id`: the Confluence entry's cloud id, taken by the gateway.

Tokens come from the sandbox's flow (no callback port), for a grant with a Jira
scope too, so that `accessible-resources` lists two entries with one id.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sandbox_driver import DEFAULT_SCOPES, Flow

from kit.config import ClientConfig, load
from kit.confluence import Site, accessible_resources
from kit.course.checks import ALL_CORRECT
from kit.course.checks.cloud_id import picked
from kit.store import TokenStore
from kit.tokens import TokenSet


@pytest.fixture
def config(atlassian_flow: Flow) -> ClientConfig:
    return load(env_file=None, environ={}, sandbox_url=atlassian_flow.url)


@pytest.fixture
def store(atlassian_flow: Flow, tmp_path: Path) -> TokenStore:
    body = atlassian_flow.tokens(scope=DEFAULT_SCOPES + " read:jira-work")
    store = TokenStore(tmp_path / ".tokens" / "t.json")
    store.save(TokenSet.from_response(body))
    return store


@pytest.fixture
def sites(config: ClientConfig, store: TokenStore) -> list[Site]:
    found = accessible_resources(config, store)
    assert [site.products for site in found] == [("confluence",), ("jira",)]
    return found


def test_the_confluence_entrys_id_is_correct(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    check = picked(sites[0].cloud_id, sites, config, store)

    assert check.verdict == ALL_CORRECT, str(check)
    assert "answered 200" in str(check)


def test_the_starter_value_is_not_done(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    check = picked(..., sites, config, store)

    assert not check.ok
    assert "`cloud_id` in the cell above: it is still `...`" in str(check)


def test_a_whole_entry_says_to_keep_its_cloud_id(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    check = picked(sites[0], sites, config, store)

    assert "keep its `.cloud_id`" in str(check)


def test_the_sites_url_is_not_its_id(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    check = picked(sites[0].url, sites, config, store)

    assert not check.ok
    assert "the site's URL or name" in str(check)


def test_an_unknown_id_is_refused_by_the_gateway(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    check = picked("0000-not-a-cloud-id", sites, config, store)

    assert not check.ok
    assert "none of the ids in `sites`" in str(check)
    assert "The gateway refused it: The gateway knows no such route" in str(check)


def test_an_id_listed_only_for_jira_asks_for_the_confluence_entry(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    jira_only = [site for site in sites if "jira" in site.products]

    check = picked(jira_only[0].cloud_id, jira_only, config, store)

    assert "whose `scopes` are Confluence's, not Jira's" in str(check)


def test_a_value_that_is_no_string_gets_a_hint(
    sites: list[Site], config: ClientConfig, store: TokenStore
) -> None:
    assert "keep the `cloud_id` string" in str(picked(42, sites, config, store))

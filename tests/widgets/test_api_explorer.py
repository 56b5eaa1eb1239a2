"""The API explorer: scope sets against the grant, preflight, paging, the 401."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import assert_shows_none_of, stored_secrets

from kit.confluence import Confluence
from kit.course import Course
from kit.widgets import ApiExplorer

CLASSIC_ONLY = (
    "read:confluence-content.all",
    "read:confluence-space.summary",
    "search:confluence",
    "offline_access",
)
V2_SPACES = "v2 GET /wiki/api/v2/spaces"
V2_PAGE = "v2 GET /wiki/api/v2/pages/{id}"
V1_SEARCH = "v1 GET /wiki/rest/api/search"


@pytest.fixture
def confluence(course: Course) -> Iterator[Confluence]:
    """Confluence with the course's scopes, granular and classic."""
    course.sign_in()
    with course.confluence() as site:
        yield site


@pytest.fixture
def classic_confluence(course: Course) -> Iterator[Confluence]:
    """Confluence with a token that holds classic scopes only."""
    course.sign_in(CLASSIC_ONLY)
    with course.confluence() as site:
        yield site


def ids(explorer: ApiExplorer) -> list[str]:
    assert explorer.page is not None
    return [
        str(item.get("id") or item["content"]["id"]) for item in explorer.page.results
    ]


def test_the_dropdown_offers_the_course_operations_labelled_with_their_keys(
    confluence: Confluence,
) -> None:
    explorer = ApiExplorer(confluence)

    labels = [text for text, _ in explorer.dropdown.options]

    assert f"v2 spaces: {V2_SPACES}" in labels
    assert f"v1 search: {V1_SEARCH}" in labels
    assert not any("/me" in text for text in labels)
    assert explorer.dropdown.value == V1_SEARCH


def test_each_scope_set_is_ticked_against_the_granted_scopes(
    confluence: Confluence,
) -> None:
    explorer = ApiExplorer(confluence)

    assert "✓ search:confluence" in explorer.scopes_html.value
    assert "✗ read:content-details:confluence" in explorer.scopes_html.value
    assert "The token&#x27;s scopes reach it." in explorer.preflight_html.value
    assert explorer.cql.layout.display == ""
    assert explorer.path_id.layout.display == "none"


def test_a_v2_call_with_a_classic_only_token_is_warned_of_before_calling(
    classic_confluence: Confluence,
) -> None:
    explorer = ApiExplorer(classic_confluence)

    explorer.dropdown.value = V2_SPACES

    assert "kit-preflight" in explorer.preflight_html.value
    assert "add <code>read:space:confluence</code>" in explorer.preflight_html.value
    assert "✗ read:space:confluence" in explorer.scopes_html.value
    assert explorer.results_html.value == ""

    explorer.call_button.click()

    assert "ScopeError" in explorer.errors.value
    assert "The token lacks the scope this call needs." in explorer.errors.value
    assert explorer.exchange_view.exchange is None


def test_sent_anyway_the_gateways_401_is_shown_by_the_doctor(
    classic_confluence: Confluence,
) -> None:
    explorer = ApiExplorer(classic_confluence)
    explorer.dropdown.value = V2_SPACES

    explorer.send_anyway.value = True
    explorer.call_button.click()

    assert "ScopeError" in explorer.errors.value
    assert "401" in explorer.errors.value
    assert "scope does not match" in explorer.errors.value
    assert "401 Unauthorized" in explorer.exchange_view.summary.value
    assert classic_confluence.preflight


def test_next_page_follows_the_next_link_until_the_last_page(
    confluence: Confluence,
) -> None:
    explorer = ApiExplorer(confluence)
    explorer.limit.value = 2

    explorer.call_button.click()
    first = ids(explorer)
    explorer.next_button.click()
    second = ids(explorer)

    assert len(first) == 2 and len(second) == 2
    assert set(first).isdisjoint(second)
    assert "page 2, 2 result(s)" in explorer.status_html.value
    assert "200 OK" in explorer.status_html.value
    assert explorer.errors.value == ""
    while not explorer.next_button.disabled:
        explorer.next_button.click()
    assert "the last page" in explorer.status_html.value


def test_an_item_operation_takes_its_id_and_shows_one_row(
    confluence: Confluence,
) -> None:
    explorer = ApiExplorer(confluence)
    explorer.dropdown.value = V2_PAGE

    explorer.path_id.value = "131073"
    explorer.call_button.click()

    assert explorer.limit.layout.display == "none"
    assert "Engineering Handbook" in explorer.results_html.value
    assert "1 result(s), the last page" in explorer.status_html.value
    assert explorer.next_button.disabled


def test_a_missing_id_says_what_to_type(confluence: Confluence) -> None:
    explorer = ApiExplorer(confluence)
    explorer.dropdown.value = V2_PAGE

    explorer.call_button.click()

    assert "needs a <code>id</code>" in explorer.errors.value


def test_an_unknown_page_is_the_gateways_404_explained(
    confluence: Confluence,
) -> None:
    explorer = ApiExplorer(confluence)
    explorer.dropdown.value = V2_PAGE

    explorer.path_id.value = "999999"
    explorer.call_button.click()

    assert "ApiError" in explorer.errors.value
    assert "404" in explorer.exchange_view.summary.value


def test_the_explorer_shows_the_token_masked_and_never_its_value(
    confluence: Confluence, course: Course
) -> None:
    explorer = ApiExplorer(confluence)

    explorer.call_button.click()

    assert "Bearer eyJh…(masked)" in explorer.exchange_view.raw.value
    assert_shows_none_of(explorer, stored_secrets(course.store.path))


def test_granted_scopes_may_come_from_a_given_token_set(
    confluence: Confluence, course: Course
) -> None:
    tokens = course.sign_in(CLASSIC_ONLY)

    explorer = ApiExplorer(confluence, operations=[V2_SPACES], tokens=tokens)

    assert explorer.granted == tokens.scope
    assert "kit-preflight" in explorer.preflight_html.value

"""The authorization URL builder: scopes ticked, the URL, its notes and its lint."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from helpers import all_text

from kit.config import ClientConfig
from kit.widgets import AuthorizationUrlBuilder
from kit.widgets.common import AMBER, RED


def codes(builder: AuthorizationUrlBuilder) -> set[str]:
    return {finding.code for finding in builder.findings}


def query(builder: AuthorizationUrlBuilder) -> dict[str, list[str]]:
    return parse_qs(urlsplit(builder.url).query)


def test_the_builder_starts_with_the_course_scopes_and_nothing_to_fix(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)

    assert builder.url.startswith(config.hosts.auth_url + "/authorize?")
    assert builder.request is not None
    assert builder.url == builder.request.url
    assert "offline_access" in query(builder)["scope"][0].split()
    assert builder.findings == []
    assert "No problems found." in builder.lint_html.value
    assert builder.errors.value == ""


def test_classic_and_granular_scopes_sit_in_their_own_tabs(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)

    classic, granular = builder.tabs.children

    assert builder.tabs.titles == ("Classic", "Granular")
    assert "read:confluence-content.all" in all_text(classic)
    assert "read:page:confluence" in all_text(granular)
    assert "read:page:confluence" not in all_text(classic)


def test_unticking_offline_access_makes_the_lint_warn_of_no_refresh_token(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)

    builder.offline_access.value = False

    assert "offline_access" not in query(builder)["scope"][0].split()
    assert "no-offline-access" in codes(builder)
    assert "no-offline-access" in builder.lint_html.value
    assert AMBER in builder.lint_html.value


def test_unticking_audience_and_prompt_drops_them_from_the_url_and_warns(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)

    builder.audience.value = False
    builder.prompt.value = False

    assert "audience" not in query(builder)
    assert "prompt" not in query(builder)
    assert {"missing-audience", "missing-prompt"} <= codes(builder)
    assert "(missing)" in builder.explanation_html.value


def test_ticking_a_scope_updates_url_explanation_and_lint_at_once(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config, scopes=("read:page:confluence",))
    assert "no-offline-access" in codes(builder)

    builder.checkboxes["read:confluence-content.all"].value = True
    builder.checkboxes["offline_access"].value = True

    scope = query(builder)["scope"][0].split()
    assert {"read:confluence-content.all", "offline_access"} <= set(scope)
    assert "read:confluence-content.all" in builder.explanation_html.value
    assert builder.request is not None
    assert "read:confluence-content.all" in builder.request.scopes
    assert "no-offline-access" not in codes(builder)


def test_the_state_stays_while_editing_and_new_state_makes_a_fresh_one(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)
    assert builder.request is not None
    first = builder.request.state

    builder.checkboxes["read:me"].value = False
    kept = builder.request.state
    builder.new_state_button.click()

    assert kept == first
    assert builder.request.state != first
    assert query(builder)["state"] == [builder.request.state]


def test_the_state_is_in_no_widget_and_the_url_shows_masked(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)
    assert builder.request is not None
    state = builder.request.state

    text = all_text(builder)

    assert state not in text
    assert "href=" not in builder.url_html.value
    assert "state=&lt;masked " in builder.url_html.value
    assert "CallbackPanel" in builder.url_html.value


def test_operations_the_scopes_cannot_reach_are_an_error_of_the_lint(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(
        config,
        scopes=("read:confluence-content.all", "offline_access"),
        operations=("v2 pages",),
    )

    assert "scopes-cannot-reach" in codes(builder)
    assert RED in builder.lint_html.value
    assert "read:page:confluence" in builder.lint_html.value

    builder.checkboxes["read:page:confluence"].value = True

    assert "scopes-cannot-reach" not in codes(builder)


def test_a_redirect_uri_other_than_the_registered_one_is_an_error(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(
        config, registered_redirect_uri=config.redirect_uri + "/"
    )

    assert "redirect-uri-mismatch" in codes(builder)
    assert "trailing slash" in builder.lint_html.value


def test_no_scope_at_all_shows_the_doctors_words_and_no_url(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config)

    for box in builder.checkboxes.values():
        box.value = False

    assert builder.url == ""
    assert "No URL yet" in builder.url_html.value
    assert "kit-diagnosis" in builder.errors.value
    assert "No scope is ticked" in builder.errors.value

    builder.checkboxes["read:me"].value = True

    assert builder.errors.value == ""
    assert builder.url


def test_an_unknown_operation_is_shown_as_the_catalogues_refusal(
    config: ClientConfig,
) -> None:
    builder = AuthorizationUrlBuilder(config, operations=("v2 pagez",))

    assert "CatalogueError" in builder.errors.value
    assert "v2 pages" in builder.errors.value

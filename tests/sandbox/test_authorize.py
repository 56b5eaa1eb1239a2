"""The sandbox's `GET /authorize`: which requests get an error page, which go back to
the app with an error, and which reach the consent page (security-cases 2-13, 16-21;
facts 1.1 and 1.4), in both profiles.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from authorize_support import (
    PORTLESS_LOOPBACK_APP,
    PUBLIC_APP,
    QUERY_APP,
    TWO_URI_APP,
    WEB_APP,
    Page,
    SandboxPool,
    assert_error_page,
    assert_redirect_error,
    assert_redirect_to,
    read_page,
)
from sandbox_driver import Flow

from kit.sandbox import SANDBOX_REDIRECT_URI

CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    sandboxes = SandboxPool()
    yield sandboxes
    sandboxes.stop_all()


@pytest.fixture
def browser(pool: SandboxPool, profile: str) -> Iterator[Flow]:
    """The module's sandbox of the test's profile, driven with a fresh session."""
    with requests.Session() as http:
        yield Flow(pool.get(profile), http)


@pytest.fixture
def atlassian_browser(pool: SandboxPool) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(pool.get("atlassian"), http)


@pytest.fixture
def rfc_browser(pool: SandboxPool) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(pool.get("rfc"), http)


def assert_consent_page(response: requests.Response) -> Page:
    assert response.status_code == 200, response.text[:300]
    page = read_page(response)
    page.one("form", action="/authorize/consent")
    return page


def raw_authorize(flow: Flow, query: str) -> requests.Response:
    """GET /authorize with a query string sent exactly as written."""
    return flow.http.get(f"{flow.url}/authorize?{query}", allow_redirects=False)


# Case 2: client_id


@pytest.mark.parametrize("client_id", [None, "", "no-such-client"])
def test_a_missing_or_unknown_client_id_gets_an_error_page_and_no_redirect(
    browser: Flow, client_id: str | None
) -> None:
    answer = browser.authorize(client_id=client_id)

    assert_error_page(answer, "unauthorized_client")


def test_the_error_page_names_the_unknown_client(browser: Flow) -> None:
    answer = browser.authorize(client_id="no-such-client")

    assert_error_page(
        answer, "Unknown client: no-such-client", "Fix the authorization URL"
    )


# Cases 3-5: redirect_uri is matched as an exact string


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example/cb",
        "https://app.example.com/cb/",
        "https://APP.example.com/cb",
        "https://app.example.com/CB",
        "https://app.example.com/cb/x",
        "https://app.example.com/cb/..%2Fevil",
        "https://app.example.com%2Fcb",
        "https://app.example.com/cb%2F",
        "https://app.example.com/cb/%252e%252e/evil",
        "https://app.example.com@evil.example/cb",
        "https://app.example.com/cb?a=1",
        "https://app.example.com/cb?",
        "https://app.example.com/cb#f",
        "https://app.example.com:443/cb",
        "http://app.example.com/cb",
        " https://app.example.com/cb",
        "https://app.example.com/cb?code=attackercode",
    ],
)
def test_a_redirect_uri_that_is_not_the_registered_string_gets_an_error_page(
    browser: Flow, redirect_uri: str
) -> None:
    answer = browser.authorize(client_id=WEB_APP.client_id, redirect_uri=redirect_uri)

    assert_error_page(
        answer,
        "unauthorized_client",
        f"redirect_uri is not registered for client: {redirect_uri}",
    )


def test_a_registered_uri_with_a_query_keeps_it_and_gets_one_code_appended(
    browser: Flow,
) -> None:
    registered = QUERY_APP.redirect_uris[0]
    page = browser.authorize(client_id=QUERY_APP.client_id, redirect_uri=registered)

    answer = browser.consent(page)

    params = assert_redirect_to(answer, registered)
    assert params["tenant"] == "7"
    assert params["code"]
    assert params["state"] == "state-1234"


# Case 6: loopback ports


def test_atlassian_refuses_a_loopback_uri_on_another_port(
    atlassian_browser: Flow,
) -> None:
    answer = atlassian_browser.authorize(redirect_uri="http://127.0.0.1:9999/callback")

    assert_error_page(answer, "redirect_uri is not registered for client")


@pytest.mark.parametrize(
    ("client_id", "redirect_uri"),
    [
        (None, "http://127.0.0.1:9999/callback"),
        (None, "http://127.0.0.1/callback"),
        (PORTLESS_LOOPBACK_APP.client_id, "http://127.0.0.1:5000/cb"),
    ],
)
def test_rfc_lets_a_loopback_uri_differ_only_in_its_port(
    rfc_browser: Flow, client_id: str | None, redirect_uri: str
) -> None:
    overrides = {"client_id": client_id} if client_id else {}
    page = rfc_browser.authorize(redirect_uri=redirect_uri, **overrides)

    answer = rfc_browser.consent(page)

    assert assert_redirect_to(answer, redirect_uri)["code"]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:9999/callback",
        "http://127.0.0.1:9999/callback/",
        "http://127.0.0.1:9999/callback?",
        "HTTP://127.0.0.1:9999/callback",
        "https://127.0.0.1:9999/callback",
        "http://127.0.0.1:99999/callback",
        "http://127.0.0.1:0/callback",
        "http://127.0.0.1:9999@evil.example/callback",
        "http://127.0.0.2:8765/callback",
    ],
)
def test_rfc_still_refuses_a_loopback_uri_that_differs_in_more_than_the_port(
    rfc_browser: Flow, redirect_uri: str
) -> None:
    answer = rfc_browser.authorize(redirect_uri=redirect_uri)

    assert_error_page(answer, "redirect_uri is not registered for client")


# Case 7: redirect_uri omitted


def test_atlassian_refuses_an_authorization_request_without_redirect_uri(
    atlassian_browser: Flow,
) -> None:
    answer = atlassian_browser.authorize(redirect_uri=None)

    assert_error_page(answer, "redirect_uri is missing")


def test_rfc_uses_the_single_registered_uri_when_redirect_uri_is_omitted(
    rfc_browser: Flow,
) -> None:
    page = rfc_browser.authorize(redirect_uri=None)

    answer = rfc_browser.consent(page)

    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["code"]


def test_an_omitted_redirect_uri_is_refused_when_the_app_registered_two(
    browser: Flow,
) -> None:
    answer = browser.authorize(client_id=TWO_URI_APP.client_id, redirect_uri=None)

    assert_error_page(answer, "redirect_uri is missing")


# Cases 8-9: response_type


def test_a_missing_response_type_goes_back_to_the_app_as_invalid_request(
    browser: Flow,
) -> None:
    answer = browser.authorize(response_type=None)

    assert_redirect_error(browser, answer, "invalid_request")


@pytest.mark.parametrize("response_type", ["token", "tokenn", "CODE", "code token"])
def test_a_response_type_other_than_code_goes_back_as_unsupported_response_type(
    browser: Flow, response_type: str
) -> None:
    answer = browser.authorize(response_type=response_type)

    assert_redirect_error(browser, answer, "unsupported_response_type")


# Case 10: repeated parameters


@pytest.mark.parametrize("name", ["client_id", "redirect_uri", "state"])
def test_a_repeated_client_id_redirect_uri_or_state_gets_an_error_page(
    browser: Flow, name: str
) -> None:
    params = browser.authorize_params()
    params[name] = [params[name], params[name]]

    answer = browser.http.get(
        f"{browser.url}/authorize", params=params, allow_redirects=False
    )

    assert_error_page(answer, f"{name} is repeated")


@pytest.mark.parametrize(
    "name", ["response_type", "scope", "code_challenge", "code_challenge_method"]
)
def test_another_repeated_parameter_goes_back_to_the_app_as_invalid_request(
    browser: Flow, name: str
) -> None:
    params = browser.authorize_params(code_challenge=CHALLENGE)
    params["code_challenge_method"] = "S256"
    params[name] = [params[name], params[name]]

    answer = browser.http.get(
        f"{browser.url}/authorize", params=params, allow_redirects=False
    )

    params_back = assert_redirect_error(browser, answer, "invalid_request")
    assert params_back["error_description"] == f"{name} is repeated"


def test_atlassian_also_refuses_a_repeated_audience(atlassian_browser: Flow) -> None:
    params = atlassian_browser.authorize_params()
    params["audience"] = ["api.atlassian.com", "api.atlassian.com"]

    answer = atlassian_browser.http.get(
        f"{atlassian_browser.url}/authorize", params=params, allow_redirects=False
    )

    assert_redirect_error(atlassian_browser, answer, "invalid_request")


def test_rfc_ignores_a_repeated_audience_as_an_unknown_parameter(
    rfc_browser: Flow,
) -> None:
    params = rfc_browser.authorize_params()
    params["audience"] = ["api.atlassian.com", "elsewhere"]

    answer = rfc_browser.http.get(
        f"{rfc_browser.url}/authorize", params=params, allow_redirects=False
    )

    assert_consent_page(answer)


# Case 11: parameters sent with no value count as omitted


def test_an_empty_scope_goes_back_to_the_app_as_invalid_scope(browser: Flow) -> None:
    answer = browser.authorize(scope="")

    assert_redirect_error(browser, answer, "invalid_scope")


def test_an_empty_value_does_not_count_as_a_repeat(browser: Flow) -> None:
    query = (
        "audience=api.atlassian.com&client_id=pinecone-reader-sandbox"
        "&scope=read%3Ame&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
        "&response_type=code&response_type=&state=s&state=&prompt=consent&foo="
    )

    answer = raw_authorize(browser, query)

    assert_consent_page(answer)


def test_an_empty_state_counts_as_no_state(browser: Flow) -> None:
    page = browser.authorize(state="")

    answer = browser.consent(page)

    assert "state" not in assert_redirect_to(answer, SANDBOX_REDIRECT_URI)


def test_an_empty_client_id_counts_as_no_client_id(browser: Flow) -> None:
    answer = browser.authorize(client_id="")

    assert_error_page(answer, "client_id is missing")


# Case 12: unknown parameters are ignored


def test_an_unknown_parameter_is_ignored_and_the_flow_succeeds(browser: Flow) -> None:
    page = browser.authorize(extra="foobar")

    answer = browser.consent(page)

    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["code"]


# Case 13 and facts 1.4: scopes the app has not configured


def test_rfc_sends_a_scope_the_app_lacks_back_as_invalid_scope_with_the_state(
    rfc_browser: Flow,
) -> None:
    answer = rfc_browser.authorize(scope="nonexistent", state="foo")

    params = assert_redirect_error(rfc_browser, answer, "invalid_scope", state="foo")
    assert params["error_description"] == "unknown scope: nonexistent"


def test_atlassian_shows_its_consent_page_error_for_a_scope_the_app_lacks(
    atlassian_browser: Flow,
) -> None:
    answer = atlassian_browser.authorize(
        scope="read:page:confluence nonexistent write:space:confluence"
    )

    assert_error_page(
        answer,
        "This app has requested scopes that have not been added to the app. "
        "Configure the app at https://developer.atlassian.com/apps and add the "
        "following scopes to the app: nonexistent, write:space:confluence.",
    )


@pytest.mark.parametrize(
    "scope",
    ['read:me "quoted"', "read:me back\\slash", "read:me\tread:page:confluence"],
)
def test_a_scope_with_characters_rfc_6749_forbids_goes_back_as_invalid_scope(
    browser: Flow, scope: str
) -> None:
    answer = browser.authorize(scope=scope)

    assert_redirect_error(browser, answer, "invalid_scope")


# Facts 1.1: the documented parameters


@pytest.mark.parametrize("space", ["%20", "+"])
def test_scopes_separated_by_percent_20_or_plus_are_read_alike(
    browser: Flow, space: str
) -> None:
    query = (
        "audience=api.atlassian.com&client_id=pinecone-reader-sandbox"
        f"&scope=read%3Apage%3Aconfluence{space}read%3Ame{space}offline_access"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback"
        "&state=s&response_type=code&prompt=consent"
    )

    page = assert_consent_page(raw_authorize(browser, query))

    listed = {code.text for code in page.all("code")}
    assert listed == {"read:page:confluence", "read:me", "offline_access"}


def test_offline_access_needs_no_configuring_in_the_console(browser: Flow) -> None:
    assert "offline_access" not in WEB_APP.scopes

    answer = browser.authorize(
        client_id=WEB_APP.client_id,
        redirect_uri=WEB_APP.redirect_uris[0],
        scope="read:page:confluence offline_access",
    )

    assert_consent_page(answer)


@pytest.mark.parametrize("prompt", [None, "none", "login"])
def test_prompt_is_not_checked_and_the_consent_page_shows_anyway(
    browser: Flow, prompt: str | None
) -> None:
    answer = browser.authorize(prompt=prompt)

    assert_consent_page(answer)


# Case 16: no state


def test_without_state_the_code_comes_back_without_state(browser: Flow) -> None:
    page = browser.authorize(state=None)

    answer = browser.consent(page)

    params = assert_redirect_to(answer, SANDBOX_REDIRECT_URI)
    assert params["code"]
    assert "state" not in params


def test_without_state_an_error_comes_back_without_state(browser: Flow) -> None:
    answer = browser.authorize(state=None, response_type="token")

    assert_redirect_error(browser, answer, "unsupported_response_type", state=None)


# Cases 19-20: PKCE


@pytest.mark.parametrize(
    ("method", "challenge"),
    [
        ("plain", CHALLENGE),
        (None, CHALLENGE),
        ("S512", CHALLENGE),
        ('S256"\\', CHALLENGE),
        ("S256", CHALLENGE[:-1]),
        ("S256", CHALLENGE + "A"),
        ("S256", "+" + CHALLENGE[1:]),
        ("S256", "/" + CHALLENGE[1:]),
        ("S256", CHALLENGE[:-1] + "="),
        ("S256", CHALLENGE + "\n"),
    ],
    ids=[
        "plain",
        "no-method",
        "S512",
        "method-with-quote-and-backslash",
        "42-chars",
        "44-chars",
        "plus",
        "slash",
        "padding",
        "trailing-newline",
    ],
)
def test_rfc_sends_a_bad_challenge_or_method_back_as_invalid_request(
    rfc_browser: Flow, method: str | None, challenge: str
) -> None:
    answer = rfc_browser.authorize(
        code_challenge=challenge, code_challenge_method=method
    )

    assert_redirect_error(rfc_browser, answer, "invalid_request")


def test_rfc_accepts_an_s256_challenge_and_issues_a_code(rfc_browser: Flow) -> None:
    page = rfc_browser.authorize(
        code_challenge=CHALLENGE, code_challenge_method="S256", state="pkce"
    )

    answer = rfc_browser.consent(page)

    params = assert_redirect_to(answer, SANDBOX_REDIRECT_URI)
    assert params["code"]
    assert params["state"] == "pkce"


@pytest.mark.parametrize(("method", "challenge"), [("plain", "x"), ("S512", "y")])
def test_atlassian_ignores_code_challenge_whatever_it_holds(
    atlassian_browser: Flow, method: str, challenge: str
) -> None:
    answer = atlassian_browser.authorize(
        code_challenge=challenge, code_challenge_method=method
    )

    assert_consent_page(answer)


def test_rfc_requires_a_code_challenge_from_a_public_client(rfc_browser: Flow) -> None:
    answer = rfc_browser.authorize(client_id=PUBLIC_APP.client_id)

    params = assert_redirect_error(rfc_browser, answer, "invalid_request")
    assert params["error_description"] == (
        "code_challenge is required for a public client"
    )


def test_rfc_shows_consent_to_a_public_client_that_sends_a_challenge(
    rfc_browser: Flow,
) -> None:
    answer = rfc_browser.authorize(
        client_id=PUBLIC_APP.client_id,
        code_challenge=CHALLENGE,
        code_challenge_method="S256",
    )

    assert_consent_page(answer)


def test_a_confidential_client_may_leave_the_challenge_out(browser: Flow) -> None:
    answer = browser.authorize()

    assert_consent_page(answer)


# Case 21: audience


@pytest.mark.parametrize("audience", [None, "api.example.com", "API.atlassian.com"])
def test_atlassian_shows_an_error_page_when_audience_is_not_api_atlassian_com(
    atlassian_browser: Flow, audience: str | None
) -> None:
    answer = atlassian_browser.authorize(audience=audience)

    assert_error_page(answer, "audience must be api.atlassian.com")


@pytest.mark.parametrize("audience", [None, "api.example.com"])
def test_rfc_ignores_audience_as_an_unknown_parameter(
    rfc_browser: Flow, audience: str | None
) -> None:
    answer = rfc_browser.authorize(audience=audience)

    assert_consent_page(answer)


def test_atlassian_accepts_a_missing_audience_once_require_audience_is_off(
    atlassian_flow: Flow,
) -> None:
    atlassian_flow.sandbox.configure(require_audience=False)

    answer = atlassian_flow.authorize(audience=None)

    assert_consent_page(answer)


# The order of the checks


def test_an_unknown_client_wins_over_every_other_mistake(browser: Flow) -> None:
    answer = browser.authorize(
        client_id="no-such-client",
        redirect_uri="https://evil.example/cb",
        response_type="token",
        scope="",
    )

    assert_error_page(answer, "Unknown client")


def test_an_unregistered_redirect_uri_wins_over_a_bad_response_type(
    browser: Flow,
) -> None:
    answer = browser.authorize(
        redirect_uri="https://evil.example/cb", response_type="token"
    )

    assert_error_page(answer, "redirect_uri is not registered")

"""The sandbox's consent page and its answers: what the page shows and how it is
protected, how Accept and Cancel come back to the app, and the codes Accept mints
(security-cases 1, 14, 15, 17, 18, 22-25; facts 1.3 and 1.4), in both profiles.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import pytest
import requests
from authorize_support import (
    HOSTILE_APP,
    HOSTILE_NAME,
    JIRA_APP,
    PAGE_TAGS,
    WEB_APP,
    Page,
    SandboxPool,
    assert_error_page,
    assert_iss,
    assert_page_headers,
    assert_redirect_error,
    assert_redirect_to,
    consent_id_of,
    read_page,
)
from sandbox_driver import DEFAULT_SCOPES, START_TIME, Flow

import kit.sandbox
from kit.sandbox import SANDBOX_REDIRECT_URI
from kit.sandbox.minting import Minter
from kit.sandbox.scenario import ARCHIVE, PINECONE, SANDBOX_APP_SCOPES, SITES
from kit.sandbox.store import new_key

SCOPES_JSON = Path(kit.sandbox.__file__).parent / "data" / "scopes.json"
HOSTILE_STATES = [
    pytest.param('"><foo>bar_baz(2)far</foo>', id="markup"),
    pytest.param("a=b&c", id="ampersand"),
    pytest.param("ü😀", id="non-ascii"),
    pytest.param("x" * 1024, id="1024-chars"),
    pytest.param("100%41+1 /?#", id="percent-plus-slash"),
]


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
def rfc_browser(pool: SandboxPool) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(pool.get("rfc"), http)


@pytest.fixture
def atlassian_browser(pool: SandboxPool) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(pool.get("atlassian"), http)


def post_consent(
    flow: Flow, form: dict[str, str] | list[tuple[str, str]], **headers: str
) -> requests.Response:
    """POST the consent form as written, with extra headers (`Sec_Fetch_Site=`)."""
    sent = {name.replace("_", "-"): value for name, value in headers.items()}
    return flow.http.post(
        f"{flow.url}/authorize/consent",
        data=form,
        headers=sent,
        allow_redirects=False,
    )


def accept_form(page: Page, site: str = PINECONE.cloud_id) -> dict[str, str]:
    return {"consent_id": consent_id_of(page), "decision": "accept", "site": site}


def random_part_of(code: str) -> bytes:
    """The random `jti` inside a code (a JWT underneath; clients treat it as opaque)."""
    payload = code.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    jti = str(claims["jti"])
    return base64.urlsafe_b64decode(jti + "=" * (-len(jti) % 4))


# What the consent page shows (facts 1.3)


def test_the_consent_page_names_the_app(browser: Flow) -> None:
    answer = browser.authorize()

    page = read_page(answer)
    assert answer.status_code == 200
    assert "Pinecone Reader (sandbox)" in page.one("h1").text
    assert "Pinecone Reader (sandbox)" in page.one("title").text


def test_each_confluence_scope_is_listed_in_the_plain_words_of_scopes_json(
    browser: Flow,
) -> None:
    described = json.loads(SCOPES_JSON.read_text())["scopes"]
    requested = [s for s in DEFAULT_SCOPES.split() if s.endswith(":confluence")]

    page = read_page(browser.authorize())

    items = {item.text for item in page.all("li")}
    assert requested
    for scope in requested:
        assert f"{scope}: {described[scope]}" in items


def test_scopes_outside_confluence_are_described_in_words_too(browser: Flow) -> None:
    page = read_page(browser.authorize(scope="read:me offline_access"))

    items = sorted(item.text for item in page.all("li"))

    assert len(items) == 2
    assert items[0].startswith("offline_access: ")
    assert items[1].startswith("read:me: ")
    assert all(len(item.split(": ", 1)[1].split()) >= 3 for item in items)


def test_every_scope_of_the_kit_app_has_a_description_that_is_not_its_name(
    browser: Flow,
) -> None:
    scopes = sorted(SANDBOX_APP_SCOPES)

    page = read_page(browser.authorize(scope=" ".join(scopes)))

    items = page.all("li")
    assert [item.text.split(": ", 1)[0] for item in items] == scopes
    assert all(len(item.text.split(": ", 1)[1].split()) >= 2 for item in items)


def test_the_site_picker_offers_each_of_the_users_confluence_sites(
    browser: Flow,
) -> None:
    page = read_page(browser.authorize())

    radios = page.all("input", type="radio", name="site")
    assert {radio.attrs["value"] for radio in radios} == {s.cloud_id for s in SITES}
    assert all("required" in radio.attrs for radio in radios)
    labels = " ".join(label.text for label in page.all("label"))
    assert PINECONE.url in labels
    assert ARCHIVE.url in labels


def test_a_jira_only_request_offers_only_the_site_that_runs_jira(
    browser: Flow,
) -> None:
    page = read_page(
        browser.authorize(
            client_id=JIRA_APP.client_id,
            redirect_uri=JIRA_APP.redirect_uris[0],
            scope="read:jira-work",
        )
    )

    radios = page.all("input", type="radio", name="site")
    assert [radio.attrs["value"] for radio in radios] == [PINECONE.cloud_id]


def test_accept_and_cancel_are_the_two_buttons_of_one_post_form(
    browser: Flow,
) -> None:
    page = read_page(browser.authorize())

    form = page.one("form")
    buttons = page.all("button")
    assert form.attrs["method"] == "post"
    assert form.attrs["action"] == "/authorize/consent"
    assert [(b.attrs["name"], b.attrs["value"], b.text) for b in buttons] == [
        ("decision", "accept", "Accept"),
        ("decision", "cancel", "Cancel"),
    ]
    assert all(b.attrs["type"] == "submit" and b.form == 0 for b in buttons)
    assert page.one("input", name="consent_id").form == 0
    assert all(radio.form == 0 for radio in page.all("input", name="site"))


def test_the_page_loads_nothing_and_runs_no_script(browser: Flow) -> None:
    page = read_page(browser.authorize())

    assert page.tags <= PAGE_TAGS
    assert not [e for e in page.elements if "src" in e.attrs or "href" in e.attrs]


def test_a_hostile_app_name_is_shown_as_text(browser: Flow) -> None:
    answer = browser.authorize(
        client_id=HOSTILE_APP.client_id, redirect_uri=HOSTILE_APP.redirect_uris[0]
    )

    page = read_page(answer)
    assert page.tags <= PAGE_TAGS
    assert HOSTILE_NAME in page.one("h1").text
    assert HOSTILE_NAME in page.one("title").text


# Accept and Cancel (case 14, case 24, facts 1.4)


def test_accept_redirects_with_a_code_and_the_state(browser: Flow) -> None:
    page = browser.authorize(state="xyz")

    answer = browser.consent(page)

    params = assert_redirect_to(answer, SANDBOX_REDIRECT_URI)
    assert set(params) - {"iss"} == {"code", "state"}
    assert params["state"] == "xyz"
    assert_iss(params, browser.sandbox)


def test_cancel_redirects_with_access_denied_and_the_state(browser: Flow) -> None:
    page = browser.authorize(state="xyz")

    answer = browser.consent(page, decision="cancel")

    params = assert_redirect_error(browser, answer, "access_denied", state="xyz")
    assert params["error_description"] == "User did not authorize the request"


@pytest.mark.parametrize("decision", ["accept", "cancel"])
def test_the_consent_answer_is_a_302_never_a_307(browser: Flow, decision: str) -> None:
    page = browser.authorize()

    answer = browser.consent(page, decision=decision)

    assert answer.status_code == 302


def reachable_sites(flow: Flow, access_token: str) -> set[str]:
    answer = flow.api("/oauth/token/accessible-resources", access_token)
    assert answer.status_code == 200, answer.text
    return {resource["id"] for resource in answer.json()}


def test_accept_grants_the_picked_site_and_a_later_consent_adds_another(
    flow: Flow,
) -> None:
    # Consent on the archive site only.
    page = flow.authorize()
    code = assert_redirect_to(
        flow.consent(page, site=ARCHIVE.cloud_id), SANDBOX_REDIRECT_URI
    )["code"]
    token = flow.exchange(code).json()["access_token"]
    before = reachable_sites(flow, token)

    # Consent again, on the other site (facts 1.5).
    flow.consent(flow.authorize(), site=PINECONE.cloud_id)
    after = reachable_sites(flow, token)

    assert before == {ARCHIVE.cloud_id}
    assert after == {ARCHIVE.cloud_id, PINECONE.cloud_id}


# The consent form's protection (case 23)


def test_a_consent_post_without_the_consent_id_is_refused(browser: Flow) -> None:
    browser.authorize()

    answer = post_consent(browser, {"decision": "accept", "site": PINECONE.cloud_id})

    assert_error_page(answer, "The consent form could not be read.")


def test_a_consent_post_with_an_invented_consent_id_is_refused(browser: Flow) -> None:
    form = {"consent_id": "invented", "decision": "accept", "site": PINECONE.cloud_id}

    answer = post_consent(browser, form)

    assert_error_page(answer, "expired or was already answered")


def test_a_consent_id_answers_only_once(browser: Flow) -> None:
    form = accept_form(read_page(browser.authorize()))
    assert post_consent(browser, form).status_code == 302

    again = post_consent(browser, form)

    assert_error_page(
        again, "expired or was already answered", "Start again from the app."
    )


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://127.0.0.1:8765"},
        {"Origin": "null"},
        {"Origin": "null", "Sec_Fetch_Site": "cross-site"},
        {"Sec_Fetch_Site": "cross-site"},
        {"Sec_Fetch_Site": "same-site"},
    ],
)
def test_a_consent_post_from_another_site_is_refused_and_issues_no_code(
    browser: Flow, headers: dict[str, str]
) -> None:
    form = accept_form(read_page(browser.authorize()))

    answer = post_consent(browser, form, **headers)

    assert answer.status_code == 403
    assert "location" not in answer.headers
    assert "came from another site" in read_page(answer).text


def test_a_refused_cross_site_post_leaves_the_consent_to_the_real_user(
    browser: Flow,
) -> None:
    form = accept_form(read_page(browser.authorize()))
    post_consent(browser, form, Origin="https://evil.example")

    answer = post_consent(browser, form)

    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["code"]


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "<own>"},
        {"Origin": "<own>", "Sec_Fetch_Site": "same-origin"},
        {"Origin": "null", "Sec_Fetch_Site": "same-origin"},
        {"Sec_Fetch_Site": "same-origin"},
    ],
)
def test_a_consent_post_from_the_consent_page_itself_is_accepted(
    browser: Flow, headers: dict[str, str]
) -> None:
    form = accept_form(read_page(browser.authorize()))
    own = browser.url
    sent = {k: own if v == "<own>" else v for k, v in headers.items()}

    answer = post_consent(browser, form, **sent)

    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["code"]


@pytest.mark.parametrize(
    "tamper",
    [
        lambda form: [*form.items(), ("decision", "cancel")],
        lambda form: [*form.items(), ("consent_id", "other")],
        lambda form: {**form, "decision": "maybe"},
        lambda form: {k: v for k, v in form.items() if k != "decision"},
    ],
    ids=["decision-twice", "consent-id-twice", "unknown-decision", "no-decision"],
)
def test_a_malformed_consent_form_is_refused_and_the_consent_stays_open(
    browser: Flow, tamper: Callable[[dict[str, str]], Any]
) -> None:
    form = accept_form(read_page(browser.authorize()))

    refused = post_consent(browser, tamper(form))
    answer = post_consent(browser, form)

    assert_error_page(refused, "The consent form could not be read.")
    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["code"]


@pytest.mark.parametrize("site", [None, "", "no-such-site"])
def test_accept_without_a_valid_site_asks_for_one_and_keeps_the_consent_open(
    browser: Flow, site: str | None
) -> None:
    form = accept_form(read_page(browser.authorize()))
    bad = {k: v for k, v in form.items() if k != "site"}
    if site is not None:
        bad["site"] = site

    refused = post_consent(browser, bad)
    answer = post_consent(browser, form)

    assert_error_page(
        refused, "Choose a site before pressing Accept.", "Go back to the consent page"
    )
    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["code"]


def test_accept_on_a_site_the_page_did_not_offer_is_refused(browser: Flow) -> None:
    page = read_page(
        browser.authorize(
            client_id=JIRA_APP.client_id,
            redirect_uri=JIRA_APP.redirect_uris[0],
            scope="read:jira-work",
        )
    )

    answer = post_consent(browser, accept_form(page, site=ARCHIVE.cloud_id))

    assert_error_page(answer, "Choose a site before pressing Accept.")


def test_a_consent_page_expires_after_thirty_minutes(flow: Flow) -> None:
    early = accept_form(read_page(flow.authorize()))
    late = accept_form(read_page(flow.authorize()))

    # Answered one second before the deadline: accepted.
    flow.sandbox.clock.advance(seconds=30 * 60 - 1)
    in_time = post_consent(flow, early)
    # Answered on the deadline: refused.
    flow.sandbox.clock.advance(seconds=1)
    too_late = post_consent(flow, late)

    assert in_time.status_code == 302
    assert_error_page(too_late, "expired or was already answered")


# Security headers (case 22)


def test_the_consent_page_sends_the_security_headers(browser: Flow) -> None:
    answer = browser.authorize()

    assert answer.status_code == 200
    assert_page_headers(answer)


def test_an_error_page_sends_the_security_headers(browser: Flow) -> None:
    answer = browser.authorize(client_id="no-such-client")

    assert_error_page(answer)


@pytest.mark.parametrize("decision", ["accept", "cancel"])
def test_the_consent_redirects_send_the_security_headers(
    browser: Flow, decision: str
) -> None:
    answer = browser.consent(browser.authorize(), decision=decision)

    assert answer.status_code == 302
    assert_page_headers(answer)


def test_an_error_redirect_sends_the_security_headers(browser: Flow) -> None:
    answer = browser.authorize(response_type="token")

    assert answer.status_code == 302
    assert_page_headers(answer)


def test_a_refused_consent_post_sends_the_security_headers(browser: Flow) -> None:
    form = accept_form(read_page(browser.authorize()))

    answer = post_consent(browser, form, Origin="https://evil.example")

    assert answer.status_code == 403
    assert_page_headers(answer)


def test_a_cross_origin_get_of_the_consent_page_gets_no_cors_header(
    browser: Flow,
) -> None:
    params = browser.authorize_params()

    answer = browser.http.get(
        f"{browser.url}/authorize",
        params=params,
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )

    assert answer.status_code == 200
    assert_page_headers(answer)


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/authorize"), ("OPTIONS", "/authorize"), ("GET", "/authorize/consent")],
)
def test_a_wrong_method_gets_405_with_the_security_headers(
    browser: Flow, method: str, path: str
) -> None:
    answer = browser.http.request(
        method,
        f"{browser.url}{path}",
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    )

    assert answer.status_code == 405
    assert_page_headers(answer)


# State echo and escaping (cases 15, 17, 18)


@pytest.mark.parametrize("state", HOSTILE_STATES)
def test_accept_echoes_the_state_byte_for_byte_percent_encoded(
    browser: Flow, state: str
) -> None:
    page = browser.authorize(state=state)

    answer = browser.consent(page)

    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["state"] == state
    assert f"&state={quote(state, safe='')}" in answer.headers["location"]


@pytest.mark.parametrize("state", HOSTILE_STATES)
def test_cancel_and_error_redirects_echo_the_state_byte_for_byte(
    browser: Flow, state: str
) -> None:
    cancelled = browser.consent(browser.authorize(state=state), decision="cancel")

    refused = browser.authorize(state=state, response_type="token")

    assert_redirect_error(browser, cancelled, "access_denied", state=state)
    assert_redirect_error(browser, refused, "unsupported_response_type", state=state)


@pytest.mark.parametrize("state", HOSTILE_STATES)
def test_the_consent_page_never_shows_the_state(browser: Flow, state: str) -> None:
    answer = browser.authorize(state=state)

    page = read_page(answer)
    assert page.tags <= PAGE_TAGS
    assert state not in answer.text
    assert quote(state) not in answer.text


@pytest.mark.parametrize(
    ("overrides", "echoed"),
    [
        ({"client_id": '"><script>alert(1)</script>'}, '"><script>alert(1)</script>'),
        (
            {"redirect_uri": "https://evil.example/'><foo>x</foo>"},
            "https://evil.example/'><foo>x</foo>",
        ),
    ],
)
def test_an_error_page_shows_what_it_echoes_as_text(
    browser: Flow, overrides: dict[str, str], echoed: str
) -> None:
    answer = browser.authorize(**overrides)

    page = assert_error_page(answer, echoed)
    assert "<script>" not in answer.text
    assert "<foo>" not in answer.text
    assert page.tags <= PAGE_TAGS


def test_atlassians_scope_error_page_shows_the_unknown_scope_as_text(
    atlassian_browser: Flow,
) -> None:
    answer = atlassian_browser.authorize(scope="read:me <foo>bar</foo>")

    assert_error_page(answer, "add the following scopes to the app: <foo>bar</foo>.")
    assert "<foo>" not in answer.text


def test_a_state_of_8192_characters_is_echoed(browser: Flow) -> None:
    state = "s" * 8192

    answer = browser.consent(browser.authorize(state=state))

    assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["state"] == state


def test_a_state_over_8192_characters_gets_an_error_page(browser: Flow) -> None:
    answer = browser.authorize(state="s" * 8193)

    assert_error_page(answer, "state is longer than 8192 characters")


def test_a_state_of_64_kib_is_refused_without_a_redirect_or_a_server_error(
    browser: Flow,
) -> None:
    answer = browser.authorize(state="s" * 64 * 1024)
    after = browser.authorize()

    assert answer.status_code == 400
    assert "location" not in answer.headers
    assert after.status_code == 200


def test_a_state_holding_crlf_cannot_split_the_location_header(browser: Flow) -> None:
    state = "\r\nSet-Cookie: x=1"
    answer = browser.consent(browser.authorize(state=state))

    refused = browser.authorize(state=state, response_type="token")

    for response in (answer, refused):
        assert "set-cookie" not in response.headers
        assert "%0D%0ASet-Cookie%3A%20x%3D1" in response.headers["location"]
        assert "\r" not in response.headers["location"]
        assert assert_redirect_to(response, SANDBOX_REDIRECT_URI)["state"] == state


# Codes (case 1)


def test_ten_thousand_minted_codes_are_distinct_with_at_least_128_random_bits() -> None:
    minter = Minter(new_key(), "http://127.0.0.1")

    codes = [minter.code("client", START_TIME, 600) for _ in range(10_000)]

    randoms = [random_part_of(code) for code in codes]
    assert len(set(codes)) == len(set(randoms)) == 10_000
    bits = min(len(r) for r in randoms) * 8
    assert bits >= 128
    numbers = [int.from_bytes(r, "big") for r in randoms]
    share_of_ones = [
        sum((n >> bit) & 1 for n in numbers) / len(numbers) for bit in range(bits)
    ]
    assert all(0.45 < share < 0.55 for share in share_of_ones)


def test_codes_issued_over_http_are_distinct_with_at_least_128_random_bits(
    browser: Flow,
) -> None:
    codes = [browser.code() for _ in range(40)]

    randoms = [random_part_of(code) for code in codes]

    assert len(set(codes)) == len(set(randoms)) == 40
    assert all(len(r) * 8 >= 128 for r in randoms)


# RFC 9207 iss (case 25)


def test_rfc_metadata_advertises_iss_and_s256(rfc_browser: Flow) -> None:
    answer = rfc_browser.http.get(
        f"{rfc_browser.url}/.well-known/oauth-authorization-server"
    )

    metadata = answer.json()
    issuer = urlsplit(metadata["issuer"])
    assert answer.status_code == 200
    assert metadata["issuer"] == rfc_browser.url
    assert (issuer.query, issuer.fragment) == ("", "")
    assert metadata["authorization_endpoint"] == f"{rfc_browser.url}/authorize"
    assert metadata["authorization_response_iss_parameter_supported"] is True
    assert metadata["code_challenge_methods_supported"] == ["S256"]


def test_rfc_puts_the_metadata_issuer_on_success_cancel_and_error_redirects(
    rfc_browser: Flow,
) -> None:
    metadata_url = f"{rfc_browser.url}/.well-known/oauth-authorization-server"
    issuer = rfc_browser.http.get(metadata_url).json()["issuer"]

    answers = [
        rfc_browser.consent(rfc_browser.authorize()),
        rfc_browser.consent(rfc_browser.authorize(), decision="cancel"),
        rfc_browser.authorize(response_type="token"),
        rfc_browser.authorize(scope="nonexistent"),
    ]

    for answer in answers:
        assert assert_redirect_to(answer, SANDBOX_REDIRECT_URI)["iss"] == issuer


def test_atlassian_sends_no_iss_and_no_metadata(atlassian_browser: Flow) -> None:
    answers = [
        atlassian_browser.consent(atlassian_browser.authorize()),
        atlassian_browser.consent(atlassian_browser.authorize(), decision="cancel"),
        atlassian_browser.authorize(response_type="token"),
    ]

    metadata = atlassian_browser.http.get(
        f"{atlassian_browser.url}/.well-known/oauth-authorization-server"
    )

    for answer in answers:
        assert "iss" not in assert_redirect_to(answer, SANDBOX_REDIRECT_URI)
    assert metadata.status_code == 404


# Secrets stay out of the log


def test_the_sandbox_logs_neither_code_nor_state_nor_consent_id(
    browser: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = "state-that-must-not-be-logged"
    page = browser.authorize(state=state)
    consent_id = consent_id_of(read_page(page))

    code = assert_redirect_to(browser.consent(page), SANDBOX_REDIRECT_URI)["code"]

    server_side = [r for r in caplog.records if r.name.startswith(("kit", "uvicorn"))]
    logged = " ".join(f"{r.getMessage()} {r.args}" for r in server_side)
    for secret in (state, consent_id, code):
        assert secret not in logged


def test_web_app_consent_goes_to_its_own_https_callback(browser: Flow) -> None:
    page = browser.authorize(
        client_id=WEB_APP.client_id, redirect_uri=WEB_APP.redirect_uris[0]
    )

    answer = browser.consent(page)

    assert assert_redirect_to(answer, WEB_APP.redirect_uris[0])["code"]

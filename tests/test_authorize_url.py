"""`kit.authorize`: the authorization URL (facts 1.1, case 77), its strict parsing,
`explain`, every `lint` finding, and the URL followed on a running sandbox.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from oauthlib.oauth2 import WebApplicationClient
from sandbox_driver import DEFAULT_SCOPES, Flow, redirect_params

from kit.authorize import (
    LINT_RULES,
    AuthorizationRequest,
    build_authorization_url,
    code_challenge_for,
    describe_difference,
    estimate_state_bits,
    explain,
    fingerprint,
    lint,
    new_authorization_request,
    new_state,
    parse_authorization_url,
)
from kit.errors import ConfigError
from kit.sandbox import SANDBOX_CLIENT_ID, SANDBOX_REDIRECT_URI

AUTH = "https://auth.atlassian.com"
REDIRECT = "http://127.0.0.1:8765/callback"
SCOPES = ("read:page:confluence", "search:confluence", "offline_access")
GOOD_STATE = "Z6l3yH0aWJ2x0oQm5bq3n2Vv8y1dKf7r1sT4uX9cW0e"
OPERATIONS = ("v2 pages", "v1 search")
FACTS_1_1 = (
    "audience",
    "client_id",
    "scope",
    "redirect_uri",
    "state",
    "response_type",
    "prompt",
)


def _request(**changes: object) -> AuthorizationRequest:
    fields: dict[str, object] = {
        "auth_url": AUTH,
        "client_id": "pinecone-reader",
        "redirect_uri": REDIRECT,
        "scopes": SCOPES,
        "state": GOOD_STATE,
    }
    fields.update(changes)
    return AuthorizationRequest(**fields)  # type: ignore[arg-type]


GOOD_URL = _request().url


def _query(**raw: str | None) -> str:
    """GOOD_URL with parameters replaced by raw (already encoded) values, or dropped."""
    pairs = [piece.split("=", 1) for piece in urlsplit(GOOD_URL).query.split("&")]
    values = {name: value for name, value in pairs}
    values.update(raw)
    return "&".join(f"{k}={v}" for k, v in values.items() if v is not None)


def _url(base: str = f"{AUTH}/authorize", **raw: str | None) -> str:
    return f"{base}?{_query(**raw)}"


# Building the URL (facts 1.1, case 77)


def test_the_url_carries_every_parameter_of_facts_1_1_in_atlassians_order() -> None:
    url = _request().url

    names = [piece.split("=")[0] for piece in urlsplit(url).query.split("&")]

    assert url.startswith("https://auth.atlassian.com/authorize?")
    assert names == list(FACTS_1_1)
    assert "audience=api.atlassian.com" in url
    assert "response_type=code&prompt=consent" in url


def test_scopes_are_separated_by_an_encoded_space_not_a_plus() -> None:
    url = _request().url

    assert "scope=read:page:confluence%20search:confluence%20offline_access&" in url


def test_a_plus_and_an_encoded_space_between_scopes_decode_alike() -> None:
    with_plus = _url(scope="read:me+offline_access")
    with_space = _url(scope="read:me%20offline_access")

    assert parse_authorization_url(with_plus) == parse_authorization_url(with_space)


def test_a_plus_inside_a_value_is_encoded_so_it_stays_a_plus() -> None:
    request = _request(redirect_uri="https://app.example.com/a+b")

    assert "redirect_uri=https://app.example.com/a%2Bb&" in request.url
    assert parse_authorization_url(request.url)["redirect_uri"] == [
        "https://app.example.com/a+b"
    ]


def test_a_thousand_requests_have_unique_strong_states_and_s256_verifiers() -> None:
    requests_ = [
        new_authorization_request("app", REDIRECT, SCOPES, auth_url=AUTH, pkce=True)
        for _ in range(1000)
    ]

    states = [r.state for r in requests_]
    assert len(set(states)) == 1000
    for request in requests_:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", request.state)
        assert len(base64.urlsafe_b64decode(request.state + "=")) * 8 >= 128
        verifier = request.code_verifier
        assert verifier is not None
        assert re.fullmatch(r"[A-Za-z0-9._~-]{43,128}", verifier)
        oauthlib_challenge = WebApplicationClient("app").create_code_challenge(
            verifier, "S256"
        )
        params = parse_authorization_url(request.url)
        assert params["code_challenge"] == [oauthlib_challenge]
        assert params["code_challenge_method"] == ["S256"]
        assert params["redirect_uri"] == [REDIRECT]
        assert params["state"] == [request.state]
        assert "code_verifier" not in params


def test_new_state_gives_256_bits_of_url_safe_text() -> None:
    state = new_state()

    assert len(base64.urlsafe_b64decode(state + "=")) == 32
    assert estimate_state_bits(state) >= 128


def test_the_challenge_matches_rfc_7636_appendix_b() -> None:
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert code_challenge_for(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_build_authorization_url_returns_the_url_and_its_state() -> None:
    url, state = build_authorization_url(
        "app", REDIRECT, "read:me offline_access", auth_url=AUTH
    )

    assert parse_authorization_url(url)["state"] == [state]
    assert parse_authorization_url(url)["scope"] == ["read:me offline_access"]


def test_the_auth_host_comes_from_the_environment_or_defaults_to_atlassian(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = new_authorization_request("app", REDIRECT, SCOPES)
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", "http://127.0.0.1:8000")

    sandbox = new_authorization_request("app", REDIRECT, SCOPES)

    assert default.url.startswith("https://auth.atlassian.com/authorize?")
    assert sandbox.url.startswith("http://127.0.0.1:8000/authorize?")


def test_repeated_scopes_are_asked_for_once() -> None:
    request = new_authorization_request(
        "app", REDIRECT, "read:me read:me offline_access", auth_url=AUTH
    )

    assert request.scopes == ("read:me", "offline_access")


def test_plain_http_to_another_machine_is_refused() -> None:  # case 96
    with pytest.raises(ConfigError, match="clear text"):
        _request(auth_url="http://auth.example.com")


def test_plain_http_to_a_workshop_sandbox_is_allowed_only_when_asked() -> None:
    request = _request(auth_url="http://192.168.1.20:8000", allow_plain_http=True)

    assert request.url.startswith("http://192.168.1.20:8000/authorize?")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"auth_url": "https://auth.atlassian.com/authorize"}, "not a base URL"),
        ({"auth_url": "ftp://auth.atlassian.com"}, "base URL"),
        ({"redirect_uri": "/callback"}, "callback URL"),
        ({"redirect_uri": "http://127.0.0.1:99999/callback"}, "callback URL"),
        ({"redirect_uri": "http://127.0.0.1:8765/callback#top"}, "callback URL"),
        ({"scopes": ()}, "tuple of scope names"),
        ({"scopes": "read:me offline_access"}, "tuple of scope names"),
        ({"scopes": ("read:me offline_access",)}, "has no spaces"),
        ({"client_id": " "}, "`client_id` is empty"),
        ({"state": ""}, "`state` is empty"),
        (
            {"code_verifier": "v" * 43, "code_challenge": "not-the-challenge"},
            "not the S256 challenge",
        ),
    ],
)
def test_a_request_that_cannot_work_is_refused_with_the_fix(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        _request(**changes)


def test_the_repr_masks_the_state_and_the_verifier() -> None:
    request = _request(code_verifier="V" * 64)

    shown = repr(request) + str(request)

    assert GOOD_STATE not in shown
    assert "V" * 64 not in shown
    assert f"state=<masked {fingerprint(GOOD_STATE)}>" in shown
    assert "client_id='pinecone-reader'" in shown


# Parsing, round trip


@settings(max_examples=150, deadline=None)
@given(
    scopes=st.lists(
        st.text(
            st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=20
        ).filter(lambda s: s.split() == [s]),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    state=st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1).filter(
        str.strip
    ),
)
def test_building_then_parsing_a_url_gives_back_its_parameters(
    scopes: list[str], state: str
) -> None:
    request = _request(scopes=tuple(scopes), state=state)

    ours = parse_authorization_url(request.url)
    stdlib = parse_qs(urlsplit(request.url).query, strict_parsing=True)

    assert ours == {name: [value] for name, value in request.params.items()}
    assert stdlib == ours
    assert ours["scope"][0].split(" ") == scopes


@pytest.mark.parametrize(
    "query",
    ["state=%ZZ", "state=%FF", "state=a%00b", "state"],
    ids=["bad-escape", "not-utf8", "nul", "no-equals"],
)
def test_strict_parsing_refuses_what_a_lenient_parser_would_guess(query: str) -> None:
    with pytest.raises(ConfigError):
        parse_authorization_url(f"{AUTH}/authorize?client_id=a&{query}")


# explain


def test_explain_gives_one_plain_words_line_per_parameter() -> None:
    notes = explain(GOOD_URL)

    assert [note.name for note in notes] == list(FACTS_1_1)
    assert all(note.meaning for note in notes)
    assert "trailing `/`" in str(notes[3])


def test_explain_masks_the_state_and_lists_what_is_missing() -> None:
    notes = {note.name: note for note in explain(_url(audience=None))}

    assert notes["state"].value == f"<masked {fingerprint(GOOD_STATE)}>"
    assert notes["audience"].value is None
    assert str(notes["audience"]).startswith("audience = (missing):")


# lint


def test_a_good_url_has_no_finding() -> None:
    assert lint(GOOD_URL, registered_redirect_uri=REDIRECT, operations=OPERATIONS) == []


CRAFTED = {
    "unparseable-url": ("auth.atlassian.com/authorize?x=1", {}),
    "malformed-parameter": (GOOD_URL + "&consent", {}),
    "bad-percent-encoding": (_url(state="%ZZ" + GOOD_STATE), {}),
    "unencoded-character": (_url(redirect_uri="http://127.0.0.1:8765/a b"), {}),
    "insecure-auth-host": (_url("http://auth.example.com/authorize"), {}),
    "not-authorize-endpoint": (_url(f"{AUTH}/authorise"), {}),
    "fragment": (GOOD_URL + "#consent", {}),
    "duplicate-parameter": (GOOD_URL + "&prompt=consent", {}),
    "missing-parameter": (_url(client_id=None), {}),
    "response-type-not-code": (_url(response_type="token"), {}),
    "missing-audience": (_url(audience=None), {}),
    "wrong-audience": (_url(audience="auth.atlassian.com"), {}),
    "missing-prompt": (_url(prompt=None), {}),
    "wrong-prompt": (_url(prompt="login"), {}),
    "no-offline-access": (_url(scope="read:page:confluence"), {}),
    "literal-plus-in-scope": (_url(scope="read:me%2Boffline_access"), {}),
    "unknown-scope": (_url(scope="read:spaces:confluence%20offline_access"), {}),
    "plus-reads-as-space": (_url(client_id="pinecone+reader"), {}),
    "weak-state": (_url(state="state-1234"), {}),
    "secret-in-url": (GOOD_URL + "&client_secret=s3cr3t", {}),
    "pkce-not-s256": (GOOD_URL + "&code_challenge=" + "c" * 43, {}),
    "pkce-ignored": (
        GOOD_URL + "&code_challenge=" + "c" * 43 + "&code_challenge_method=S256",
        {},
    ),
    "unknown-parameter": (GOOD_URL + "&display=page", {}),
    "bad-redirect-uri": (_url(redirect_uri="http://127.0.0.1:99999/callback"), {}),
    "plain-http-redirect": (_url(redirect_uri="http://app.example.com/callback"), {}),
    "redirect-uri-mismatch": (
        GOOD_URL,
        {"registered_redirect_uri": REDIRECT + "/"},
    ),
    "scopes-cannot-reach": (
        _url(scope="read:confluence-space.summary%20offline_access"),
        {"operations": ["v2 spaces"]},
    ),
}


def test_every_lint_rule_has_a_crafted_url_that_breaks_it() -> None:
    assert set(CRAFTED) == set(LINT_RULES)


@pytest.mark.parametrize("code", sorted(CRAFTED))
def test_each_lint_finding_fires_on_its_crafted_url(code: str) -> None:
    url, options = CRAFTED[code]

    findings = [f for f in lint(url, **options) if f.code == code]  # type: ignore[arg-type]

    assert findings, f"{code} did not fire on {url}"
    assert findings[0].severity == LINT_RULES[code][0]
    assert findings[0].message and findings[0].fix


@pytest.mark.parametrize(
    "redirect_uri",
    ["http://[::1", "http://x:abc/", "http://x:99999/cb", "http://[zz]/cb", "/cb"],
)
def test_a_malformed_redirect_uri_is_a_finding_not_a_crash(redirect_uri: str) -> None:
    url = _url(redirect_uri=quote(redirect_uri, safe=""))

    findings = lint(url, registered_redirect_uri=REDIRECT)

    assert {f.code for f in findings} == {"bad-redirect-uri", "redirect-uri-mismatch"}


@settings(max_examples=300, deadline=None)
@given(query=st.text(), value=st.text())
def test_lint_and_explain_never_raise_on_any_text(query: str, value: str) -> None:
    urls = (query, f"{AUTH}/authorize?{query}", _url(redirect_uri=value, state=value))

    for url in urls:
        assert all(
            f.code in LINT_RULES for f in lint(url, registered_redirect_uri=value)
        )
        assert all(note.meaning for note in explain(url))


def test_findings_come_errors_first_and_never_show_the_state() -> None:
    url = _url(state="state-1234", prompt=None) + "&display=page"

    findings = lint(url)
    severities = [f.severity for f in findings]

    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert all("state-1234" not in str(f) for f in findings)


def test_a_secret_in_the_url_is_named_but_not_shown() -> None:
    findings = lint(GOOD_URL + "&client_secret=s3cr3t-value")

    assert [f.parameter for f in findings] == ["client_secret"]
    assert "s3cr3t-value" not in str(findings[0])


def test_a_state_below_128_bits_is_weak_and_a_uuid_is_too() -> None:
    assert estimate_state_bits("0123456789abcdef" * 2) == 128
    assert estimate_state_bits("6f1c2c2e-8f7a-4c1e-9a53-0f6a1b2c3d4e") == 122
    assert [f.code for f in lint(_url(state="0123456789abcdef"))] == ["weak-state"]


@pytest.mark.parametrize(
    ("sent", "registered", "position", "kind"),
    [
        (REDIRECT + "/", REDIRECT, 31, "a trailing slash"),
        (
            "http://localhost:8765/callback",
            REDIRECT,
            8,
            "`localhost` and `127.0.0.1`",
        ),
        ("https://app.example.com/cb", "http://app.example.com/cb", 5, "https against"),
        ("http://127.0.0.1:8766/callback", REDIRECT, 21, "port 8766 against 8765"),
        ("http://127.0.0.1:8765/Callback", REDIRECT, 23, "upper against lower case"),
    ],
    ids=["trailing-slash", "localhost", "scheme", "port", "case"],
)
def test_a_redirect_mismatch_shows_where_and_how_the_uris_differ(
    sent: str, registered: str, position: int, kind: str
) -> None:
    text = describe_difference(sent, registered)

    assert f"from character {position} on" in text
    assert kind in text


def test_classic_scopes_for_v2_operations_are_flagged_with_the_granular_fix() -> None:
    url = _url(scope=quote("read:confluence-space.summary search:confluence"))

    findings = lint(url, operations=["v2 spaces", "v2 page", "v1 search"])
    reach = [f for f in findings if f.code == "scopes-cannot-reach"]

    assert [f.fix for f in reach] == [
        "Add `read:space:confluence` to `scope` (and to the app in the console).",
        "Add `read:page:confluence` to `scope` (and to the app in the console).",
    ]
    assert "do not count for v2" in reach[0].message


# The URL on a running sandbox


@pytest.mark.parametrize("pkce", [False, True], ids=["state", "state+pkce"])
def test_the_kits_url_opens_the_sandbox_consent_page_and_state_comes_back(
    flow: Flow, pkce: bool
) -> None:
    request = new_authorization_request(
        SANDBOX_CLIENT_ID,
        SANDBOX_REDIRECT_URI,
        DEFAULT_SCOPES,
        auth_url=flow.url,
        pkce=pkce,
    )
    assert lint(request.url, registered_redirect_uri=SANDBOX_REDIRECT_URI) == []

    page = flow.http.get(request.url, allow_redirects=False)
    answer = flow.consent(page)

    assert page.status_code == 200
    assert answer.status_code == 302
    assert redirect_params(answer)["state"] == request.state


def test_a_classic_only_url_for_v2_is_linted_though_the_sandbox_shows_consent(
    flow: Flow,
) -> None:
    request = new_authorization_request(
        SANDBOX_CLIENT_ID,
        SANDBOX_REDIRECT_URI,
        "read:confluence-space.summary search:confluence offline_access",
        auth_url=flow.url,
    )

    page = flow.http.get(request.url, allow_redirects=False)
    codes = [f.code for f in lint(request.url, operations=["v2 spaces", "v2 pages"])]

    assert page.status_code == 200
    assert codes == ["scopes-cannot-reach", "scopes-cannot-reach"]


def test_a_plus_between_scopes_works_on_the_sandbox_as_well(flow: Flow) -> None:
    request = new_authorization_request(
        SANDBOX_CLIENT_ID, SANDBOX_REDIRECT_URI, DEFAULT_SCOPES, auth_url=flow.url
    )

    page = flow.http.get(request.url.replace("%20", "+"), allow_redirects=False)

    assert page.status_code == 200


def test_what_lint_calls_a_redirect_mismatch_the_sandbox_refuses(flow: Flow) -> None:
    request = new_authorization_request(
        SANDBOX_CLIENT_ID, SANDBOX_REDIRECT_URI + "/", DEFAULT_SCOPES, auth_url=flow.url
    )

    page = flow.http.get(request.url, allow_redirects=False)
    codes = [
        f.code for f in lint(request.url, registered_redirect_uri=SANDBOX_REDIRECT_URI)
    ]

    assert codes == ["redirect-uri-mismatch"]
    assert page.status_code == 400
    assert "location" not in page.headers


def test_a_url_without_audience_is_flagged_and_the_atlassian_sandbox_refuses_it(
    atlassian_flow: Flow,
) -> None:
    request = new_authorization_request(
        SANDBOX_CLIENT_ID,
        SANDBOX_REDIRECT_URI,
        DEFAULT_SCOPES,
        auth_url=atlassian_flow.url,
    )
    url = request.url.replace("audience=api.atlassian.com&", "")

    page = atlassian_flow.http.get(url, allow_redirects=False)

    assert [f.code for f in lint(url)] == ["missing-audience"]
    assert page.status_code == 400


def test_masked_url_hides_the_state_and_keeps_every_other_byte() -> None:
    request = new_authorization_request(
        "client-1",
        "http://127.0.0.1:8765/callback",
        "read:me offline_access",
        auth_url="https://auth.atlassian.com",
    )

    shown = request.masked_url

    assert request.state not in shown
    assert "state=<masked " in shown
    assert shown.replace(shown.split("state=")[1].split("&")[0], "") == (
        request.url.replace(request.url.split("state=")[1].split("&")[0], "")
    )
    assert "scope=read:me%20offline_access" in shown

"""The token endpoint's code exchange, security cases 26-39, in both profiles.

Atlassian's bodies and status codes are pinned exactly (facts 2.2, 2.4, 2.5); the
`rfc` profile answers as RFC 6749 and RFC 7636 say. Every error passes case 60.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from oauth_checks import assert_oauth_error
from sandbox_driver import DEFAULT_SCOPES, Flow, advance_clock
from token_support import (
    OTHER_APP,
    PUBLIC_APP,
    RESOURCES,
    bad_client_answer,
    bad_code_answer,
    code_grant,
    dead_refresh_answer,
    flows_of_both_profiles,
    pkce_pair,
    post_token,
    s256,
    settings_restored,
)

from kit.sandbox import (
    PROFILES,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
)


@pytest.fixture(scope="module")
def flows() -> Iterator[dict[str, Flow]]:
    """One sandbox per profile for the whole module."""
    with flows_of_both_profiles(OTHER_APP, PUBLIC_APP) as flows:
        yield flows


@pytest.fixture(autouse=True)
def _settings_restored(flows: dict[str, Flow]) -> Iterator[None]:
    """A test may change settings; the next one starts from the profile's own."""
    with settings_restored(flows):
        yield


@pytest.fixture(params=PROFILES)
def shared_flow(request: pytest.FixtureRequest, flows: dict[str, Flow]) -> Flow:
    """The module's sandbox of each profile in turn."""
    return flows[str(request.param)]


@pytest.fixture
def atlassian(flows: dict[str, Flow]) -> Flow:
    return flows["atlassian"]


@pytest.fixture
def rfc(flows: dict[str, Flow]) -> Flow:
    return flows["rfc"]


# Case 26: a valid exchange.


def test_valid_exchange_returns_bearer_tokens_for_an_hour(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code)

    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(DEFAULT_SCOPES.split())
    assert body["access_token"] and body["refresh_token"]
    assert body["access_token"] != body["refresh_token"]


def test_access_token_from_an_exchange_reaches_the_api(shared_flow: Flow) -> None:
    tokens = shared_flow.tokens()

    answer = shared_flow.api(RESOURCES, tokens["access_token"])

    assert answer.status_code == 200, answer.text


def test_exchange_without_offline_access_returns_no_refresh_token(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code(scope="read:page:confluence read:me")

    answer = shared_flow.exchange(code)

    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json()
    assert answer.json()["scope"] == "read:me read:page:confluence"


def test_exchange_with_http_basic_authentication_succeeds(shared_flow: Flow) -> None:
    code = shared_flow.code()
    body = code_grant(code, client_id=None, client_secret=None)

    answer = post_token(
        shared_flow, data=body, auth=(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    )

    assert answer.status_code == 200, answer.text
    assert "access_token" in answer.json()


def test_atlassian_accepts_the_documented_json_body(atlassian: Flow) -> None:
    code = atlassian.code()

    answer = post_token(atlassian, json=code_grant(code))

    assert answer.status_code == 200, answer.text


def test_atlassian_also_accepts_a_form_body(atlassian: Flow) -> None:
    code = atlassian.code()

    answer = post_token(atlassian, data=code_grant(code))

    assert answer.status_code == 200, answer.text


def test_issued_codes_and_tokens_are_distinct_and_long(shared_flow: Flow) -> None:
    codes = [shared_flow.code() for _ in range(3)]

    responses = [shared_flow.exchange(code).json() for code in codes]

    values = codes + [
        r[k] for r in responses for k in ("access_token", "refresh_token")
    ]
    assert len(set(values)) == len(values)
    assert all(len(value) >= 32 for value in values)


# Cases 27 and 28: missing or unsupported parameters.


def test_exchange_without_code_is_an_invalid_request(shared_flow: Flow) -> None:
    body = code_grant("")
    del body["code"]

    answer = post_token(shared_flow, data=body)

    assert_oauth_error(answer, 400, "invalid_request")


def test_exchange_with_an_empty_code_counts_it_as_missing(shared_flow: Flow) -> None:
    answer = shared_flow.exchange("")

    body = assert_oauth_error(answer, 400, "invalid_request")
    assert body["error_description"] == "code is missing"


def test_exchange_without_grant_type_is_an_invalid_request(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, grant_type=None)

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])


def test_unknown_grant_type_is_unsupported(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, grant_type="password")

    assert_oauth_error(answer, 400, "unsupported_grant_type", secrets=[code])


def test_implicit_or_client_credentials_grants_are_unsupported(
    shared_flow: Flow,
) -> None:
    answers = [
        shared_flow.exchange("x", grant_type=grant)
        for grant in ("client_credentials", "implicit", "urn:ietf:params:oauth:x")
    ]

    for answer in answers:
        assert_oauth_error(answer, 400, "unsupported_grant_type")


# Case 29: unknown or garbage codes.


@pytest.mark.parametrize(
    "code",
    ["unknown-code", "eyJhbGciOiJIUzI1NiJ9.e30.sig", "x" * 2000, "é-ü-😀"],
    ids=["word", "jwt-shaped", "long", "unicode"],
)
def test_unknown_or_garbage_code_is_refused(shared_flow: Flow, code: str) -> None:
    answer = shared_flow.exchange(code)

    bad_code_answer(shared_flow, answer, code)


def test_legacy_bad_code_style_answers_auth0s_403(atlassian: Flow) -> None:
    atlassian.sandbox.configure(bad_code_style="legacy")

    answer = atlassian.exchange("unknown-code")

    body = assert_oauth_error(answer, 403, "invalid_grant")
    assert body["error_description"] == "Invalid authorization code"


# Case 30: the code's lifetime, at the second.


def test_code_redeemed_a_second_before_its_lifetime_ends_works(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code()
    advance_clock(shared_flow, 600 - 1)

    answer = shared_flow.exchange(code)

    assert answer.status_code == 200, answer.text


def test_code_redeemed_a_second_after_its_lifetime_ends_is_refused(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code()
    advance_clock(shared_flow, 600 + 1)

    answer = shared_flow.exchange(code)

    bad_code_answer(shared_flow, answer, code)


def test_code_is_refused_from_the_second_its_lifetime_ends(shared_flow: Flow) -> None:
    code = shared_flow.code()
    advance_clock(shared_flow, 600)

    answer = shared_flow.exchange(code)

    bad_code_answer(shared_flow, answer, code)


def test_shortened_code_lifetime_applies_to_new_codes(shared_flow: Flow) -> None:
    shared_flow.sandbox.configure(code_lifetime=120)
    early, late = shared_flow.code(), shared_flow.code()
    advance_clock(shared_flow, 119)

    first = shared_flow.exchange(early)
    advance_clock(shared_flow, 2)
    second = shared_flow.exchange(late)

    assert first.status_code == 200, first.text
    bad_code_answer(shared_flow, second, late)


# Case 31: a code redeemed twice.


def test_reused_code_is_refused(shared_flow: Flow) -> None:
    code = shared_flow.code()
    first = shared_flow.exchange(code)

    second = shared_flow.exchange(code)

    assert first.status_code == 200, first.text
    bad_code_answer(shared_flow, second, code)


def test_rfc_reused_code_revokes_the_tokens_it_issued(rfc: Flow) -> None:
    code = rfc.code()
    tokens = rfc.exchange(code).json()

    rfc.exchange(code)

    assert rfc.api(RESOURCES, tokens["access_token"]).status_code == 401
    refreshed = rfc.refresh(tokens["refresh_token"])
    dead_refresh_answer(rfc, refreshed, tokens["refresh_token"])


def test_rfc_reused_code_revokes_tokens_refreshed_since(rfc: Flow) -> None:
    code = rfc.code()
    first = rfc.exchange(code).json()
    later = rfc.refresh(first["refresh_token"]).json()

    rfc.exchange(code)

    assert rfc.api(RESOURCES, later["access_token"]).status_code == 401
    refreshed = rfc.refresh(later["refresh_token"])
    dead_refresh_answer(rfc, refreshed, later["refresh_token"])


def test_atlassian_reused_code_leaves_the_first_tokens_working(
    atlassian: Flow,
) -> None:
    code = atlassian.code()
    tokens = atlassian.exchange(code).json()

    atlassian.exchange(code)

    assert atlassian.api(RESOURCES, tokens["access_token"]).status_code == 200
    assert atlassian.refresh(tokens["refresh_token"]).status_code == 200


def test_atlassian_can_be_told_to_revoke_on_code_reuse(atlassian: Flow) -> None:
    atlassian.sandbox.configure(revoke_on_code_reuse=True)
    code = atlassian.code()
    tokens = atlassian.exchange(code).json()

    second = atlassian.exchange(code)

    bad_code_answer(atlassian, second, code)
    assert atlassian.api(RESOURCES, tokens["access_token"]).status_code == 401
    refreshed = atlassian.refresh(tokens["refresh_token"])
    dead_refresh_answer(atlassian, refreshed, tokens["refresh_token"])


# Case 33: a code bound to its client.


def test_code_of_another_client_is_refused_and_used_up(shared_flow: Flow) -> None:
    code = shared_flow.code()

    stolen = shared_flow.exchange(
        code, client_id=OTHER_APP.client_id, client_secret=OTHER_APP.client_secret
    )
    retried = shared_flow.exchange(code)

    bad_code_answer(shared_flow, stolen, code)
    bad_code_answer(shared_flow, retried, code)


# Case 34: redirect_uri at the token step.


@pytest.mark.parametrize(
    "redirect_uri",
    [
        SANDBOX_REDIRECT_URI + "/",
        SANDBOX_REDIRECT_URI.replace("/callback", "/other"),
        SANDBOX_REDIRECT_URI.replace("127.0.0.1", "localhost"),
    ],
    ids=["trailing-slash", "other-path", "other-host"],
)
def test_exchange_with_a_different_redirect_uri_is_refused(
    shared_flow: Flow, redirect_uri: str
) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, redirect_uri=redirect_uri)

    bad_code_answer(shared_flow, answer, code)


def test_atlassian_exchange_without_redirect_uri_names_the_missing_field(
    atlassian: Flow,
) -> None:
    code = atlassian.code()

    answer = atlassian.exchange(code, redirect_uri=None)

    body = assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert body["error_description"] == "redirect_uri is missing"


def test_rfc_exchange_without_the_authorize_redirect_uri_is_an_invalid_grant(
    rfc: Flow,
) -> None:
    code = rfc.code()

    answer = rfc.exchange(code, redirect_uri=None)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code])


# Cases 35-39: PKCE, enforced by the rfc profile, ignored by atlassian (facts 1.2).


def test_rfc_exchange_with_the_right_verifier_succeeds(rfc: Flow) -> None:
    verifier, challenge = pkce_pair()
    code = rfc.code(code_challenge=challenge, code_challenge_method="S256")

    answer = rfc.exchange(code, code_verifier=verifier)

    assert answer.status_code == 200, answer.text


def test_rfc_exchange_with_a_wrong_verifier_is_an_invalid_grant(rfc: Flow) -> None:
    _, challenge = pkce_pair()
    other_verifier, _ = pkce_pair()
    code = rfc.code(code_challenge=challenge, code_challenge_method="S256")

    answer = rfc.exchange(code, code_verifier=other_verifier)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code, other_verifier])


def test_rfc_exchange_without_the_verifier_is_an_invalid_grant(rfc: Flow) -> None:
    _, challenge = pkce_pair()
    code = rfc.code(code_challenge=challenge, code_challenge_method="S256")

    answer = rfc.exchange(code)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code])


def test_rfc_wrong_verifier_uses_the_code_up(rfc: Flow) -> None:
    verifier, challenge = pkce_pair()
    code = rfc.code(code_challenge=challenge, code_challenge_method="S256")
    rfc.exchange(code, code_verifier=pkce_pair()[0])

    answer = rfc.exchange(code, code_verifier=verifier)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code, verifier])


def test_rfc_verifier_without_a_challenge_is_refused_as_a_downgrade(
    rfc: Flow,
) -> None:
    verifier, _ = pkce_pair()
    code = rfc.code()

    answer = rfc.exchange(code, code_verifier=verifier)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code, verifier])


@pytest.mark.parametrize(
    "verifier",
    ["a" * 42, "a" * 129, "a" * 42 + "+", "a" * 42 + "/", "a" * 21 + " " + "a" * 21],
    ids=["42-chars", "129-chars", "plus", "slash", "space"],
)
def test_rfc_malformed_verifier_gets_no_tokens(rfc: Flow, verifier: str) -> None:
    code = rfc.code(code_challenge=s256(verifier), code_challenge_method="S256")

    answer = rfc.exchange(code, code_verifier=verifier)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code])


def test_rfc_plain_method_at_the_token_step_cannot_downgrade_s256(rfc: Flow) -> None:
    _, challenge = pkce_pair()
    code = rfc.code(code_challenge=challenge, code_challenge_method="S256")

    answer = rfc.exchange(code, code_verifier=challenge, code_challenge_method="plain")

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code])


def test_rfc_7636_appendix_b_vector_redeems_its_code(rfc: Flow) -> None:
    code = rfc.code(
        code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        code_challenge_method="S256",
    )

    answer = rfc.exchange(
        code, code_verifier="dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    )

    assert answer.status_code == 200, answer.text


def test_rfc_public_client_redeems_its_code_with_the_verifier_alone(
    rfc: Flow,
) -> None:
    verifier, challenge = pkce_pair()
    code = rfc.code(
        client_id=PUBLIC_APP.client_id,
        scope="read:me offline_access",
        code_challenge=challenge,
        code_challenge_method="S256",
    )

    answer = rfc.exchange(
        code, client_id=PUBLIC_APP.client_id, client_secret=None, code_verifier=verifier
    )

    assert answer.status_code == 200, answer.text
    assert "refresh_token" in answer.json()


def test_rfc_public_client_without_the_verifier_gets_no_tokens(rfc: Flow) -> None:
    _, challenge = pkce_pair()
    code = rfc.code(
        client_id=PUBLIC_APP.client_id,
        scope="read:me",
        code_challenge=challenge,
        code_challenge_method="S256",
    )

    answer = rfc.exchange(code, client_id=PUBLIC_APP.client_id, client_secret=None)

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code])


def test_atlassian_ignores_a_challenge_and_needs_no_verifier(atlassian: Flow) -> None:
    _, challenge = pkce_pair()
    code = atlassian.code(code_challenge=challenge, code_challenge_method="S256")

    answer = atlassian.exchange(code)

    assert answer.status_code == 200, answer.text


def test_atlassian_still_requires_the_client_secret_with_pkce(
    atlassian: Flow,
) -> None:
    verifier, challenge = pkce_pair()
    code = atlassian.code(code_challenge=challenge, code_challenge_method="S256")

    answer = atlassian.exchange(code, client_secret=None, code_verifier=verifier)

    bad_client_answer(atlassian, answer, code)


def test_rfc_code_asked_for_without_redirect_uri_is_redeemed_without_one(
    rfc: Flow,
) -> None:
    code = rfc.code(redirect_uri=None)

    answer = rfc.exchange(code, redirect_uri=None)

    assert answer.status_code == 200, answer.text


def test_rfc_code_asked_for_without_redirect_uri_still_checks_one_sent_later(
    rfc: Flow,
) -> None:
    code = rfc.code(redirect_uri=None)

    answer = rfc.exchange(code, redirect_uri=SANDBOX_REDIRECT_URI + "/")

    assert_oauth_error(answer, 400, "invalid_grant", secrets=[code])

"""Refresh tokens, security cases 50-58: rotation, reuse, scope and lifetimes.

The frozen clock moves through `/_sandbox/clock` to pin each limit to the second:
the 10-minute reuse leeway, 90 days idle and 365 days in all (facts 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from oauth_checks import assert_oauth_error
from sandbox_driver import DEFAULT_SCOPES, Flow, advance_clock
from token_support import (
    OTHER_APP,
    PUBLIC_APP,
    RESOURCES,
    bad_client_answer,
    dead_refresh_answer,
    flows_of_both_profiles,
    pkce_pair,
    settings_restored,
    unknown_refresh_answer,
)

from kit.sandbox import PROFILES

DAY = 86400


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


def refreshed(flow: Flow, token: str, **overrides: Any) -> dict[str, Any]:
    """The body of a refresh that must succeed."""
    answer = flow.refresh(token, **overrides)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def public_client_refresh_token(flow: Flow) -> str:
    """A refresh token of the public app, from a PKCE-bound code (rfc profile)."""
    verifier, challenge = pkce_pair()
    code = flow.code(
        client_id=PUBLIC_APP.client_id,
        scope="read:me offline_access",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    answer = flow.exchange(
        code, client_id=PUBLIC_APP.client_id, client_secret=None, code_verifier=verifier
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["refresh_token"])


# Case 50: a valid refresh rotates the refresh token.


def test_refresh_returns_new_tokens_with_the_same_scope(shared_flow: Flow) -> None:
    tokens = shared_flow.tokens()

    answer = shared_flow.refresh(tokens["refresh_token"])

    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["pragma"] == "no-cache"
    body = answer.json()
    assert body["access_token"] != tokens["access_token"]
    assert body["refresh_token"] != tokens["refresh_token"]
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert set(body["scope"].split()) == set(DEFAULT_SCOPES.split())


def test_refreshed_access_token_reaches_the_api(shared_flow: Flow) -> None:
    tokens = shared_flow.tokens()

    body = refreshed(shared_flow, tokens["refresh_token"])

    assert shared_flow.api(RESOURCES, body["access_token"]).status_code == 200


def test_each_refresh_rotates_again(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]
    seen = [token]

    for _ in range(3):
        token = refreshed(shared_flow, token)["refresh_token"]
        seen.append(token)

    assert len(set(seen)) == len(seen)


def test_rfc_rotated_refresh_token_is_invalid_at_once(rfc: Flow) -> None:
    old = rfc.tokens()["refresh_token"]
    refreshed(rfc, old)

    answer = rfc.refresh(old)

    dead_refresh_answer(rfc, answer, old)


# Case 51: the rfc profile revokes the whole family on any reuse.


def test_rfc_reuse_revokes_the_newest_refresh_and_access_tokens(rfc: Flow) -> None:
    old = rfc.tokens()["refresh_token"]
    newest = refreshed(rfc, old)

    rfc.refresh(old)

    dead_refresh_answer(rfc, rfc.refresh(newest["refresh_token"]), old)
    assert rfc.api(RESOURCES, newest["access_token"]).status_code == 401


# Case 52: Atlassian's 10-minute reuse leeway.


def test_atlassian_reuse_within_the_leeway_issues_new_tokens(atlassian: Flow) -> None:
    old = atlassian.tokens()["refresh_token"]
    first = refreshed(atlassian, old)
    advance_clock(atlassian, 5 * 60)

    answer = atlassian.refresh(old)

    assert answer.status_code == 200, answer.text
    assert answer.json()["refresh_token"] != first["refresh_token"]
    assert atlassian.refresh(first["refresh_token"]).status_code == 200


def test_atlassian_reuse_at_exactly_ten_minutes_is_still_tolerated(
    atlassian: Flow,
) -> None:
    old = atlassian.tokens()["refresh_token"]
    refreshed(atlassian, old)
    advance_clock(atlassian, 10 * 60)

    answer = atlassian.refresh(old)

    assert answer.status_code == 200, answer.text


def test_atlassian_reuse_after_the_leeway_is_refused_and_revokes_the_family(
    atlassian: Flow,
) -> None:
    old = atlassian.tokens()["refresh_token"]
    first = refreshed(atlassian, old)
    advance_clock(atlassian, 5 * 60)
    second = refreshed(atlassian, old)
    advance_clock(atlassian, 6 * 60)

    answer = atlassian.refresh(old)

    dead_refresh_answer(atlassian, answer, old)
    for token in (first["refresh_token"], second["refresh_token"]):
        dead_refresh_answer(atlassian, atlassian.refresh(token), token)


def test_atlassian_family_revocation_spares_live_access_tokens(
    atlassian: Flow,
) -> None:
    old = atlassian.tokens()["refresh_token"]
    newest = refreshed(atlassian, old)
    advance_clock(atlassian, 11 * 60)

    atlassian.refresh(old)

    assert atlassian.api(RESOURCES, newest["access_token"]).status_code == 200


def test_atlassian_revoked_family_stays_revoked_for_a_new_reuse(
    atlassian: Flow,
) -> None:
    old = atlassian.tokens()["refresh_token"]
    newest = refreshed(atlassian, old)["refresh_token"]
    advance_clock(atlassian, 11 * 60)
    atlassian.refresh(old)

    answer = atlassian.refresh(newest)
    again = atlassian.refresh(newest)

    dead_refresh_answer(atlassian, answer, newest)
    dead_refresh_answer(atlassian, again, newest)


def test_other_families_survive_a_revoked_family(shared_flow: Flow) -> None:
    bystander = shared_flow.tokens()["refresh_token"]
    old = shared_flow.tokens()["refresh_token"]
    refreshed(shared_flow, old)
    advance_clock(shared_flow, 11 * 60)

    shared_flow.refresh(old)

    assert shared_flow.refresh(bystander).status_code == 200


def test_shorter_leeway_setting_is_honoured(atlassian: Flow) -> None:
    atlassian.sandbox.configure(refresh_reuse_leeway=3)
    old = atlassian.tokens()["refresh_token"]
    refreshed(atlassian, old)
    advance_clock(atlassian, 4)

    answer = atlassian.refresh(old)

    dead_refresh_answer(atlassian, answer, old)


# Case 54: a refresh token bound to its client.


def test_refresh_token_of_another_client_is_refused(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]

    answer = shared_flow.refresh(
        token, client_id=OTHER_APP.client_id, client_secret=OTHER_APP.client_secret
    )

    dead_refresh_answer(shared_flow, answer, token)


# Case 55: a refresh needs client authentication.


def test_refresh_without_the_client_secret_is_unauthorised(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]

    answer = shared_flow.refresh(token, client_secret=None)

    bad_client_answer(shared_flow, answer, token)
    assert shared_flow.refresh(token).status_code == 200


def test_rfc_public_client_refreshes_with_its_client_id_alone(rfc: Flow) -> None:
    token = public_client_refresh_token(rfc)

    answer = rfc.refresh(token, client_id=PUBLIC_APP.client_id, client_secret=None)

    assert answer.status_code == 200, answer.text


def test_rfc_public_clients_reused_refresh_token_revokes_its_family(
    rfc: Flow,
) -> None:
    public = {"client_id": PUBLIC_APP.client_id, "client_secret": None}
    old = public_client_refresh_token(rfc)
    newest = refreshed(rfc, old, **public)["refresh_token"]

    reused = rfc.refresh(old, **public)

    dead_refresh_answer(rfc, reused, old)
    dead_refresh_answer(rfc, rfc.refresh(newest, **public), newest)


# Case 56: scope on a refresh.


def test_rfc_refresh_may_narrow_the_scope(rfc: Flow) -> None:
    token = rfc.tokens()["refresh_token"]

    body = refreshed(rfc, token, scope="read:page:confluence")

    assert body["scope"] == "read:page:confluence"
    later = refreshed(rfc, body["refresh_token"])
    assert set(later["scope"].split()) == set(DEFAULT_SCOPES.split())


def test_rfc_refresh_may_not_widen_the_scope(rfc: Flow) -> None:
    token = rfc.tokens()["refresh_token"]

    answer = rfc.refresh(token, scope="read:page:confluence write:page:confluence")

    assert_oauth_error(answer, 400, "invalid_scope", secrets=[token])
    assert rfc.refresh(token).status_code == 200


def test_rfc_refresh_with_a_non_ascii_scope_is_an_invalid_scope(rfc: Flow) -> None:
    token = rfc.tokens()["refresh_token"]

    answer = rfc.refresh(token, scope="réad:page:confluence")

    assert_oauth_error(answer, 400, "invalid_scope", secrets=[token])
    assert answer.content.isascii()


def test_refresh_without_scope_keeps_the_original(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]

    body = refreshed(shared_flow, token)

    assert set(body["scope"].split()) == set(DEFAULT_SCOPES.split())


def test_atlassian_ignores_scope_on_a_refresh(atlassian: Flow) -> None:
    token = atlassian.tokens()["refresh_token"]

    body = refreshed(atlassian, token, scope="write:page:confluence")

    assert set(body["scope"].split()) == set(DEFAULT_SCOPES.split())


# Case 57: missing or garbage refresh tokens.


def test_refresh_without_a_refresh_token_is_an_invalid_request(
    shared_flow: Flow,
) -> None:
    answer = shared_flow.refresh("")

    body = assert_oauth_error(answer, 400, "invalid_request")
    assert body["error_description"] == "refresh_token is missing"


@pytest.mark.parametrize(
    "token",
    ["garbage", "eyJhbGciOiJIUzI1NiJ9.e30.sig", "r" * 5000],
    ids=["word", "jwt-shaped", "long"],
)
def test_refresh_token_never_issued_is_refused(shared_flow: Flow, token: str) -> None:
    answer = shared_flow.refresh(token)

    unknown_refresh_answer(shared_flow, answer, token)


def test_access_token_is_no_refresh_token(shared_flow: Flow) -> None:
    access = shared_flow.tokens()["access_token"]

    answer = shared_flow.refresh(access)

    unknown_refresh_answer(shared_flow, answer, access)


def test_code_is_no_refresh_token(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.refresh(code)

    unknown_refresh_answer(shared_flow, answer, code)
    assert shared_flow.exchange(code).status_code == 200


# Case 58: 90 days idle and 365 days in all, to the second.


def test_refresh_token_idle_for_a_second_under_90_days_works(
    shared_flow: Flow,
) -> None:
    token = shared_flow.tokens()["refresh_token"]
    advance_clock(shared_flow, 90 * DAY - 1)

    answer = shared_flow.refresh(token)

    assert answer.status_code == 200, answer.text


def test_refresh_token_idle_for_a_second_over_90_days_is_dead(
    shared_flow: Flow,
) -> None:
    token = shared_flow.tokens()["refresh_token"]
    advance_clock(shared_flow, 90 * DAY + 1)

    answer = shared_flow.refresh(token)

    dead_refresh_answer(shared_flow, answer, token)


def test_refresh_token_is_dead_from_the_second_90_idle_days_end(
    shared_flow: Flow,
) -> None:
    token = shared_flow.tokens()["refresh_token"]
    advance_clock(shared_flow, 90 * DAY)

    answer = shared_flow.refresh(token)

    dead_refresh_answer(shared_flow, answer, token)


def test_each_refresh_restarts_the_idle_limit(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]
    advance_clock(shared_flow, 60 * DAY)
    token = refreshed(shared_flow, token)["refresh_token"]
    advance_clock(shared_flow, 60 * DAY)

    answer = shared_flow.refresh(token)

    assert answer.status_code == 200, answer.text


def test_family_kept_alive_dies_365_days_after_the_consent(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]
    for _ in range(4):  # refreshed at 89, 178, 267 and 356 days
        advance_clock(shared_flow, 89 * DAY)
        token = refreshed(shared_flow, token)["refresh_token"]
    advance_clock(shared_flow, 9 * DAY - 1)  # 365 days less a second

    last_good = shared_flow.refresh(token)
    newest = last_good.json()["refresh_token"]
    advance_clock(shared_flow, 2)  # 365 days and a second
    too_late = shared_flow.refresh(newest)

    assert last_good.status_code == 200, last_good.text
    dead_refresh_answer(shared_flow, too_late, newest)


def test_family_is_dead_from_the_second_its_365_days_end(shared_flow: Flow) -> None:
    token = shared_flow.tokens()["refresh_token"]
    for _ in range(4):
        advance_clock(shared_flow, 89 * DAY)
        token = refreshed(shared_flow, token)["refresh_token"]
    advance_clock(shared_flow, 9 * DAY)  # 365 days exactly

    answer = shared_flow.refresh(token)

    dead_refresh_answer(shared_flow, answer, token)


def test_access_token_expires_after_an_hour(shared_flow: Flow) -> None:
    access = shared_flow.tokens()["access_token"]
    advance_clock(shared_flow, 3600 - 1)
    still = shared_flow.api(RESOURCES, access).status_code
    advance_clock(shared_flow, 2)

    expired = shared_flow.api(RESOURCES, access).status_code

    assert (still, expired) == (200, 401)

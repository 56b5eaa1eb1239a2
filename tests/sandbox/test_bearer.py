"""The API host's bearer-token checks, security cases 61-66, in both profiles.

Atlassian answers every failure with `401 {"code":401,"message":"Unauthorized"}`
and a missing scope with its own 401 body (facts 5.4); the `rfc` profile answers
as RFC 6750 section 3 says, with a `WWW-Authenticate: Bearer` challenge.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
import requests
from sandbox_driver import Flow, advance_clock, started_flow

from kit.sandbox import SANDBOX_CLIENT_ID
from kit.sandbox.confluence.routes import Operation, operations
from kit.sandbox.scenario import SANDBOX_APP_SCOPES, sandbox_app

ME = "/me"
RESOURCES = "/oauth/token/accessible-resources"
PINECONE = "3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73"
V2_SPACES = f"/ex/confluence/{PINECONE}/wiki/api/v2/spaces"
REALM = 'Bearer realm="api.atlassian.com"'
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}
OPERATIONS = operations()


@pytest.fixture(scope="module", params=["atlassian", "rfc"])
def shared(request: pytest.FixtureRequest) -> Iterator[Flow]:
    """One sandbox per profile for the tests that change nothing in it."""
    with started_flow(str(request.param)) as flow:
        yield flow


@pytest.fixture(scope="module")
def access_token(shared: Flow) -> str:
    """A valid token for `read:me` and Confluence pages, from a complete flow."""
    return str(shared.tokens()["access_token"])


def call(flow: Flow, path: str, authorization: str | None, **params: Any) -> Any:
    """GET an API path with exactly this `Authorization` value (or none)."""
    headers = {"Accept": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    return flow.http.get(f"{flow.url}{path}", headers=headers, params=params)


def assert_plain_401(answer: requests.Response) -> None:
    """Atlassian's answer to any authentication failure (facts 5.4)."""
    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED
    assert "www-authenticate" not in answer.headers


def assert_rfc_error(answer: requests.Response, status: int, error: str) -> None:
    """RFC 6750 section 3.1: the status, the challenge and the JSON error."""
    assert answer.status_code == status
    assert answer.headers["www-authenticate"] == f'{REALM}, error="{error}"'
    assert answer.json()["error"] == error


# Case 61: no credentials at all.


def test_a_call_without_authorization_gets_atlassians_plain_401(
    atlassian_flow: Flow,
) -> None:
    answer = call(atlassian_flow, ME, None)

    assert_plain_401(answer)
    assert answer.headers["access-control-allow-origin"] == "*"


def test_a_call_without_authorization_gets_a_bare_bearer_challenge_in_rfc(
    rfc_flow: Flow,
) -> None:
    answer = call(rfc_flow, ME, None)

    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == REALM
    assert "error" not in answer.headers["www-authenticate"]
    assert "error" not in answer.json()


# Case 62: a malformed bearer header, or another scheme.


@pytest.mark.parametrize(
    "authorization",
    ["Bearer", "Bearer ", "Bearer a b", "Bearer tok\u00e9n", "Bearer a,b", "Bearer =x"],
)
def test_a_malformed_bearer_header_is_an_invalid_request_in_rfc(
    rfc_flow: Flow, authorization: str
) -> None:
    answer = call(rfc_flow, ME, authorization)

    assert_rfc_error(answer, 400, "invalid_request")


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer a b", "Bearer a,b"])
def test_a_malformed_bearer_header_gets_atlassians_plain_401(
    atlassian_flow: Flow, authorization: str
) -> None:
    answer = call(atlassian_flow, ME, authorization)

    assert_plain_401(answer)


@pytest.mark.parametrize(
    "authorization", ["Basic c2FuZGJveDpzZWNyZXQ=", "Token abc", "Bearerabc", ""]
)
def test_another_scheme_counts_as_no_credentials(
    shared: Flow, authorization: str
) -> None:
    answer = call(shared, ME, authorization)

    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED
    if shared.sandbox.settings.profile == "rfc":
        assert answer.headers["www-authenticate"] == REALM


# Case 63: unknown, expired and revoked tokens.


@pytest.mark.parametrize(
    "token",
    ["not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "A" * 4096],
)
def test_an_unknown_token_is_refused(shared: Flow, token: str) -> None:
    answer = call(shared, ME, f"Bearer {token}")

    if shared.sandbox.settings.profile == "rfc":
        assert_rfc_error(answer, 401, "invalid_token")
    else:
        assert_plain_401(answer)
    assert token not in answer.text


def test_a_refresh_token_is_not_an_access_token(shared: Flow) -> None:
    refresh_token = shared.tokens()["refresh_token"]

    answer = call(shared, ME, f"Bearer {refresh_token}")

    assert answer.status_code == 401


def test_an_access_token_works_until_the_second_its_hour_ends(flow: Flow) -> None:
    access_token = flow.tokens()["access_token"]

    advance_clock(flow, 3599)
    last_second = call(flow, ME, f"Bearer {access_token}")
    advance_clock(flow, 1)
    expired = call(flow, ME, f"Bearer {access_token}")

    assert last_second.status_code == 200
    assert expired.status_code == 401
    if flow.sandbox.settings.profile == "rfc":
        assert_rfc_error(expired, 401, "invalid_token")
    else:
        assert expired.json() == UNAUTHORIZED


def test_a_revoked_grant_kills_its_access_tokens(flow: Flow) -> None:
    access_token = flow.tokens()["access_token"]
    before = call(flow, ME, f"Bearer {access_token}")

    revoked = flow.http.post(
        f"{flow.url}/_sandbox/revoke", json={"client_id": SANDBOX_CLIENT_ID}
    )
    after = call(flow, ME, f"Bearer {access_token}")
    resources = call(flow, RESOURCES, f"Bearer {access_token}")

    assert before.status_code == 200
    assert revoked.json() == {"revoked": True}
    assert after.status_code == 401
    assert resources.status_code == 401


# Case 64: the token lacks the operation's scope.


def test_a_missing_scope_gets_atlassians_scope_mismatch_401(
    atlassian_flow: Flow,
) -> None:
    access_token = atlassian_flow.tokens(scope="read:page:confluence")["access_token"]

    answer = call(atlassian_flow, ME, f"Bearer {access_token}")

    assert answer.status_code == 401
    assert answer.json() == SCOPE_MISMATCH
    assert answer.headers["x-failure-category"] == "FAILURE_CLIENT_SCOPE_CHECK"
    assert "www-authenticate" not in answer.headers


def test_a_missing_scope_is_403_insufficient_scope_naming_it_in_rfc(
    rfc_flow: Flow,
) -> None:
    access_token = rfc_flow.tokens(scope="read:page:confluence")["access_token"]

    answer = call(rfc_flow, ME, f"Bearer {access_token}")

    assert answer.status_code == 403
    assert answer.headers["www-authenticate"] == (
        f'{REALM}, error="insufficient_scope", scope="read:me"'
    )
    assert answer.json()["error"] == "insufficient_scope"


def test_a_classic_only_token_is_refused_by_a_v2_path_with_the_exact_body(
    atlassian_flow: Flow,
) -> None:
    classic = "read:confluence-space.summary read:confluence-content.all"
    access_token = atlassian_flow.tokens(scope=classic)["access_token"]

    answer = call(atlassian_flow, V2_SPACES, f"Bearer {access_token}")

    assert answer.status_code == 401
    assert answer.text == '{"code":401,"message":"Unauthorized; scope does not match"}'


def test_every_operation_refuses_a_token_without_its_scopes(shared: Flow) -> None:
    access_token = shared.tokens(scope="read:me")["access_token"]
    rfc = shared.sandbox.settings.profile == "rfc"

    refused = {
        operation: call_operation(shared, operation, access_token)
        for operation in OPERATIONS
    }

    assert len(refused) > 100
    for operation, answer in refused.items():
        if rfc:
            wanted = " ".join(sorted(operation.scope_sets[0]))
            assert answer.status_code == 403, operation
            assert f'scope="{wanted}"' in answer.headers["www-authenticate"]
        else:
            assert answer.status_code == 401, operation
            assert answer.json() == SCOPE_MISMATCH, operation


def test_every_scope_set_the_specs_list_passes_the_scope_check() -> None:
    every_scope = frozenset(
        s for op in OPERATIONS for sets in op.scope_sets for s in sets
    )
    app = replace(sandbox_app(), scopes=every_scope | SANDBOX_APP_SCOPES)
    scope_sets = {scope_set for op in OPERATIONS for scope_set in op.scope_sets}

    with started_flow("atlassian", apps=(app,)) as flow:
        answers = [
            (operation, call_operation(flow, operation, token))
            for scope_set, token in tokens_for(flow, scope_sets).items()
            for operation in OPERATIONS
            if scope_set in operation.scope_sets
        ]

    assert len(answers) >= len(OPERATIONS)
    for operation, answer in answers:
        assert answer.status_code not in (401, 403, 500), (operation, answer.text)


def tokens_for(flow: Flow, scope_sets: set[frozenset[str]]) -> dict[Any, str]:
    """An access token holding exactly each scope set."""
    return {
        scope_set: str(flow.tokens(scope=" ".join(sorted(scope_set)))["access_token"])
        for scope_set in scope_sets
    }


def call_operation(flow: Flow, operation: Operation, token: str) -> Any:
    """Call an operation through the gateway, every path parameter set to 1."""
    path = re.sub(r"\{[^}]+\}", "1", operation.path)
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    url = f"{flow.url}/ex/confluence/{PINECONE}{path}"
    return flow.http.request(operation.method, url, headers=headers)


def test_accessible_resources_needs_no_particular_scope(shared: Flow) -> None:
    access_token = shared.tokens(scope="read:page:confluence")["access_token"]

    answer = call(shared, RESOURCES, f"Bearer {access_token}")

    assert answer.status_code == 200


# Case 65: the scheme is case-insensitive, spaces around the token are fine.


@pytest.mark.parametrize(
    "template",
    ["Bearer {}", "bearer {}", "BEARER {}", "bEaReR {}", "Bearer    {}", "Bearer {}  "],
)
def test_the_bearer_scheme_is_case_insensitive_and_spaces_are_tolerated(
    shared: Flow, access_token: str, template: str
) -> None:
    answer = call(shared, ME, template.format(access_token))

    assert answer.status_code == 200
    assert answer.json()["account_type"] == "atlassian"


# Case 66: tokens in the query string.


def test_a_token_only_in_the_query_counts_as_no_token(
    shared: Flow, access_token: str
) -> None:
    answer = call(shared, ME, None, access_token=access_token)

    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED
    if shared.sandbox.settings.profile == "rfc":
        assert answer.headers["www-authenticate"] == REALM


def test_a_token_in_both_header_and_query_is_refused(
    shared: Flow, access_token: str
) -> None:
    answer = call(shared, ME, f"Bearer {access_token}", access_token=access_token)

    if shared.sandbox.settings.profile == "rfc":
        assert_rfc_error(answer, 400, "invalid_request")
    else:
        assert_plain_401(answer)


# RFC 9700 section 4.9.3: tokens are secrets, never logged or echoed.


def test_refused_tokens_appear_in_no_answer_and_no_log(
    shared: Flow, access_token: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    attempts = [
        f"Bearer {access_token} extra",
        f"Basic {access_token}",
        f"Bearer {access_token[:-4]}AAAA",
    ]

    answers = [call(shared, ME, attempt) for attempt in attempts]

    assert all(answer.status_code in (400, 401) for answer in answers)
    assert all(access_token[:-4] not in answer.text for answer in answers)
    assert all(access_token[:-4] not in str(answer.headers) for answer in answers)
    assert access_token[:-4] not in caplog.text

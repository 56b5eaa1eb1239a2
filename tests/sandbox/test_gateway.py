"""The API host: `accessible-resources`, `/me`, the gateway's checks before and on
the way to Confluence, the site domain, the rate limit and CORS (facts 4, 5.2, 6.7,
7.1; security cases 64, 67 and 68)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_driver import Flow, advance_clock, redirect_params, started_flow

from kit.sandbox import SANDBOX_CLIENT_SECRET
from kit.sandbox.scenario import ARCHIVE, PINECONE, SITES, Site

RESOURCES = "/oauth/token/accessible-resources"
ME = "/me"
V2_SPACES = "/wiki/api/v2/spaces"
CONFLUENCE_AND_JIRA = (
    "read:page:confluence read:space:confluence read:jira-work read:me offline_access"
)
JIRA_ONLY_SITE = Site(
    cloud_id="0c4a1d3e-95b2-4f67-8d10-e2b7a9c3f548",
    name="pinecone-tickets",
    url="https://pinecone-tickets.atlassian.net",
    avatar_url="https://site-admin-avatar-cdn.prod.public.atl-paas.net/avatars/240/t.png",
    products=("jira",),
)
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
SPRING_404_KEYS = {"timestamp", "status", "error", "message", "path"}


@pytest.fixture(scope="module", params=["atlassian", "rfc"])
def shared(request: pytest.FixtureRequest) -> Iterator[Flow]:
    """One sandbox per profile, with a Jira-only third site, for read-only tests."""
    sites = (*SITES, JIRA_ONLY_SITE)
    with started_flow(str(request.param), sites=sites) as flow:
        yield flow


@pytest.fixture(scope="module")
def tokens(shared: Flow) -> dict[str, Any]:
    """Tokens for Confluence, Jira and `read:me`, consented on the Pinecone site."""
    return shared.tokens(scope=CONFLUENCE_AND_JIRA)


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    """The headers of an API call with the access token."""
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def gateway(site: Site | str, suffix: str = V2_SPACES) -> str:
    """A gateway path for a site (or a raw cloud id)."""
    cloud_id = site if isinstance(site, str) else site.cloud_id
    return f"/ex/confluence/{cloud_id}{suffix}"


def get(flow: Flow, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET a path of the sandbox with these headers."""
    return flow.http.get(f"{flow.url}{path}", headers=headers or {})


def consent_twice(flow: Flow, scope: str) -> dict[str, Any]:
    """Consent on Pinecone, then again on the archive site; the last tokens."""
    flow.tokens(scope=scope, state="first")
    page = flow.authorize(scope=scope, state="second")
    answer = flow.consent(page, site=ARCHIVE.cloud_id)
    exchanged = flow.exchange(redirect_params(answer)["code"])
    assert exchanged.status_code == 200, exchanged.text
    return dict(exchanged.json())


# accessible-resources (facts 4.1, case 68)


def test_accessible_resources_lists_jira_and_confluence_of_one_site_under_one_id(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, RESOURCES, bearer(tokens))

    resources = answer.json()
    assert answer.status_code == 200
    assert [r["id"] for r in resources] == [PINECONE.cloud_id, PINECONE.cloud_id]
    assert sorted(r["scopes"] for r in resources) == [
        ["read:jira-work"],
        ["read:page:confluence", "read:space:confluence"],
    ]


def test_each_accessible_resource_has_exactly_the_documented_fields(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, RESOURCES, bearer(tokens))

    for resource in answer.json():
        assert list(resource) == ["id", "name", "url", "scopes", "avatarUrl"]
        assert str(uuid.UUID(resource["id"])) == resource["id"]
        assert resource["name"] == PINECONE.name
        assert resource["url"] == "https://pinecone-labs.atlassian.net"
        assert resource["avatarUrl"].startswith("https://")
        assert all(isinstance(scope, str) for scope in resource["scopes"])
    assert answer.headers["content-type"] == "application/json"


def test_accessible_resources_lists_only_the_sites_in_the_grant(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, RESOURCES, bearer(tokens))

    listed = {resource["id"] for resource in answer.json()}
    assert listed == {PINECONE.cloud_id}
    assert ARCHIVE.cloud_id not in answer.text
    assert JIRA_ONLY_SITE.cloud_id not in answer.text


def test_a_second_consent_adds_its_site_to_what_the_token_reaches(flow: Flow) -> None:
    tokens = consent_twice(flow, "read:page:confluence")

    answer = get(flow, RESOURCES, bearer(tokens))

    assert [r["id"] for r in answer.json()] == [PINECONE.cloud_id, ARCHIVE.cloud_id]
    assert all(r["scopes"] == ["read:page:confluence"] for r in answer.json())


def test_accessible_resources_is_empty_for_a_token_with_no_product_scope(
    shared: Flow,
) -> None:
    tokens = shared.tokens(scope="read:me")

    answer = get(shared, RESOURCES, bearer(tokens))

    assert answer.status_code == 200
    assert answer.json() == []


def test_accessible_resources_reveals_no_secret(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, RESOURCES, bearer(tokens))

    for secret in (
        tokens["access_token"],
        tokens["refresh_token"],
        SANDBOX_CLIENT_SECRET,
        "client_secret",
    ):
        assert secret not in answer.text
    assert "access_token" not in answer.text


def test_accessible_resources_refuses_a_call_without_a_token(shared: Flow) -> None:
    answer = get(shared, RESOURCES)

    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED


# /me (facts 4.3)


def test_me_describes_the_consenting_user_with_the_documented_keys(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, ME, bearer(tokens))

    me = answer.json()
    assert answer.status_code == 200
    assert {
        "account_type",
        "account_id",
        "email",
        "name",
        "picture",
        "account_status",
        "nickname",
        "zoneinfo",
        "locale",
        "extended_profile",
    } <= set(me)
    assert me["account_type"] == "atlassian"
    assert me["account_status"] == "active"
    assert me["name"] == "Ada Okafor"
    assert set(me["extended_profile"]) == {
        "job_title",
        "organization",
        "department",
        "location",
    }
    assert tokens["access_token"] not in answer.text


def test_me_answers_post_with_405(shared: Flow, tokens: dict[str, Any]) -> None:
    answer = shared.http.post(f"{shared.url}{ME}", headers=bearer(tokens))

    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"


# Routing to a site (facts 4.2, case 67)


def test_an_unknown_cloud_id_gets_the_spring_style_404(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    path = gateway(str(uuid.UUID(int=7)))

    answer = get(shared, path, bearer(tokens))

    body = answer.json()
    assert answer.status_code == 404
    assert set(body) == SPRING_404_KEYS
    assert body["status"] == 404
    assert body["error"] == "Not Found"
    assert body["message"] == "No message available"
    assert body["path"] == path
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", body["timestamp"])


def test_a_site_without_confluence_gets_the_spring_style_404(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, gateway(JIRA_ONLY_SITE), bearer(tokens))

    assert answer.status_code == 404
    assert set(answer.json()) == SPRING_404_KEYS


def test_an_unknown_route_on_a_granted_site_gets_the_spring_style_404(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    path = gateway(PINECONE, "/wiki/api/v2/no-such-thing")

    answer = get(shared, path, bearer(tokens))

    assert answer.status_code == 404
    assert answer.json()["path"] == path


def test_the_gateway_authenticates_before_it_routes(shared: Flow) -> None:
    unknown_site = get(shared, gateway(str(uuid.UUID(int=7))))
    unknown_route = get(shared, gateway(PINECONE, "/wiki/nothing/here"))

    assert unknown_site.status_code == 401
    assert unknown_route.status_code == 401
    assert unknown_site.json() == unknown_route.json() == UNAUTHORIZED


def test_a_site_outside_the_grant_gets_a_plain_401_and_no_data(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, gateway(ARCHIVE), bearer(tokens))

    assert answer.status_code == 401
    assert answer.json() == UNAUTHORIZED


@pytest.mark.parametrize("path", [V2_SPACES, "/wiki/rest/api/space", "/wiki"])
def test_a_token_sent_to_a_site_domain_path_gets_401_html(
    shared: Flow, tokens: dict[str, Any], path: str
) -> None:
    answer = get(shared, path, bearer(tokens))

    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("text/html")
    assert "/ex/confluence/" in answer.text
    assert "results" not in answer.text


def test_a_token_sent_with_a_site_host_header_gets_401_whatever_the_path(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    headers = {**bearer(tokens), "Host": "pinecone-labs.atlassian.net"}

    answers = [
        get(shared, path, headers)
        for path in (gateway(PINECONE), ME, RESOURCES, "/rest/api/space")
    ]

    assert [answer.status_code for answer in answers] == [401] * 4
    assert all("account_id" not in answer.text for answer in answers)


# Through the gateway to Confluence (facts 4.2, 5.2)


def test_a_granular_token_reads_v2_spaces_through_the_gateway(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    answer = get(shared, gateway(PINECONE), bearer(tokens))

    assert answer.status_code == 200
    assert answer.json()["results"]
    assert answer.headers["access-control-allow-origin"] == "*"


def test_a_classic_token_reaches_v1_search_but_not_v2_spaces(
    atlassian_flow: Flow,
) -> None:
    classic = "search:confluence read:confluence-space.summary"
    tokens = atlassian_flow.tokens(scope=classic)
    search = gateway(PINECONE, "/wiki/rest/api/search?cql=type%3Dpage&limit=1")

    v1 = get(atlassian_flow, search, bearer(tokens))
    v2 = get(atlassian_flow, gateway(PINECONE), bearer(tokens))

    assert v1.status_code == 200
    assert v1.json()["results"]
    assert v2.status_code == 401
    assert v2.text == '{"code":401,"message":"Unauthorized; scope does not match"}'
    assert v2.headers["x-failure-category"] == "FAILURE_CLIENT_SCOPE_CHECK"


def test_a_gateway_scope_mismatch_is_403_naming_the_scope_in_rfc(
    rfc_flow: Flow,
) -> None:
    tokens = rfc_flow.tokens(scope="read:page:confluence")

    answer = get(rfc_flow, gateway(PINECONE), bearer(tokens))

    assert answer.status_code == 403
    assert answer.headers["www-authenticate"] == (
        'Bearer realm="api.atlassian.com", error="insufficient_scope", '
        'scope="read:space:confluence"'
    )


def test_the_gateway_routes_on_the_path_as_sent_so_an_encoded_slash_stays_a_value(
    shared: Flow, tokens: dict[str, Any]
) -> None:
    path = gateway(PINECONE, "/wiki/api/v2/pages/1%2F2")

    answer = get(shared, path, bearer(tokens))

    assert answer.status_code == 400
    assert answer.json()["errors"][0]["code"] == "INVALID_REQUEST_PARAMETER"
    assert "'1/2'" in answer.json()["errors"][0]["title"]


def test_a_site_becomes_reachable_once_a_consent_adds_it(flow: Flow) -> None:
    scope = "read:space:confluence"
    before = get(flow, gateway(ARCHIVE), bearer(flow.tokens(scope=scope)))

    after = get(flow, gateway(ARCHIVE), bearer(consent_twice(flow, scope)))

    assert before.status_code == 401
    assert after.status_code == 200
    assert after.json()["results"]


# Rate limit (facts 6.7)


def test_the_rate_limit_answers_429_with_retry_after_and_recovers(
    flow: Flow,
) -> None:
    tokens = flow.tokens()
    flow.sandbox.configure(rate_limit_per_minute=3)
    allowed = [get(flow, path, bearer(tokens)) for path in (ME, RESOURCES, ME)]

    refused = get(flow, ME, bearer(tokens))
    advance_clock(flow, 59)
    still_refused = get(flow, RESOURCES, bearer(tokens))
    advance_clock(flow, 1)
    recovered = get(flow, ME, bearer(tokens))

    assert [answer.status_code for answer in allowed] == [200, 200, 200]
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": "Rate limit exceeded"}
    assert refused.headers["retry-after"] == "60"
    assert refused.headers["x-ratelimit-limit"] == "3"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["access-control-allow-origin"] == "*"
    assert still_refused.status_code == 429
    assert still_refused.headers["retry-after"] == "1"
    assert recovered.status_code == 200


def test_the_rate_limit_reset_header_is_iso_8601_at_the_retry_minute(
    atlassian_flow: Flow,
) -> None:
    tokens = atlassian_flow.tokens()
    atlassian_flow.sandbox.configure(rate_limit_per_minute=1)
    get(atlassian_flow, ME, bearer(tokens))

    refused = get(atlassian_flow, ME, bearer(tokens))

    # START_TIME is 2027-01-15T08:00:00Z; the window frees a call 60 s later.
    assert refused.headers["x-ratelimit-reset"] == "2027-01-15T08:01Z"


def test_the_rate_limit_also_covers_gateway_calls_before_routing(
    flow: Flow,
) -> None:
    tokens = flow.tokens()
    flow.sandbox.configure(rate_limit_per_minute=1)
    first = get(flow, gateway(PINECONE, "/wiki/unknown"), bearer(tokens))

    second = get(flow, gateway(PINECONE), bearer(tokens))

    assert first.status_code == 404
    assert second.status_code == 429


def test_calls_without_a_valid_token_do_not_use_up_the_rate_limit(
    flow: Flow,
) -> None:
    tokens = flow.tokens()
    flow.sandbox.configure(rate_limit_per_minute=1)
    refused = [get(flow, ME, {"Authorization": "Bearer nope"}) for _ in range(3)]

    answer = get(flow, ME, bearer(tokens))

    assert [r.status_code for r in refused] == [401, 401, 401]
    assert answer.status_code == 200


# CORS (facts 7.1; RFC 9700 section 2.6 for the authorization endpoint)


@pytest.mark.parametrize("path", [ME, RESOURCES, gateway(PINECONE)])
def test_an_api_preflight_allows_any_origin_and_the_authorization_header(
    shared: Flow, path: str
) -> None:
    headers = {
        "Origin": "https://notebook.example",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization",
    }

    answer = shared.http.options(f"{shared.url}{path}", headers=headers)

    assert answer.status_code == 204
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "GET" in answer.headers["access-control-allow-methods"]
    allowed = answer.headers["access-control-allow-headers"].lower()
    assert "authorization" in allowed


@pytest.mark.parametrize(
    "path", [ME, RESOURCES, gateway(PINECONE), gateway(str(uuid.UUID(int=7)))]
)
def test_every_api_answer_carries_the_cors_header(
    shared: Flow, tokens: dict[str, Any], path: str
) -> None:
    headers = {**bearer(tokens), "Origin": "https://notebook.example"}

    answer = get(shared, path, headers)

    assert answer.headers["access-control-allow-origin"] == "*"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("POST", ME, 405),
        ("DELETE", RESOURCES, 405),
        ("PUT", gateway(PINECONE), 401),
    ],
)
def test_api_errors_carry_the_cors_header_too(
    shared: Flow, method: str, path: str, status: int
) -> None:
    answer = shared.http.request(method, f"{shared.url}{path}")

    assert answer.status_code == status
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.headers["content-type"] == "application/json"


def test_the_auth_host_sends_no_cors_header(shared: Flow) -> None:
    origin = {"Origin": "https://notebook.example"}

    answers: list[requests.Response] = [
        shared.authorize(),
        shared.http.post(f"{shared.url}/oauth/token", data={}, headers=origin),
        shared.http.options(f"{shared.url}/authorize", headers=origin),
    ]

    for answer in answers:
        assert "access-control-allow-origin" not in answer.headers

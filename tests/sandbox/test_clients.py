"""Two independent OAuth clients, requests-oauthlib and Authlib, complete the whole
flow against the sandbox in both profiles: authorize, consent, tokens, API, refresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from authlib.common.security import generate_token
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session as AuthlibSession
from oauthlib.oauth2 import InsecureTransportError
from requests.auth import HTTPBasicAuth
from requests_oauthlib import OAuth2Session
from sandbox_driver import DEFAULT_SCOPES, Flow, advance_clock, started_flow

from kit.sandbox import (
    PROFILES,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
)

RESOURCES = "/oauth/token/accessible-resources"
# Atlassian's documented extras on the authorization URL (facts 1.1).
ATLASSIAN_EXTRAS = {"audience": "api.atlassian.com", "prompt": "consent"}


@pytest.fixture(scope="module", params=PROFILES)
def shared(request: pytest.FixtureRequest) -> Iterator[Flow]:
    """One sandbox per profile for the module: each test starts its own flow."""
    with started_flow(str(request.param)) as flow:
        yield flow


@pytest.fixture
def insecure_transport_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let requests-oauthlib speak plain http, for this test only.

    oauthlib refuses any URL that is not https (RFC 6749 section 3.1.2.1). The
    sandbox is a loopback server, where TLS would protect nothing; the conftest's
    autouse fixture removes every `OAUTHLIB_*` variable again after the test.
    """
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")


def callback_after_consent(flow: Flow, authorization_url: str) -> str:
    """Open the authorization URL as a browser would, press Accept, and return
    the URL the sandbox redirects to (the app's callback, with the code)."""
    page = flow.http.get(authorization_url, allow_redirects=False)
    answer = flow.consent(page)
    assert answer.status_code == 302, answer.text
    return str(answer.headers["location"])


def is_rfc(flow: Flow) -> bool:
    return flow.sandbox.settings.profile == "rfc"


def site_ids(resources: list[dict[str, Any]]) -> set[str]:
    return {site["id"] for site in resources}


# --- requests-oauthlib ------------------------------------------------------------


@pytest.mark.usefixtures("insecure_transport_allowed")
def test_requests_oauthlib_completes_the_flow(shared: Flow) -> None:
    token_url = f"{shared.url}/oauth/token"
    session = OAuth2Session(
        SANDBOX_CLIENT_ID,
        redirect_uri=SANDBOX_REDIRECT_URI,
        scope=DEFAULT_SCOPES.split(),
        pkce="S256" if is_rfc(shared) else None,
    )

    # 1. The authorization URL, with Atlassian's audience and prompt.
    url, state = session.authorization_url(
        f"{shared.url}/authorize", **ATLASSIAN_EXTRAS
    )
    # 2. The user consents; the browser lands on the callback.
    callback = callback_after_consent(shared, url)
    # 3. Tokens for the code in the callback (Basic client authentication).
    token = session.fetch_token(
        token_url,
        authorization_response=callback,
        client_secret=SANDBOX_CLIENT_SECRET,
    )
    # 4. An API call with the access token.
    resources = session.get(f"{shared.url}{RESOURCES}")
    # 5. A refresh, which rotates the refresh token.
    refreshed = session.refresh_token(
        token_url, auth=HTTPBasicAuth(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    )
    again = session.get(f"{shared.url}{RESOURCES}")

    assert f"state={state}" in callback
    assert token["token_type"] == "Bearer"
    assert token["expires_in"] == 3600
    assert set(token["scope"]) == set(DEFAULT_SCOPES.split())
    assert resources.status_code == 200
    assert site_ids(resources.json())
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert again.status_code == 200
    assert site_ids(again.json()) == site_ids(resources.json())


def test_requests_oauthlib_refuses_plain_http_unless_told(shared: Flow) -> None:
    session = OAuth2Session(SANDBOX_CLIENT_ID, redirect_uri=SANDBOX_REDIRECT_URI)

    with pytest.raises(InsecureTransportError):
        session.fetch_token(f"{shared.url}/oauth/token", code="any")


@pytest.mark.usefixtures("insecure_transport_allowed")
def test_requests_oauthlib_refreshes_an_expired_token_by_itself(flow: Flow) -> None:
    tokens = flow.tokens()
    saved: list[dict[str, Any]] = []
    session = OAuth2Session(
        SANDBOX_CLIENT_ID,
        token=tokens | {"expires_at": time.time() - 1},  # expired for the client
        auto_refresh_url=f"{flow.url}/oauth/token",
        auto_refresh_kwargs={
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
        },
        token_updater=saved.append,
    )
    advance_clock(flow, 3600)  # and expired for the sandbox too

    answer = session.get(f"{flow.url}{RESOURCES}")

    assert answer.status_code == 200
    assert len(saved) == 1
    assert saved[0]["access_token"] != tokens["access_token"]
    assert saved[0]["refresh_token"] != tokens["refresh_token"]
    assert session.token["access_token"] == saved[0]["access_token"]
    assert flow.api(RESOURCES, tokens["access_token"]).status_code == 401


# --- Authlib ----------------------------------------------------------------------


def authlib_session(flow: Flow, **options: Any) -> AuthlibSession:
    """Authlib's client as the profile wants it: PKCE S256 and Basic in rfc, the
    secret in the body (as Atlassian's docs show) in atlassian."""
    return AuthlibSession(
        SANDBOX_CLIENT_ID,
        SANDBOX_CLIENT_SECRET,
        scope=DEFAULT_SCOPES,
        redirect_uri=SANDBOX_REDIRECT_URI,
        token_endpoint=f"{flow.url}/oauth/token",
        code_challenge_method="S256" if is_rfc(flow) else None,
        token_endpoint_auth_method=(
            "client_secret_basic" if is_rfc(flow) else "client_secret_post"
        ),
        **options,
    )


def authlib_tokens(flow: Flow, session: AuthlibSession) -> dict[str, Any]:
    """Authorize, consent and fetch tokens with Authlib; PKCE in the rfc profile."""
    verifier = generate_token(48) if is_rfc(flow) else None
    url, state = session.create_authorization_url(
        f"{flow.url}/authorize", code_verifier=verifier, **ATLASSIAN_EXTRAS
    )
    callback = callback_after_consent(flow, url)
    extra = {"code_verifier": verifier} if verifier else {}
    return dict(
        session.fetch_token(authorization_response=callback, state=state, **extra)
    )


def test_authlib_completes_the_flow(shared: Flow) -> None:
    session = authlib_session(shared)

    # 1-3. Authorization URL, consent, tokens for the code (PKCE in rfc).
    token = authlib_tokens(shared, session)
    # 4. An API call with the access token.
    resources = session.get(f"{shared.url}{RESOURCES}")
    # 5. A refresh, which rotates the refresh token.
    refreshed = session.refresh_token()
    again = session.get(f"{shared.url}{RESOURCES}")

    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == set(DEFAULT_SCOPES.split())
    assert resources.status_code == 200
    assert site_ids(resources.json())
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert again.status_code == 200


def test_authlib_pkce_is_enforced_in_rfc(rfc_flow: Flow) -> None:
    session = authlib_session(rfc_flow)
    verifier = generate_token(48)
    url, state = session.create_authorization_url(
        f"{rfc_flow.url}/authorize", code_verifier=verifier
    )
    callback = callback_after_consent(rfc_flow, url)

    with pytest.raises(OAuthError, match="invalid_grant"):
        session.fetch_token(
            authorization_response=callback,
            state=state,
            code_verifier=generate_token(48),
        )

    assert "code_challenge=" in url


def test_authlib_refreshes_an_expired_token_by_itself(flow: Flow) -> None:
    updates: list[dict[str, Any]] = []

    def update_token(token: dict[str, Any], refresh_token: str) -> None:
        updates.append({"token": dict(token), "old_refresh_token": refresh_token})

    session = authlib_session(flow, update_token=update_token)
    first = authlib_tokens(flow, session)
    session.token = first | {"expires_at": int(time.time()) - 1}
    advance_clock(flow, 3600)

    answer = session.get(f"{flow.url}{RESOURCES}")

    assert answer.status_code == 200
    assert len(updates) == 1
    assert updates[0]["old_refresh_token"] == first["refresh_token"]
    assert updates[0]["token"]["access_token"] != first["access_token"]

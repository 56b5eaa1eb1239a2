"""The kit's flow against an authorization server that is not ours.

The peer is built from Authlib's own server classes (`tests/peers`); the kit,
pointed at it by `ATLASSIAN_AUTH_URL`, runs unchanged from consent to refresh.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from peers.authlib_server import PeerServer, RegisteredClient
from ports import free_port

from kit.authorize import (
    AuthorizationRequest,
    new_authorization_request,
    new_code_verifier,
)
from kit.callback import CallbackCatcher, CallbackResult
from kit.config import ClientConfig, load
from kit.errors import CodeRejectedError, RefreshRejectedError, TokenEndpointError
from kit.exchange import exchange_code, refresh_access_token
from kit.record import HISTORY
from kit.tokens import TokenSet

CLIENT_ID = "peer-client"
CLIENT_SECRET = "peer-secret-3f9c1e7a2b6d4058"
SCOPES = ("read:me", "offline_access")


class MovableClock:
    """The peer's clock: now, until a test moves it on."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _empty_history() -> Iterator[None]:
    HISTORY.clear()
    yield
    HISTORY.clear()


@pytest.fixture
def redirect_uri() -> str:
    return f"http://127.0.0.1:{free_port()}/callback"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


@pytest.fixture
def peer(redirect_uri: str, clock: MovableClock) -> Iterator[PeerServer]:
    client = RegisteredClient(CLIENT_ID, CLIENT_SECRET, (redirect_uri,), SCOPES)
    with PeerServer(client, now=clock) as server:
        yield server


def settings(peer: PeerServer, redirect_uri: str, secret: str) -> ClientConfig:
    return load(
        env_file=None,
        environ={
            "ATLASSIAN_CLIENT_ID": CLIENT_ID,
            "ATLASSIAN_CLIENT_SECRET": secret,
            "ATLASSIAN_REDIRECT_URI": redirect_uri,
            "ATLASSIAN_AUTH_URL": peer.url,
            "ATLASSIAN_API_URL": peer.url,
        },
    )


@pytest.fixture
def config(peer: PeerServer, redirect_uri: str) -> ClientConfig:
    return settings(peer, redirect_uri, CLIENT_SECRET)


def authorize(
    config: ClientConfig, *, pkce: bool = False
) -> tuple[AuthorizationRequest, CallbackResult]:
    """Consent as the user would: follow the peer's redirect to the catcher."""
    request = new_authorization_request(
        config.client_id,
        config.redirect_uri,
        SCOPES,
        auth_url=config.hosts.auth_url,
        pkce=pkce,
    )
    with CallbackCatcher(config.redirect_uri, request.state, timeout=30) as catcher:
        consent = requests.get(request.url, allow_redirects=False, timeout=5)
        assert consent.status_code == 302, consent.text
        landing = requests.get(consent.headers["Location"], timeout=5)
        assert landing.ok
        callback = catcher.wait(5)
    return request, callback


def call_me(config: ClientConfig, tokens: TokenSet) -> requests.Response:
    bearer = {"Authorization": f"Bearer {tokens.access_token.reveal()}"}
    return requests.get(config.hosts.api_url + "/me", headers=bearer, timeout=5)


# The kit against the peer ----------------------------------------------------


def test_the_kit_completes_the_flow_against_authlibs_server(
    config: ClientConfig,
) -> None:
    # 1. Consent: the peer approves and redirects to the catcher.
    request, callback = authorize(config)
    # 2. The code for tokens.
    tokens = exchange_code(config, callback, request=request)
    # 3. An API call with the access token.
    me = call_me(config, tokens)

    assert config.mode == "live"
    assert tokens.token_type.lower() == "bearer"
    assert tokens.expires_in == 3600
    assert tokens.scope == SCOPES
    assert tokens.refresh_token is not None
    assert me.status_code == 200
    assert me.json()["name"] == "Grace Peer"


def test_a_refresh_rotates_the_refresh_token_and_the_peer_refuses_the_old_one(
    config: ClientConfig,
) -> None:
    request, callback = authorize(config)
    tokens = exchange_code(config, callback, request=request)

    refreshed = refresh_access_token(config, tokens)
    with pytest.raises(RefreshRejectedError) as refused:
        refresh_access_token(config, tokens)

    assert refreshed.refresh_token is not None
    assert refreshed.refresh_token != tokens.refresh_token
    assert refreshed.access_token != tokens.access_token
    assert call_me(config, refreshed).status_code == 200
    assert refused.value.status == 400
    assert refused.value.error == "invalid_grant"


def test_a_pkce_flow_completes_with_the_verifier_the_request_kept(
    config: ClientConfig,
) -> None:
    request, callback = authorize(config, pkce=True)

    tokens = exchange_code(config, callback, request=request)

    assert "code_challenge_method=S256" in request.url
    assert call_me(config, tokens).status_code == 200


@pytest.mark.parametrize(
    ("verifier", "error"), [("missing", "invalid_request"), ("wrong", "invalid_grant")]
)
def test_the_peer_refuses_a_pkce_code_without_its_own_verifier(
    config: ClientConfig, verifier: str, error: str
) -> None:
    request, callback = authorize(config, pkce=True)
    other = replace(request, code_verifier=new_code_verifier(), code_challenge=None)
    sent = None if verifier == "missing" else other

    with pytest.raises(CodeRejectedError) as refused:
        exchange_code(config, callback, request=sent)

    assert refused.value.status == 400
    assert refused.value.error == error


def test_a_wrong_client_secret_is_refused_with_401(
    peer: PeerServer, redirect_uri: str, config: ClientConfig
) -> None:
    request, callback = authorize(config)
    wrong = settings(peer, redirect_uri, "not-the-peer-secret-0000")

    with pytest.raises(TokenEndpointError) as refused:
        exchange_code(wrong, callback, request=request)

    assert not isinstance(refused.value, CodeRejectedError)
    assert refused.value.status == 401
    assert refused.value.error == "invalid_client"


def test_no_record_of_the_flow_holds_the_secret_the_code_or_a_token(
    config: ClientConfig,
) -> None:
    request, callback = authorize(config, pkce=True)
    tokens = exchange_code(config, callback, request=request)
    refreshed = refresh_access_token(config, tokens)
    with pytest.raises(RefreshRejectedError):
        refresh_access_token(config, tokens)

    records = list(HISTORY)
    texts = [
        text
        for record in records
        for text in (record.raw(), record.to_curl(), record.to_python())
    ]
    secrets = [CLIENT_SECRET, callback.code, request.code_verifier or "", request.state]
    for issued in (tokens, refreshed):
        assert issued.refresh_token is not None
        secrets += [issued.access_token.reveal(), issued.refresh_token.reveal()]

    assert [record.step for record in records] == ["exchange", "refresh", "refresh"]
    assert all(len(secret) >= 16 for secret in secrets)
    leaks = [s for s in secrets for text in texts if s in text]
    assert leaks == []


# The peer itself, as the benchmark will use it -------------------------------


def consent(peer: PeerServer, redirect_uri: str) -> str:
    """A fresh code from the peer, read off its redirect."""
    query = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": redirect_uri,
        "scope": " ".join(SCOPES),
        "state": "peer-test",
    }
    answer = requests.get(
        peer.url + "/authorize", params=query, allow_redirects=False, timeout=5
    )
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]


def redeem(peer: PeerServer, redirect_uri: str, code: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code}
    form |= {"redirect_uri": redirect_uri}
    basic = (CLIENT_ID, CLIENT_SECRET)
    return requests.post(peer.url + "/oauth/token", data=form, auth=basic, timeout=5)


def test_the_peer_takes_the_client_secret_in_a_basic_header(
    peer: PeerServer, redirect_uri: str
) -> None:
    answer = redeem(peer, redirect_uri, consent(peer, redirect_uri))

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "read:me offline_access"
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_peers_codes_work_once_and_expire_after_ten_minutes(
    peer: PeerServer, redirect_uri: str, clock: MovableClock
) -> None:
    used = consent(peer, redirect_uri)
    first = redeem(peer, redirect_uri, used)
    again = redeem(peer, redirect_uri, used)
    late = consent(peer, redirect_uri)
    clock.advance(600)
    expired = redeem(peer, redirect_uri, late)

    assert first.status_code == 200
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert expired.status_code == 400
    assert expired.json()["error"] == "invalid_grant"


def test_the_peers_me_wants_a_live_bearer_token(
    peer: PeerServer, redirect_uri: str, clock: MovableClock
) -> None:
    token = redeem(peer, redirect_uri, consent(peer, redirect_uri)).json()
    bearer = {"Authorization": f"Bearer {token['access_token']}"}

    health = requests.get(peer.url + "/health", timeout=5)
    anonymous = requests.get(peer.url + "/me", timeout=5)
    live = requests.get(peer.url + "/me", headers=bearer, timeout=5)
    clock.advance(3600)
    expired = requests.get(peer.url + "/me", headers=bearer, timeout=5)

    assert health.status_code == 200
    assert anonymous.status_code == 401
    assert "WWW-Authenticate" in anonymous.headers
    assert live.json()["account_id"] == "peer-user-1"
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"

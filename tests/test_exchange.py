"""kit.exchange against a running sandbox in both profiles: the code for tokens,
refresh with rotation, one send per code (case 111), the errors of facts 2.5 and 3,
secrets kept out of messages and frames (101, 102), and plain http kept narrow (96).
"""

from __future__ import annotations

import dataclasses
import os
import threading

import pytest
from oauthlib.oauth2 import InsecureTransportError
from requests_oauthlib import OAuth2Session
from sandbox_driver import Flow, advance_clock, kit_frames_text

from kit import config as settings
from kit.authorize import AuthorizationRequest, code_challenge_for, new_code_verifier
from kit.config import ClientConfig
from kit.errors import (
    AccessDeniedError,
    CodeRejectedError,
    ExchangeRefusedError,
    RefreshRejectedError,
    TokenEndpointError,
)
from kit.exchange import exchange_code, refresh_access_token, token_url
from kit.record import Exchange, History
from kit.sandbox import SANDBOX_CLIENT_SECRET
from kit.tokens import Secret, TokenSet

WRONG_SECRET = "CANARY-WRONG-SECRET-0123456789"


def sandbox_config(flow: Flow) -> ClientConfig:
    return settings.load(env_file=None, environ={}, sandbox_url=flow.url)


def test_a_code_becomes_masked_tokens_with_the_granted_scope(flow: Flow) -> None:
    config = sandbox_config(flow)
    code = flow.code()

    tokens = exchange_code(config, code)

    assert tokens.token_type == "Bearer"
    assert tokens.expires_in == 3600
    assert "read:page:confluence" in tokens.scope
    assert tokens.refresh_token is not None
    assert tokens.access_token.reveal() not in repr(tokens)
    assert code not in repr(tokens)


def test_the_exchange_sends_the_secret_in_the_body_as_a_form(flow: Flow) -> None:
    config = sandbox_config(flow)
    history = History()

    exchange_code(config, flow.code(), history=history)

    sent = history.last
    assert sent is not None
    assert sent.step == "exchange"
    assert sent.method == "POST"
    assert sent.url == token_url(config)
    assert sent.request_body is not None
    assert "grant_type=authorization_code" in sent.request_body
    assert "client_secret=" in sent.request_body
    assert SANDBOX_CLIENT_SECRET not in sent.request_body
    assert sent.header("cache-control") == "no-store"
    assert not any(k.lower() == "authorization" for k, _ in sent.request_headers)


def test_a_rerun_with_the_same_code_is_refused_and_sends_nothing(flow: Flow) -> None:
    config = sandbox_config(flow)
    code = flow.code()
    history = History()
    tokens = exchange_code(config, code, history=history)

    with pytest.raises(ExchangeRefusedError, match="works once") as caught:
        exchange_code(config, code, history=history)

    assert len(history) == 1
    assert "use them" in str(caught.value)
    assert code not in str(caught.value)
    # In the rfc profile a second exchange would have revoked these tokens.
    answer = flow.api("/me", tokens.access_token.reveal())
    assert answer.status_code == 200


def test_an_expired_code_gets_atlassians_exact_answer(atlassian_flow: Flow) -> None:
    config = sandbox_config(atlassian_flow)
    code = atlassian_flow.code()
    advance_clock(atlassian_flow, 601)

    with pytest.raises(CodeRejectedError) as caught:
        exchange_code(config, code)

    error = caught.value
    assert (error.status, error.error) == (400, "invalid_request")
    assert error.description == "authorization_code is invalid"
    assert error.exchange is not None
    assert error.exchange.status == 400
    assert code not in str(error)


def test_an_expired_code_gets_invalid_grant_in_the_rfc_profile(rfc_flow: Flow) -> None:
    config = sandbox_config(rfc_flow)
    code = rfc_flow.code()
    advance_clock(rfc_flow, 601)

    with pytest.raises(CodeRejectedError) as caught:
        exchange_code(config, code)

    assert (caught.value.status, caught.value.error) == (400, "invalid_grant")


def test_a_code_reused_by_hand_is_refused_in_each_profiles_words(flow: Flow) -> None:
    config = sandbox_config(flow)
    code = flow.code()
    exchange_code(config, code)

    answer = flow.exchange(code)  # by hand: the kit itself refuses to resend it

    expected = (
        "invalid_grant"
        if flow.sandbox.settings.profile == "rfc"
        else ("invalid_request")
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == expected


def test_a_wrong_secret_is_a_client_error_not_a_declined_consent(flow: Flow) -> None:
    config = dataclasses.replace(
        sandbox_config(flow), client_secret=Secret(WRONG_SECRET)
    )

    with pytest.raises(TokenEndpointError) as caught:
        exchange_code(config, flow.code())

    error = caught.value
    assert not isinstance(error, (CodeRejectedError, AccessDeniedError))
    assert error.status == 401
    expected = (
        "invalid_client"
        if flow.sandbox.settings.profile == "rfc"
        else ("access_denied")
    )
    assert error.error == expected
    assert WRONG_SECRET not in str(error)
    assert "secret" in str(error).lower()


def test_no_frame_of_the_kit_holds_the_code_or_the_secret_after_a_refusal(
    atlassian_flow: Flow,
) -> None:
    config = dataclasses.replace(
        sandbox_config(atlassian_flow), client_secret=Secret(WRONG_SECRET)
    )
    code = atlassian_flow.code()

    with pytest.raises(TokenEndpointError) as caught:
        exchange_code(config, code)

    shown = kit_frames_text(caught.value)
    assert shown, "the error's traceback should pass through the kit"
    assert code not in shown
    assert WRONG_SECRET not in shown
    assert caught.value.__traceback__ is not None
    frames = []
    tb = caught.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_filename)
        tb = tb.tb_next
    assert not any("requests_oauthlib" in name for name in frames)


def test_pkce_verifier_is_sent_and_checked_in_the_rfc_profile(rfc_flow: Flow) -> None:
    config = sandbox_config(rfc_flow)
    verifier = new_code_verifier()
    challenge = {
        "code_challenge": code_challenge_for(verifier),
        "code_challenge_method": "S256",
    }
    good = rfc_flow.code(**challenge)
    wrong = rfc_flow.code(**challenge)

    tokens = exchange_with_verifier(config, good, verifier)
    with pytest.raises(CodeRejectedError) as caught:
        exchange_with_verifier(config, wrong, new_code_verifier())

    assert tokens.access_token
    assert "PKCE" in str(caught.value)


def exchange_with_verifier(config: ClientConfig, code: str, verifier: str) -> TokenSet:
    request = AuthorizationRequest(
        auth_url=config.hosts.auth_url,
        client_id=config.client_id,
        redirect_uri=config.redirect_uri,
        scopes=("read:me",),
        state="state-for-the-test-0123456789abcdef",
        code_verifier=verifier,
    )
    return exchange_code(config, code, request=request)


def test_a_refresh_rotates_the_refresh_token(flow: Flow) -> None:
    config = sandbox_config(flow)
    tokens = exchange_code(config, flow.code())

    refreshed = refresh_access_token(config, tokens)

    assert refreshed.refresh_token is not None
    assert refreshed.refresh_token != tokens.refresh_token
    assert refreshed.access_token != tokens.access_token
    assert refreshed.scope == tokens.scope


def test_a_rotated_token_reused_after_the_leeway_revokes_the_family(
    atlassian_flow: Flow,
) -> None:
    config = sandbox_config(atlassian_flow)
    tokens = exchange_code(config, atlassian_flow.code())
    newer = refresh_access_token(config, tokens)
    advance_clock(atlassian_flow, 5 * 60)
    refresh_access_token(config, tokens)  # inside the leeway: tolerated
    advance_clock(atlassian_flow, 6 * 60)

    with pytest.raises(RefreshRejectedError) as caught:
        refresh_access_token(config, tokens)
    with pytest.raises(RefreshRejectedError):
        refresh_access_token(config, newer)  # the whole family is gone

    assert (caught.value.status, caught.value.error) == (403, "invalid_grant")
    assert caught.value.description == "Unknown or invalid refresh token."


def test_a_rotated_token_reused_in_the_rfc_profile_is_refused_at_once(
    rfc_flow: Flow,
) -> None:
    config = sandbox_config(rfc_flow)
    tokens = exchange_code(config, rfc_flow.code())
    refresh_access_token(config, tokens)

    with pytest.raises(RefreshRejectedError) as caught:
        refresh_access_token(config, tokens, retry_on_timeout=False)

    assert (caught.value.status, caught.value.error) == (400, "invalid_grant")


def test_tokens_without_a_refresh_token_are_not_sent_to_refresh(flow: Flow) -> None:
    config = sandbox_config(flow)
    tokens = exchange_code(config, flow.code(scope="read:me"))
    history = History()

    with pytest.raises(ExchangeRefusedError, match="offline_access"):
        refresh_access_token(config, tokens, history=history)

    assert tokens.refresh_token is None
    assert len(history) == 0


def test_plain_http_to_another_machine_is_refused_before_sending() -> None:
    config = settings.load(
        env_file=None,
        environ={
            "ATLASSIAN_CLIENT_ID": "an-app-of-mine",
            "ATLASSIAN_CLIENT_SECRET": "CANARY-SECRET-abcdefghijklmnop",
            "ATLASSIAN_REDIRECT_URI": "http://127.0.0.1:8765/callback",
            "ATLASSIAN_AUTH_URL": "http://auth.example.com",
            "ATLASSIAN_API_URL": "http://api.example.com",
        },
    )
    history = History()

    with pytest.raises(ExchangeRefusedError, match=r"RFC 6749 section 10\.9"):
        exchange_code(config, "CANARY-CODE-abcdefghijklmnop", history=history)

    assert len(history) == 0


def test_the_kit_never_sets_oauthlibs_process_wide_switch(flow: Flow) -> None:
    config = sandbox_config(flow)

    exchange_code(config, flow.code())

    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ
    with pytest.raises(InsecureTransportError):
        OAuth2Session("someone-else").fetch_token(
            token_url(config), code="x", client_secret="y"
        )


class PausingHistory(History):
    """Holds the kit's request open, inside its response hook, until released."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.release = threading.Event()

    def add(self, exchange: Exchange) -> None:
        self.inside.set()
        self.release.wait(10)
        super().add(exchange)


def test_other_threads_keep_the_https_check_while_the_kit_exchanges(
    flow: Flow,
) -> None:
    config = sandbox_config(flow)
    history = PausingHistory()
    seen: list[BaseException | None] = []

    def other_thread() -> None:
        history.inside.wait(10)
        try:
            OAuth2Session("someone-else").fetch_token(
                token_url(config), code="x", client_secret="y"
            )
            seen.append(None)
        except Exception as exc:
            seen.append(exc)
        history.release.set()

    worker = threading.Thread(target=other_thread)
    worker.start()
    exchange_code(config, flow.code(), history=history)
    worker.join(10)

    assert len(seen) == 1
    assert isinstance(seen[0], InsecureTransportError)

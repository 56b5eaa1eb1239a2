"""kit.exchange and kit.api against a scripted server that misbehaves: a body that
echoes secrets (102), a timed-out exchange never resent (111), a timed-out refresh
sent once more or not (112), odd token answers (116), narrower scope (95), and
retries of 503 and 500 on a GET (110).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from fake_http import FakeHTTP

from kit import config as settings
from kit.api import ApiCaller, TokenSource
from kit.authorize import new_authorization_request
from kit.config import ClientConfig
from kit.errors import (
    ApiError,
    ExchangeRefusedError,
    RateLimitedError,
    TokenEndpointError,
    TokenResponseError,
    TransportError,
)
from kit.exchange import exchange_code, refresh_access_token
from kit.record import History
from kit.retry import RetryPolicy
from kit.tokens import TokenSet

SECRET = "CANARY-CLIENT-SECRET-0123456789abcdef"
REFRESH = "CANARY-REFRESH-0123456789abcdefghijkl"
ACCESS = "CANARY-ACCESS-0123456789abcdefghijklmn"


@pytest.fixture
def fake() -> Iterator[FakeHTTP]:
    with FakeHTTP() as server:
        yield server


def live_config(url: str) -> ClientConfig:
    return settings.load(
        env_file=None,
        environ={
            "ATLASSIAN_CLIENT_ID": "pinecone-reader-live",
            "ATLASSIAN_CLIENT_SECRET": SECRET,
            "ATLASSIAN_REDIRECT_URI": "http://127.0.0.1:8765/callback",
            "ATLASSIAN_AUTH_URL": url,
            "ATLASSIAN_API_URL": url,
        },
    )


def new_code() -> str:
    """A canary code of its own: the kit sends each code once per process."""
    return f"CANARY-CODE-{secrets.token_hex(16)}"


def tokens_with(**fields: Any) -> TokenSet:
    body = {"access_token": ACCESS, "expires_in": 3600, "refresh_token": REFRESH}
    body.update(fields)
    return TokenSet.from_response(body, requested_scope=("read:me",))


def test_an_error_body_echoing_the_request_leaks_no_secret(fake: FakeHTTP) -> None:
    code = new_code()
    echoed = f"client_secret={SECRET}&code={code}"
    fake.answer(
        "/oauth/token",
        400,
        json={"error": "invalid_request", "error_description": echoed},
    )

    with pytest.raises(TokenEndpointError) as caught:
        exchange_code(live_config(fake.url), code)

    error = caught.value
    shown = " ".join([str(error), repr(error), str(error.description or "")])
    assert error.exchange is not None
    shown += error.exchange.raw() + error.exchange.to_curl()
    assert SECRET not in shown
    assert code not in shown


def test_a_timed_out_exchange_is_sent_once_and_never_again(fake: FakeHTTP) -> None:
    fake.answer("/oauth/token", blackhole=True)
    config = live_config(fake.url)
    code = new_code()

    with pytest.raises(TransportError, match="does not send it again") as caught:
        exchange_code(config, code, timeout=(2.0, 0.5))
    with pytest.raises(ExchangeRefusedError, match="works once"):
        exchange_code(config, code, timeout=(2.0, 0.5))

    assert caught.value.timed_out
    assert len(fake.received_at("/oauth/token")) == 1


@pytest.mark.parametrize(("retry", "sent"), [(True, 2), (False, 1)])
def test_a_timed_out_refresh_is_sent_once_more_only_when_allowed(
    fake: FakeHTTP, retry: bool, sent: int
) -> None:
    fake.answer("/oauth/token", blackhole=True)

    with pytest.raises(TransportError, match="saved tokens are unchanged"):
        refresh_access_token(
            live_config(fake.url),
            tokens_with(),
            timeout=(2.0, 0.5),
            retry_on_timeout=retry,
        )

    assert len(fake.received_at("/oauth/token")) == sent


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"token_type": "Bearer", "expires_in": 3600}, "access_token"),
        ({"access_token": ACCESS, "token_type": "mac"}, "token_type"),
        ({"access_token": ACCESS, "expires_in": "soon"}, "expires_in"),
        (["not", "an", "object"], "not an object"),
    ],
    ids=["no-access-token", "mac", "expires-in-words", "array"],
)
def test_an_unusable_token_answer_is_refused_by_name(
    fake: FakeHTTP, body: Any, problem: str
) -> None:
    fake.answer("/oauth/token", json=body)

    with pytest.raises(TokenResponseError) as caught:
        exchange_code(live_config(fake.url), new_code())

    assert problem in str(caught.value)
    assert ACCESS not in str(caught.value)


def test_an_answer_that_is_no_json_is_refused(fake: FakeHTTP) -> None:
    fake.answer("/oauth/token", body=b"<html>maintenance</html>")

    with pytest.raises(TokenResponseError, match="not JSON"):
        exchange_code(live_config(fake.url), new_code())


@pytest.mark.parametrize(
    "extra",
    [
        {"token_type": "BEARER"},
        {"token_type": "bearer", "expires_in": "3600"},
        {"token_type": "Bearer", "id_token": "x", "unknown_field": [1, 2]},
        {},
    ],
    ids=["upper-case", "string-expiry", "extra-fields", "no-token-type"],
)
def test_token_answers_that_bend_the_rules_are_accepted(
    fake: FakeHTTP, extra: dict[str, Any]
) -> None:
    fake.answer("/oauth/token", json={"access_token": ACCESS, **extra})

    tokens = exchange_code(live_config(fake.url), new_code())

    assert tokens.access_token.reveal() == ACCESS
    assert tokens.token_type == "Bearer"


def test_a_narrower_grant_shows_the_scopes_granted(fake: FakeHTTP) -> None:
    answer = {"access_token": ACCESS, "token_type": "Bearer", "scope": "read:me"}
    fake.answer("/oauth/token", json=answer)
    config = live_config(fake.url)
    request = new_authorization_request(
        config.client_id,
        config.redirect_uri,
        "read:me read:page:confluence",
        auth_url=fake.url,
    )

    tokens = exchange_code(config, new_code(), request=request)

    assert tokens.scope == ("read:me",)


def caller(fake: FakeHTTP, history: History, **options: Any) -> ApiCaller:
    return ApiCaller(
        live_config(fake.url),
        TokenSource(tokens_with(), None),
        history=history,
        **options,
    )


def test_a_503_with_retry_after_is_waited_out_and_retried(fake: FakeHTTP) -> None:
    fake.answer("/me", 503, headers={"Retry-After": "2"}, json={"error": "busy"})
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        fake.answer("/me", json={"name": "Ada"})  # the server recovers meanwhile

    history = History()
    answer = caller(fake, history, sleep=sleep).get(fake.url + "/me")

    assert answer.body == {"name": "Ada"}
    assert waits == [2.0]
    assert [e.status for e in history] == [503, 200]


def test_a_500_on_a_get_is_retried_a_limited_number_of_times(fake: FakeHTTP) -> None:
    fake.answer("/me", 500, json={"error": "boom"})
    waits: list[float] = []
    policy = RetryPolicy(jitter=lambda ceiling: ceiling)

    with pytest.raises(ApiError) as caught:
        caller(fake, History(), sleep=waits.append, retry=policy).get(fake.url + "/me")

    assert caught.value.status == 500
    assert len(fake.received_at("/me")) == policy.max_server_error_attempts
    assert waits == [1.0]


def test_a_429_that_never_ends_stops_after_the_attempts(fake: FakeHTTP) -> None:
    fake.answer("/me", 429, headers={"Retry-After": "1"})
    waits: list[float] = []

    with pytest.raises(RateLimitedError) as caught:
        caller(fake, History(), sleep=waits.append).get(fake.url + "/me")

    assert len(fake.received_at("/me")) == RetryPolicy().max_attempts
    assert waits == [1.0] * (RetryPolicy().max_attempts - 1)
    assert caught.value.retry_after == 1.0


def test_a_400_is_not_retried(fake: FakeHTTP) -> None:
    fake.answer("/me", 400, json={"errors": [{"status": 400, "code": "BAD"}]})

    with pytest.raises(ApiError):
        caller(fake, History(), sleep=pytest.fail).get(fake.url + "/me")

    assert len(fake.received_at("/me")) == 1


def test_the_bearer_token_goes_in_the_header_only(fake: FakeHTTP) -> None:
    fake.answer("/me", json={})

    caller(fake, History()).get(fake.url + "/me", {"limit": 1})

    sent = fake.received_at("/me")[0]
    assert sent.headers["authorization"] == f"Bearer {ACCESS}"
    assert ACCESS not in sent.path

"""The catcher's `/start` link: a redirect to the fixed authorization URL, so that a
notebook can show a link without the `state`, and never an open redirect (case 93).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from kit.authorize import new_state
from kit.callback import CallbackCatcher
from kit.errors import ConfigError

AUTHORIZE = "http://127.0.0.1:9/authorize?client_id=app&state=the-request-state"


@pytest.fixture
def state() -> str:
    return new_state()  # a state works once: each test takes a new one


@pytest.fixture
def catcher(state: str) -> Iterator[CallbackCatcher]:
    with CallbackCatcher(
        "http://127.0.0.1:0/callback", state, timeout=30, authorization_url=AUTHORIZE
    ) as running:
        yield running


def get(url: str | None) -> requests.Response:
    assert url is not None
    return requests.get(url, allow_redirects=False, timeout=5)


def test_start_redirects_to_the_authorization_url_and_keeps_nothing(
    catcher: CallbackCatcher,
) -> None:
    answer = get(catcher.start_url)

    assert catcher.start_url == f"http://127.0.0.1:{catcher.port}/start"
    assert answer.status_code == 302
    assert answer.headers["location"] == AUTHORIZE
    assert answer.headers["cache-control"] == "no-store"
    assert answer.headers["referrer-policy"] == "no-referrer"


def test_the_query_of_start_is_never_read(catcher: CallbackCatcher) -> None:
    answer = get(f"{catcher.start_url}?next=https://evil.example&redirect=/x")

    assert answer.headers["location"] == AUTHORIZE


def test_start_answers_410_once_the_callback_came(
    catcher: CallbackCatcher, state: str
) -> None:
    get(f"{catcher.url}?code=a-code-0123456789&state={state}")
    catcher.wait(5)

    answer = get(catcher.start_url)

    assert answer.status_code == 410
    assert "location" not in answer.headers


def test_start_takes_get_only(catcher: CallbackCatcher) -> None:
    assert catcher.start_url is not None

    answer = requests.post(catcher.start_url, allow_redirects=False, timeout=5)

    assert answer.status_code == 405


def test_without_an_authorization_url_there_is_no_start(state: str) -> None:
    with CallbackCatcher("http://127.0.0.1:0/callback", state) as plain:
        answer = get(f"http://127.0.0.1:{plain.port}/start")

    assert plain.start_url is None
    assert answer.status_code == 404


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "/authorize", "http://x.example/a\r\nSet-Cookie: x"]
)
def test_an_authorization_url_that_is_no_url_is_refused(url: str, state: str) -> None:
    with pytest.raises(ConfigError, match="authorization_url"):
        CallbackCatcher("http://127.0.0.1:0/callback", state, authorization_url=url)

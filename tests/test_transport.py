"""`kit.transport`: timeouts, the answer cap, no redirects, one record and log line.

Against `fake_http.FakeHTTP`: a blackhole (case 107), huge answers (case 118), a
307 to another host (case 117); and the https rule of `check_transport` (96).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from fake_http import FakeHTTP

import kit.config
from kit.errors import ConfigError, ExchangeRefusedError, TransportError
from kit.exchange import exchange_code
from kit.record import History
from kit.transport import check_transport, new_session

MB = 1024 * 1024


@pytest.fixture
def fake() -> Iterator[FakeHTTP]:
    with FakeHTTP() as server:
        yield server


@pytest.fixture
def history() -> History:
    return History()


def test_a_blackholed_request_times_out_within_the_read_timeout(
    fake: FakeHTTP, history: History
) -> None:
    # Case 107: the server accepts the request and never answers.
    fake.answer("/oauth/token", blackhole=True)
    session = new_session("exchange", timeout=(1.0, 0.5), history=history)

    started = time.monotonic()
    with session, pytest.raises(requests.ReadTimeout):
        session.post(f"{fake.url}/oauth/token", data={"code": "abcdefgh12345678"})
    took = time.monotonic() - started

    assert took < 0.5 + 1.0
    assert len(fake.received_at("/oauth/token")) == 1
    record = history.last
    assert record is not None
    assert (record.step, record.status) == ("exchange", None)
    assert record.failure == "the answer timed out"
    assert record.request_body == "code=abcd…(masked)"
    assert history.last_failure is record


def test_a_call_s_own_timeout_wins_over_the_session_s(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer("/slow", delay=2.0)
    session = new_session("api", timeout=(1.0, 30.0), history=history)

    started = time.monotonic()
    with session, pytest.raises(requests.ReadTimeout):
        session.get(f"{fake.url}/slow", timeout=(1.0, 0.3))

    assert time.monotonic() - started < 1.3


def test_a_slow_answer_within_the_timeout_is_read(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer("/slow", json={"ok": True}, delay=0.2)

    with new_session("api", timeout=(1.0, 2.0), history=history) as session:
        answer = session.get(f"{fake.url}/slow")

    assert answer.json() == {"ok": True}
    assert history.last is not None and history.last.ok


def test_a_streamed_answer_over_the_cap_is_cut_off_quickly(
    fake: FakeHTTP, history: History
) -> None:
    # Case 118: no Content-Length, so the cap is found while reading.
    fake.answer("/oauth/token", stream=5 * MB)
    session = new_session("exchange", max_answer_bytes=1 * MB, history=history)

    started = time.monotonic()
    with session, pytest.raises(TransportError, match="larger than 1 MB"):
        session.post(f"{fake.url}/oauth/token")

    assert time.monotonic() - started < 2.0


def test_an_answer_declaring_a_length_over_the_cap_is_not_read(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer(
        "/oauth/token", headers={"Content-Length": str(50 * MB)}, stream=50 * MB
    )
    session = new_session("exchange", max_answer_bytes=1 * MB, history=history)

    started = time.monotonic()
    with session, pytest.raises(TransportError, match="larger than 1 MB") as caught:
        session.post(f"{fake.url}/oauth/token")

    assert time.monotonic() - started < 1.0
    assert not caught.value.timed_out


def test_an_answer_too_large_to_read_leaves_a_failure_record(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer("/wiki/api/v2/pages", stream=2 * MB)
    session = new_session("api", max_answer_bytes=1 * MB, history=history)

    with session, pytest.raises(TransportError):
        session.get(f"{fake.url}/wiki/api/v2/pages")

    record = history.last_failure
    assert record is not None
    assert (record.step, record.method, record.status) == ("api", "GET", None)
    assert "larger than 1 MB" in (record.failure or "")


def test_an_answer_under_the_cap_is_read_whole(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer("/export", stream=MB // 2)

    with new_session("api", max_answer_bytes=1 * MB, history=history) as session:
        answer = session.get(f"{fake.url}/export")

    assert answer.content == b"x" * (MB // 2)
    assert history.last is not None and history.last.status == 200


def test_an_answer_cut_off_before_its_length_is_a_transport_error(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer("/me", headers={"Content-Length": "1000"}, body=b'{"account')

    session = new_session("me", history=history)

    with session, pytest.raises(TransportError, match="was cut off") as caught:
        session.get(f"{fake.url}/me")

    assert not caught.value.timed_out
    assert history.last is not None and history.last.status is None


def test_a_307_to_another_host_is_not_followed_and_sends_nothing_there(
    fake: FakeHTTP, history: History
) -> None:
    # Case 117: following it would hand the code and the secret to `elsewhere`.
    with FakeHTTP() as elsewhere:
        fake.answer(
            "/oauth/token", 307, headers={"Location": f"{elsewhere.url}/oauth/token"}
        )
        config = kit.config.load(env_file=None, environ={}, sandbox_url=fake.url)

        with pytest.raises(ExchangeRefusedError, match="does not follow redirects"):
            exchange_code(config, "code-for-the-redirect-test-0123", history=history)

        assert elsewhere.received == []
    sent = fake.received_at("/oauth/token")
    assert len(sent) == 1
    assert b"client_secret=" in sent[0].body
    assert history.last is not None and history.last.status == 307


def test_a_redirect_from_an_api_call_is_refused_too(
    fake: FakeHTTP, history: History
) -> None:
    fake.answer("/me", 302, headers={"Location": "/login"})

    session = new_session("me", history=history)

    with session, pytest.raises(ExchangeRefusedError, match="the same server"):
        session.get(f"{fake.url}/me", headers={"Authorization": "Bearer abcdefgh"})

    assert [r.path for r in fake.received] == ["/me"]


def test_each_exchange_logs_one_info_line(
    fake: FakeHTTP, history: History, caplog: pytest.LogCaptureFixture
) -> None:
    fake.answer("/me", json={"account_id": "5b10ac8d82e05b22cc7d4ef5"})
    fake.answer("/gone", 404)
    caplog.set_level(logging.INFO, logger="kit.transport")

    with new_session("api", history=history) as session:
        session.get(f"{fake.url}/me")
        session.get(f"{fake.url}/gone")

    lines = [r for r in caplog.records if r.name == "kit.transport"]
    assert [r.levelno for r in lines] == [logging.INFO, logging.INFO]
    assert lines[0].getMessage().startswith("GET /me -> 200 OK in ")
    assert lines[1].getMessage().startswith("GET /gone -> 404 Not Found in ")
    assert lines[1].getMessage().endswith(f"({fake.url}).")
    assert len(history) == 2


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [("/hang", {"blackhole": True}), ("/huge", {"stream": 2 * MB})],
)
def test_an_exchange_that_fails_logs_one_info_line_too(
    fake: FakeHTTP,
    history: History,
    caplog: pytest.LogCaptureFixture,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    fake.answer(path, **kwargs)
    caplog.set_level(logging.INFO, logger="kit.transport")
    session = new_session("api", timeout=0.3, max_answer_bytes=MB, history=history)

    with session, pytest.raises((requests.RequestException, TransportError)):
        session.get(f"{fake.url}{path}")

    lines = [r.getMessage() for r in caplog.records if r.name == "kit.transport"]
    assert len(lines) == 1
    assert lines[0].startswith(f"GET {fake.url}{path}: ")
    assert len(history) == 1


def test_the_session_asks_for_json(fake: FakeHTTP, history: History) -> None:
    fake.answer("/me", json={})

    with new_session("me", history=history) as session:
        session.get(f"{fake.url}/me")

    assert fake.received[0].headers["accept"] == "application/json"


@pytest.mark.parametrize(
    "url",
    [
        "https://auth.atlassian.com/oauth/token",
        "HTTPS://auth.atlassian.com/oauth/token",
        "http://127.0.0.1:8765/oauth/token",
        "http://127.8.9.10/oauth/token",
        "http://localhost:8000/oauth/token",
        "http://[::1]:8000/oauth/token",
    ],
)
def test_https_and_plain_http_to_this_machine_are_allowed(url: str) -> None:
    check_transport(url)


def test_plain_http_to_another_machine_is_refused() -> None:
    # Case 96: the token or the secret would cross the network in clear.
    with pytest.raises(ExchangeRefusedError, match=r"RFC 6749 section 10\.9") as caught:
        check_transport("http://example.com/token")

    assert "`allow_plain_http=True`" in str(caught.value)
    assert "http://example.com" in str(caught.value)


def test_plain_http_to_another_machine_is_allowed_when_asked() -> None:
    check_transport("http://192.168.1.20:8000/oauth/token", allow_plain_http=True)
    check_transport("http://example.com/token", allow_plain_http=True)


@pytest.mark.parametrize("url", ["ftp://example.com/token", "example.com/token"])
def test_a_url_that_is_not_http_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError, match="is not an http or https URL"):
        check_transport(url, allow_plain_http=True)

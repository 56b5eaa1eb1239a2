"""The `Sandbox` class's lifecycle: it starts on 127.0.0.1 and a free port in a
background thread, runs beside others, stops (twice if asked) and frees its port.
"""

from __future__ import annotations

import logging
import re
import signal
import socket
import threading
import time

import pytest
import requests
from sandbox_driver import START_TIME, Flow

from kit.sandbox import SANDBOX_CLIENT_SECRET, Clock, Sandbox


def health(sandbox: Sandbox) -> requests.Response:
    """`GET /_sandbox/health` on a fresh connection."""
    return requests.get(f"{sandbox.url}/_sandbox/health", timeout=5)


def refuses_connections(port: int) -> bool:
    """Whether nothing listens on this loopback port."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_start_serves_on_loopback_and_a_free_port_from_a_daemon_thread() -> None:
    sandbox = Sandbox()

    started = sandbox.start()
    try:
        answer = health(sandbox)
        threads = [t for t in threading.enumerate() if str(sandbox.port) in t.name]
    finally:
        sandbox.stop()

    assert started is sandbox
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", sandbox.url)
    assert sandbox.port > 0
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"
    assert len(threads) == 1
    assert threads[0].daemon


def test_stop_frees_the_port_for_a_new_sandbox() -> None:
    first = Sandbox().start()
    port = first.port

    first.stop()
    refused = refuses_connections(port)
    second = Sandbox(port=port).start()
    try:
        answer = health(second)
    finally:
        second.stop()

    assert refused
    assert second.port == port
    assert answer.status_code == 200


def test_stop_is_idempotent_and_safe_before_start() -> None:
    never_started = Sandbox()
    sandbox = Sandbox().start()

    never_started.stop()
    sandbox.stop()
    sandbox.stop()

    assert refuses_connections(sandbox.port)
    assert "stopped" in repr(sandbox)


def test_start_twice_keeps_one_server() -> None:
    sandbox = Sandbox().start()
    port = sandbox.port

    try:
        again = sandbox.start()
        answer = health(sandbox)
    finally:
        sandbox.stop()

    assert again is sandbox
    assert sandbox.port == port
    assert answer.status_code == 200


def test_a_stopped_sandbox_starts_again_on_its_port_keeping_its_tokens() -> None:
    sandbox = Sandbox().start()
    with requests.Session() as http:
        access_token = Flow(sandbox, http).tokens()["access_token"]
    port = sandbox.port
    sandbox.stop()

    sandbox.start()
    try:
        answer = requests.get(
            f"{sandbox.url}/me",
            headers={"Authorization": f"Bearer {access_token}"},
            timeout=5,
        )
    finally:
        sandbox.stop()

    assert sandbox.port == port
    assert answer.status_code == 200


def test_two_sandboxes_run_at_once_with_separate_state() -> None:
    atlassian = Sandbox(clock=Clock(frozen_at=START_TIME)).start()
    rfc = Sandbox("rfc", clock=Clock(frozen_at=START_TIME)).start()

    try:
        atlassian.clock.advance(hours=2)
        profiles = [health(s).json()["profile"] for s in (atlassian, rfc)]
        clocks = [
            requests.get(f"{s.url}/_sandbox/clock", timeout=5).json()["now"]
            for s in (atlassian, rfc)
        ]
    finally:
        atlassian.stop()
        rfc.stop()

    assert atlassian.port != rfc.port
    assert profiles == ["atlassian", "rfc"]
    assert clocks == [START_TIME + 7200, START_TIME]


def test_a_token_of_one_sandbox_means_nothing_to_another() -> None:
    with Sandbox() as first, Sandbox() as second, requests.Session() as http:
        access_token = Flow(first, http).tokens()["access_token"]
        headers = {"Authorization": f"Bearer {access_token}"}

        at_first = http.get(f"{first.url}/me", headers=headers, timeout=5)
        at_second = http.get(f"{second.url}/me", headers=headers, timeout=5)

    assert at_first.status_code == 200
    assert at_second.status_code == 401


def test_the_context_manager_starts_and_stops() -> None:
    with Sandbox("rfc") as sandbox:
        inside = health(sandbox)

    assert inside.json()["profile"] == "rfc"
    assert refuses_connections(sandbox.port)


def test_the_context_manager_stops_even_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError, match="boom"), Sandbox() as sandbox:
        raise RuntimeError("boom")

    assert refuses_connections(sandbox.port)


def test_a_port_in_use_raises_a_clear_error() -> None:
    with Sandbox() as running:
        taken = Sandbox(port=running.port)

        with pytest.raises(OSError, match=rf"127\.0\.0\.1:{running.port}.*--port"):
            taken.start()


def test_stop_does_not_wait_for_a_client_that_stalls_mid_request() -> None:
    sandbox = Sandbox(body_timeout=30).start()
    stalled = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
    stalled.sendall(
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n"
    )
    time.sleep(0.1)  # let the server start reading the body

    started = time.monotonic()
    sandbox.stop()
    took = time.monotonic() - started
    stalled.close()

    assert took < 1.5
    assert refuses_connections(sandbox.port)


def test_a_request_in_flight_when_stop_begins_still_gets_its_answer() -> None:
    sandbox = Sandbox(body_timeout=30).start()
    body = b"grant_type=authorization_code"
    client = socket.create_connection(("127.0.0.1", sandbox.port), timeout=5)
    client.sendall(
        b"POST /oauth/token HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    time.sleep(0.1)  # the server is now waiting for the body
    stopping = threading.Thread(target=sandbox.stop)
    stopping.start()
    time.sleep(0.05)
    client.sendall(body)
    answer = b""
    while chunk := client.recv(65536):  # until the server closes the connection
        answer += chunk
    stopping.join(5)
    client.close()

    assert answer.startswith(b"HTTP/1.1 401")  # the sandbox's own refusal, not a reset
    assert b"connection: close" in answer
    assert answer.endswith(b'"error_description":"Unauthorized"}')  # no client given
    assert not stopping.is_alive()
    assert refuses_connections(sandbox.port)


def test_keep_alive_answers_never_wait_for_a_delayed_ack() -> None:
    """Twenty answers on one connection: each is two writes (head, then body),
    and without TCP_NODELAY the second waits for the client's delayed ACK, 40 ms
    a request on Linux. Twenty would then take 0.8 s; they take milliseconds."""
    with Sandbox() as sandbox, requests.Session() as session:
        session.get(f"{sandbox.url}/_sandbox/health", timeout=5)
        started = time.monotonic()
        for _ in range(20):
            session.get(f"{sandbox.url}/_sandbox/health", timeout=5)
        took = time.monotonic() - started

    assert took < 0.4, f"{took:.2f} s for 20 keep-alive requests: Nagle is back"


def test_stop_closes_idle_keep_alive_connections() -> None:
    sandbox = Sandbox().start()
    session = requests.Session()
    session.get(f"{sandbox.url}/_sandbox/health", timeout=5)

    started = time.monotonic()
    sandbox.stop()
    took = time.monotonic() - started
    session.close()

    assert took < 1  # no waiting for uvicorn's next 0.1 s tick, nor for clients
    assert refuses_connections(sandbox.port)


def test_starting_leaves_signal_handlers_and_logging_alone() -> None:
    before_signal = signal.getsignal(signal.SIGINT)
    before_handlers = list(logging.getLogger().handlers)
    before_uvicorn = list(logging.getLogger("uvicorn").handlers)

    with Sandbox():
        during_signal = signal.getsignal(signal.SIGINT)

    assert during_signal is before_signal
    assert logging.getLogger().handlers == before_handlers
    assert logging.getLogger("uvicorn").handlers == before_uvicorn


def test_the_repr_shows_profile_state_and_url_but_no_secret() -> None:
    with Sandbox("rfc") as sandbox:
        running = repr(sandbox)

    assert running == f"<Sandbox rfc running at {sandbox.url}>"
    assert SANDBOX_CLIENT_SECRET not in running

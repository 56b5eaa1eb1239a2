"""The loopback callback catcher, over real sockets: security cases 78-94.

Raw sockets send what no HTTP library would (bad escapes, NUL, TLS bytes); the
end-to-end tests let a running sandbox redirect to the catcher after consent.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from sandbox_driver import Flow

from kit.callback import CallbackCatcher, CallbackResult, parse_redirected_url
from kit.errors import (
    AccessDeniedError,
    AuthorizationError,
    CallbackPortError,
    CallbackTimeoutError,
    ConfigError,
    IssuerMismatchError,
    KitError,
    StateMismatchError,
)
from kit.sandbox import App

REDIRECT_URI = "http://127.0.0.1:0/callback"


@pytest.fixture
def state() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def catcher(state: str) -> Iterator[CallbackCatcher]:
    with CallbackCatcher(REDIRECT_URI, state, timeout=10, read_timeout=0.5) as running:
        yield running


def get(catcher: CallbackCatcher, **params: str) -> requests.Response:
    return requests.get(catcher.url, params=params, allow_redirects=False, timeout=2)


def send_raw(port: int, data: bytes, host: str = "127.0.0.1") -> bytes:
    """Send bytes as they are, close our side, and read the whole answer."""
    with socket.create_connection((host, port), timeout=2) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def raw_get(catcher: CallbackCatcher, target: str, host: str | None = None) -> bytes:
    host = host if host is not None else f"127.0.0.1:{catcher.port}"
    request = f"GET {target} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode("latin-1")
    return send_raw(catcher.port, request)


def status_of(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def tls_client_hello() -> bytes:
    """The first bytes a browser sends to an https:// URL."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        tls.do_handshake()
    return outgoing.read()


def lan_addresses() -> list[str]:
    """This machine's non-loopback IPv4 addresses that a socket can reach."""
    found = set()
    with contextlib.suppress(OSError):
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    with (
        contextlib.suppress(OSError),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp,
    ):
        udp.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
        found.add(udp.getsockname()[0])
    return sorted(a for a in found if not _loopback_or_any(a))


def _loopback_or_any(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    return ip.is_loopback or ip.is_unspecified


# Case 89: loopback only -------------------------------------------------------


def test_catcher_binds_to_127_0_0_1_only_and_refuses_other_addresses(
    catcher: CallbackCatcher,
) -> None:
    others = ["127.0.0.2", *lan_addresses()]

    bound = catcher.addresses

    assert bound == [("127.0.0.1", catcher.port)]
    for address in others:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection((address, catcher.port), timeout=1).close()


def test_localhost_redirect_uri_listens_on_both_127_0_0_1_and_ipv6_loopback(
    state: str,
) -> None:
    with CallbackCatcher("http://localhost:0/cb", state, timeout=5) as catcher:
        bound = {host for host, _ in catcher.addresses}
        over_ipv6 = requests.get(
            f"http://[::1]:{catcher.port}/cb", params={"state": "x"}, timeout=2
        )

    assert bound == {"127.0.0.1", "::1"}
    assert catcher.url == f"http://localhost:{catcher.port}/cb"
    assert over_ipv6.status_code == 400  # reached, and its wrong state turned away


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://0.0.0.0:8765/callback",
        "http://192.0.2.2:8765/callback",
        "https://127.0.0.1:8765/callback",
        "http://example.com/callback",
        "http://127.0.0.1:8765/callback?next=1",
    ],
)
def test_redirect_uri_that_is_not_plain_http_loopback_is_refused(
    redirect_uri: str, state: str
) -> None:
    with pytest.raises(ConfigError, match="parse_redirected_url"):
        CallbackCatcher(redirect_uri, state, timeout=1)


# Case 90: port in use -----------------------------------------------------------


def test_port_in_use_raises_an_error_that_names_the_port_and_the_fix(
    state: str,
) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        catcher = CallbackCatcher(f"http://127.0.0.1:{port}/callback", state, timeout=1)

        with pytest.raises(CallbackPortError, match=f"port {port}.*another port"):
            catcher.start()


def test_second_catcher_on_the_same_port_is_refused_while_the_first_runs(
    catcher: CallbackCatcher,
) -> None:
    second = CallbackCatcher(catcher.url, secrets.token_urlsafe(16), timeout=1)

    with pytest.raises(OSError, match=str(catcher.port)):
        second.start()

    assert get(catcher, state="wrong").status_code == 400  # the first still serves


# Cases 78, 79, 81: state first, and once --------------------------------------


def test_callback_with_a_wrong_state_is_rejected_and_the_catcher_keeps_waiting(
    catcher: CallbackCatcher, state: str
) -> None:
    forged = get(catcher, code="attacker-code", state="not-" + state)
    real = get(catcher, code="real-code", state=state)

    assert forged.status_code == 400
    assert "Nothing was sent" in forged.text
    assert real.status_code == 200
    assert catcher.wait(1).code == "real-code"
    assert catcher.status.rejected == 1


def test_callback_without_state_is_rejected(catcher: CallbackCatcher) -> None:
    answer = get(catcher, code="attacker-code")

    assert answer.status_code == 400
    assert catcher.poll() is None
    assert "no `state`" in (catcher.status.last_rejection or "")


def test_error_with_a_wrong_state_is_treated_as_forged_not_as_a_decline(
    catcher: CallbackCatcher,
) -> None:
    answer = get(catcher, error="access_denied", state="forged")

    assert answer.status_code == 400
    assert "declined" not in answer.text
    assert catcher.poll() is None
    assert catcher.error is None


def test_state_of_a_finished_sign_in_cannot_be_used_again(
    catcher: CallbackCatcher, state: str
) -> None:
    get(catcher, code="c1", state=state)
    catcher.wait(1)

    with pytest.raises(StateMismatchError, match="works only once"):
        CallbackCatcher(REDIRECT_URI, state, timeout=1)
    with pytest.raises(StateMismatchError, match="works only once"):
        parse_redirected_url(
            f"{catcher.url}?code=c2&state={state}", state, redirect_uri=catcher.url
        )


def test_callback_replaying_an_earlier_flows_state_is_rejected(
    catcher: CallbackCatcher, state: str
) -> None:
    # an earlier flow, finished
    with CallbackCatcher(REDIRECT_URI, "earlier-" + state, timeout=5) as earlier:
        get(earlier, code="old", state="earlier-" + state)
        earlier.wait(1)

    replay = get(catcher, code="old", state="earlier-" + state)

    assert replay.status_code == 400
    assert catcher.poll() is None


# Cases 80, 82, 83: declines, errors, malformed answers -------------------------


def test_access_denied_gives_a_clean_declined_result_with_the_description_escaped(
    catcher: CallbackCatcher, state: str
) -> None:
    description = "<script>alert(1)</script>"

    page = get(
        catcher, error="access_denied", error_description=description, state=state
    )

    assert page.status_code == 200
    assert "You declined" in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    with pytest.raises(AccessDeniedError, match="declined") as declined:
        catcher.wait(1)
    assert declined.value.error == "access_denied"
    assert catcher.result is None
    assert catcher.status.phase == "failed"


def test_error_callback_surfaces_only_error_description_and_uri(
    catcher: CallbackCatcher, state: str
) -> None:
    page = get(
        catcher,
        error="invalid_scope",
        error_description="scope unknown",
        error_uri="https://docs.example/errors",
        access_token="SECRET-ACCESS-TOKEN",
        state=state,
    )

    with pytest.raises(AuthorizationError, match="scope unknown") as failed:
        catcher.wait(1)
    assert failed.value.error == "invalid_scope"
    assert "https://docs.example/errors" in failed.value.message
    assert "SECRET-ACCESS-TOKEN" not in failed.value.message
    assert "SECRET-ACCESS-TOKEN" not in page.text
    assert not isinstance(failed.value, AccessDeniedError)


@pytest.mark.parametrize(
    "query",
    [
        "code=a&code=b&state={state}",
        "code=a&state={state}&state={state}",
        "code=a&error=access_denied&state={state}",
        "state={state}",
    ],
    ids=["code twice", "state twice", "code and error", "neither"],
)
def test_malformed_callback_is_rejected_and_the_catcher_keeps_waiting(
    catcher: CallbackCatcher, state: str, query: str
) -> None:
    answer = raw_get(catcher, "/callback?" + query.format(state=state))

    assert status_of(answer) == 400
    assert catcher.poll() is None
    assert get(catcher, code="real", state=state).status_code == 200


# Case 84: bytes no browser sends ---------------------------------------------


def test_malformed_requests_get_400_or_414_with_printable_logs_and_no_harm(
    catcher: CallbackCatcher, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kit")
    host = f"Host: 127.0.0.1:{catcher.port}\r\n\r\n".encode()
    attempts = {
        "bad escape": b"GET /callback?code=%ZZ&state=" + state.encode(),
        "not UTF-8": b"GET /callback?code=%FF&state=" + state.encode(),
        "NUL": b"GET /callback?code=a\x00b&state=" + state.encode(),
        "escaped NUL": b"GET /callback?code=a%00b&state=" + state.encode(),
        "70 KiB": b"GET /callback?code=" + b"a" * 70 * 1024 + b"&state=x",
    }

    statuses = {
        name: status_of(send_raw(catcher.port, line + b" HTTP/1.1\r\n" + host))
        for name, line in attempts.items()
    }
    tls = status_of(send_raw(catcher.port, tls_client_hello()))

    assert statuses == {
        "bad escape": 400,
        "not UTF-8": 400,
        "NUL": 400,
        "escaped NUL": 400,
        "70 KiB": 414,
    }
    assert tls == 400
    assert catcher.poll() is None
    assert get(catcher, code="real", state=state).status_code == 200
    messages = [record.getMessage() for record in caplog.records]
    assert messages
    assert all(message.isprintable() for message in messages)


# Case 85: a reload --------------------------------------------------------------


def test_reloading_a_caught_callback_shows_already_completed_and_delivers_once(
    catcher: CallbackCatcher, state: str
) -> None:
    delivered: list[object] = []
    catcher.on_result(delivered.append)

    first = get(catcher, code="the-code", state=state)
    second = get(catcher, code="the-code", state=state)
    result = catcher.wait(1)

    assert first.status_code == 200
    assert second.status_code == 200
    assert "Already completed" in second.text
    assert delivered == [result]
    assert result.code == "the-code"


# Cases 86, 87, 88: other paths, methods and hosts -------------------------------


@pytest.mark.parametrize(
    "target", ["/", "/favicon.ico", "/callback/", "/other?code=c&state={state}"]
)
def test_other_paths_get_404_and_are_not_read_as_a_callback(
    catcher: CallbackCatcher, state: str, target: str
) -> None:
    answer = raw_get(catcher, target.format(state=state))

    assert status_of(answer) == 404
    assert catcher.poll() is None
    assert catcher.status.rejected == 0


@pytest.mark.parametrize("method", ["POST", "HEAD", "PUT"])
def test_other_methods_on_the_callback_path_get_405(
    catcher: CallbackCatcher, state: str, method: str
) -> None:
    answer = requests.request(
        method,
        catcher.url,
        params={"code": "c", "state": state},
        data=b"code=c" if method != "HEAD" else None,
        timeout=2,
    )

    assert answer.status_code == 405
    assert answer.headers["Allow"] == "GET"
    assert catcher.poll() is None


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "192.0.2.2:{port}"]
)
def test_request_naming_another_host_gets_400(
    catcher: CallbackCatcher, state: str, host: str
) -> None:
    answer = raw_get(
        catcher, f"/callback?code=c&state={state}", host.format(port=catcher.port)
    )

    assert status_of(answer) == 400
    assert catcher.poll() is None


def test_request_naming_localhost_and_the_port_is_answered(
    catcher: CallbackCatcher, state: str
) -> None:
    answer = raw_get(
        catcher, f"/callback?code=c&state={state}", f"localhost:{catcher.port}"
    )

    assert status_of(answer) == 200
    assert catcher.wait(1).code == "c"


# Case 91: timeout ---------------------------------------------------------------


def test_no_callback_in_time_raises_timeout_error_frees_the_port_and_drops_the_state(
    state: str,
) -> None:
    catcher = CallbackCatcher(REDIRECT_URI, state, timeout=0.2).start()

    with pytest.raises(CallbackTimeoutError, match="released port") as timed_out:
        catcher.wait()

    assert isinstance(timed_out.value, TimeoutError)
    assert isinstance(timed_out.value, KitError)
    assert catcher.status.phase == "timed out"
    with socket.socket() as again:
        again.bind(("127.0.0.1", catcher.port))
    with pytest.raises(StateMismatchError, match="works only once"):
        parse_redirected_url(
            f"{catcher.url}?code=c&state={state}", state, redirect_uri=catcher.url
        )


def test_a_shorter_wait_times_out_while_the_catcher_keeps_listening(
    catcher: CallbackCatcher, state: str
) -> None:
    with pytest.raises(CallbackTimeoutError, match="still listens"):
        catcher.wait(0.05)

    assert get(catcher, code="late", state=state).status_code == 200
    assert catcher.wait(1).code == "late"


# Cases 92, 93: the page ---------------------------------------------------------


def test_pages_load_nothing_keep_no_copy_and_never_show_the_code(
    catcher: CallbackCatcher, state: str
) -> None:
    code = "code-" + secrets.token_urlsafe(24)
    pages = [
        get(catcher, code=code, state="wrong"),
        requests.get(catcher.url.replace("/callback", "/favicon.ico"), timeout=2),
        get(catcher, code=code, state=state),
        get(catcher, code=code, state=state),
    ]

    for page in pages:
        assert page.headers["Referrer-Policy"] == "no-referrer"
        assert page.headers["Cache-Control"] == "no-store"
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        assert code not in page.text
        assert state not in page.text
        for marker in ("http://", "https://", "src=", "<link", "<script"):
            assert marker not in page.text
    assert "go back to the notebook" in pages[2].text


def test_next_and_redirect_parameters_are_ignored_and_nothing_redirects(
    catcher: CallbackCatcher, state: str
) -> None:
    evil = "https://evil.example/steal"

    answer = get(catcher, code="c", state=state, next=evil, redirect=evil)

    assert answer.status_code == 200
    assert "Location" not in answer.headers
    assert "evil.example" not in answer.text
    assert catcher.wait(1).code == "c"


# Case 94: iss ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "iss", [{"iss": "https://attacker.example"}, {}], ids=["other", "absent"]
)
def test_unexpected_or_missing_iss_aborts_before_any_token_request(
    state: str, iss: dict[str, str]
) -> None:
    expected = "https://auth.atlassian.com"
    with CallbackCatcher(
        REDIRECT_URI, state, timeout=5, expected_iss=expected
    ) as catcher:
        answer = get(catcher, code="c", state=state, **iss)

        with pytest.raises(IssuerMismatchError, match="RFC 9207"):
            catcher.wait(1)

    assert answer.status_code == 400
    assert catcher.result is None


def test_expected_iss_is_kept_on_the_result(state: str) -> None:
    expected = "https://auth.example"
    with CallbackCatcher(
        REDIRECT_URI, state, timeout=5, expected_iss=expected
    ) as catcher:
        get(catcher, code="c", state=state, iss=expected)

        result = catcher.wait(1)

    assert result.iss == expected


# Secrets in logs and displays ---------------------------------------------------


def test_logs_and_repr_never_hold_the_code_or_the_state(
    catcher: CallbackCatcher, state: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kit")
    code = "code-" + secrets.token_urlsafe(24)

    get(catcher, code=code, state="wrong-" + state)
    get(catcher, code=code, state=state)
    result = catcher.wait(1)
    catcher.stop()

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "caught a code (sha256:" in logged
    for shown in (logged, repr(result), str(result), repr(catcher.status)):
        assert code not in shown
        assert state not in shown


# The API a widget uses ------------------------------------------------------------


def test_poll_and_on_result_follow_a_decline_without_blocking(
    catcher: CallbackCatcher, state: str
) -> None:
    seen: list[object] = []
    arrived = threading.Event()
    catcher.on_result(lambda outcome: (seen.append(outcome), arrived.set()))
    before = catcher.poll()

    get(catcher, error="access_denied", state=state)
    arrived.wait(1)

    assert before is None
    assert isinstance(seen[0], AccessDeniedError)
    with pytest.raises(AccessDeniedError):
        catcher.poll()


def test_on_result_registered_after_the_end_is_called_at_once(
    catcher: CallbackCatcher, state: str
) -> None:
    get(catcher, code="c", state=state)
    result = catcher.wait(1)
    seen: list[object] = []

    catcher.on_result(seen.append)

    assert seen == [result]


def test_stop_releases_the_port_and_ends_an_unfinished_sign_in(state: str) -> None:
    catcher = CallbackCatcher(REDIRECT_URI, state, timeout=10).start()

    catcher.stop()

    with socket.socket() as again:
        again.bind(("127.0.0.1", catcher.port))
    with pytest.raises(AuthorizationError, match="stopped"):
        catcher.wait(0)
    assert catcher.status.phase == "stopped"


def test_an_idle_connection_does_not_hold_up_the_real_callback(state: str) -> None:
    catcher = CallbackCatcher(REDIRECT_URI, state, timeout=5, read_timeout=2)
    # a browser's speculative connection, opened and never used
    with catcher, socket.create_connection(("127.0.0.1", catcher.port), timeout=2):
        started = time.monotonic()
        answer = get(catcher, code="c", state=state)
        took = time.monotonic() - started

    assert answer.status_code == 200
    assert took < 1.0  # far under the 2 s a single-threaded server would wait


def test_a_pasted_url_given_to_a_running_catcher_wins_once(
    catcher: CallbackCatcher, state: str
) -> None:
    pasted = catcher.submit_redirected_url(f"{catcher.url}?code=pasted&state={state}")

    browser = get(catcher, code="other", state=state)

    assert pasted.code == "pasted"
    assert pasted.via == "paste"
    assert "Already completed" in browser.text
    assert catcher.wait(0) == pasted


# End to end, with a running sandbox --------------------------------------------


def register_catcher_app(flow: Flow, catcher: CallbackCatcher) -> App:
    app = App(
        client_id="callback-tests",
        client_secret="callback-tests-secret",
        name="Callback tests",
        redirect_uris=(catcher.url,),
        scopes=frozenset({"read:page:confluence", "read:me"}),
    )
    flow.sandbox.register_app(app)
    return app


def consent_and_follow(
    flow: Flow, app: App, state: str, decision: str = "accept"
) -> requests.Response:
    page = flow.authorize(
        client_id=app.client_id,
        redirect_uri=app.redirect_uris[0],
        scope="read:page:confluence read:me",
        state=state,
    )
    redirect = flow.consent(page, decision)
    assert redirect.status_code == 302, redirect.text
    return requests.get(redirect.headers["location"], timeout=2, allow_redirects=False)


def expected_issuer(flow: Flow) -> str | None:
    return flow.url if flow.sandbox.settings.issue_iss_parameter else None


def test_sandbox_consent_lands_on_the_catcher_and_its_code_is_redeemed(
    flow: Flow, state: str
) -> None:
    with CallbackCatcher(
        REDIRECT_URI, state, timeout=10, expected_iss=expected_issuer(flow)
    ) as catcher:
        app = register_catcher_app(flow, catcher)

        # the browser: authorize, Accept, follow the redirect to the catcher
        landed = consent_and_follow(flow, app, state)
        result: CallbackResult = catcher.wait(2)

    # the client: the code, at the token endpoint
    tokens = flow.exchange(
        result.code,
        client_id=app.client_id,
        client_secret=app.client_secret,
        redirect_uri=catcher.url,
    )

    assert landed.status_code == 200
    assert "go back to the notebook" in landed.text
    assert result.iss == expected_issuer(flow)
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["access_token"]


def test_sandbox_cancel_lands_on_the_catcher_as_a_decline(
    flow: Flow, state: str
) -> None:
    with CallbackCatcher(
        REDIRECT_URI, state, timeout=10, expected_iss=expected_issuer(flow)
    ) as catcher:
        app = register_catcher_app(flow, catcher)

        landed = consent_and_follow(flow, app, state, decision="cancel")

        with pytest.raises(AccessDeniedError):
            catcher.wait(2)

    assert "You declined" in landed.text

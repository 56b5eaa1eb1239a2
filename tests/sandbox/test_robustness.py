"""Hostile and broken requests, security cases 69-75: the sandbox answers 4xx fast,
never 5xx, never hangs, and keeps serving; a property test sweeps every route.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sandbox_driver import Flow, started_flow

from kit.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REDIRECT_URI
from kit.sandbox.scenario import PINECONE

BODY_TIMEOUT = 0.5
MIB = 1024 * 1024
TOKEN = "/oauth/token"
FORM = "application/x-www-form-urlencoded"


@dataclass
class RawAnswer:
    """What came back on a raw socket, and how long it took."""

    status: int | None
    headers: dict[str, str]
    body: bytes
    seconds: float


@pytest.fixture(scope="module")
def flows() -> Iterator[dict[str, Flow]]:
    """One sandbox per profile, with a short body timeout, for the whole module."""
    with (
        started_flow("atlassian", body_timeout=BODY_TIMEOUT) as atlassian,
        started_flow("rfc", body_timeout=BODY_TIMEOUT) as rfc,
    ):
        yield {"atlassian": atlassian, "rfc": rfc}


@pytest.fixture(params=["atlassian", "rfc"])
def any_flow(request: pytest.FixtureRequest, flows: dict[str, Flow]) -> Flow:
    """The module's sandbox of each profile in turn."""
    return flows[str(request.param)]


def send_raw(flow: Flow, data: bytes, timeout: float = 5.0) -> RawAnswer:
    """Send bytes on a fresh connection; read one response, or until it closes."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", flow.sandbox.port), timeout) as sock:
        sock.sendall(data)
        received = _read_response(sock)
    return _parse(received, time.monotonic() - started)


def _read_response(sock: socket.socket) -> bytes:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = sock.recv(65536)
        if not chunk:
            return received
        received += chunk
    head, _, body = received.partition(b"\r\n\r\n")
    length = _content_length(head)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head + b"\r\n\r\n" + body


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value)
    return 0


def _parse(received: bytes, seconds: float) -> RawAnswer:
    if not received:
        return RawAnswer(None, {}, b"", seconds)
    head, _, body = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return RawAnswer(int(lines[0].split()[1]), headers, body, seconds)


def health(flow: Flow) -> int:
    """The status of `/_sandbox/health` on a fresh connection."""
    answer = send_raw(flow, b"GET /_sandbox/health HTTP/1.1\r\nHost: x\r\n\r\n")
    return answer.status or 0


def _is_rfc(flow: Flow) -> bool:
    return flow.sandbox.settings.profile == "rfc"


def post_token(
    flow: Flow, body: bytes, content_type: str | None = FORM
) -> requests.Response:
    """POST raw bytes to the token endpoint."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    return flow.http.post(f"{flow.url}{TOKEN}", data=body, headers=headers)


# Case 69: bodies too large, or slower than they claim.


def test_a_declared_body_over_one_mib_gets_413_before_it_is_sent(
    any_flow: Flow,
) -> None:
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: {2 * MIB}\r\n\r\n"

    answer = send_raw(any_flow, head.encode())

    assert answer.status == 413
    assert answer.seconds < 1
    assert "access-control-allow-origin" not in answer.headers
    assert answer.headers["connection"] == "close"
    assert json.loads(answer.body)["error"] == "invalid_request"
    assert health(any_flow) == 200


def test_a_client_that_sends_its_whole_oversized_body_still_reads_the_413(
    any_flow: Flow,
) -> None:
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: {4 * MIB}\r\n\r\n"

    # Without a lingering close the unread bytes would reset the connection.
    answer = send_raw(any_flow, head.encode() + b"a" * (4 * MIB))

    assert answer.status == 413
    assert health(any_flow) == 200


def test_an_oversized_body_announced_with_expect_100_continue_is_never_invited(
    any_flow: Flow,
) -> None:
    head = (
        f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
        f"Content-Length: {2 * MIB}\r\n\r\n"
    )

    answer = send_raw(any_flow, head.encode())

    assert answer.status == 413
    assert answer.seconds < 0.5


def test_a_chunked_body_over_one_mib_gets_413(any_flow: Flow) -> None:
    chunk = b"a" * (MIB // 2)
    framed = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"

    answer = send_raw(any_flow, head.encode() + framed * 3 + b"0\r\n\r\n")

    assert answer.status == 413
    assert health(any_flow) == 200


def test_a_body_of_exactly_one_mib_is_read_and_judged(any_flow: Flow) -> None:
    start = f"client_id={SANDBOX_CLIENT_ID}&client_secret={SANDBOX_CLIENT_SECRET}"
    start += "&grant_type="
    body = start.encode() + b"x" * (MIB - len(start))

    answer = post_token(any_flow, body)
    one_more = post_token(any_flow, body + b"x")

    assert answer.status_code == 400
    assert answer.json()["error"] == "unsupported_grant_type"
    assert one_more.status_code == 413


def test_a_body_shorter_than_its_content_length_times_out_with_408(
    any_flow: Flow,
) -> None:
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Type: {FORM}\r\n"

    answer = send_raw(any_flow, (head + "Content-Length: 100\r\n\r\ncode=").encode())

    assert answer.status == 408
    assert BODY_TIMEOUT <= answer.seconds < BODY_TIMEOUT + 2
    assert answer.headers["connection"] == "close"
    assert health(any_flow) == 200


def test_a_slow_body_does_not_hold_up_other_clients(any_flow: Flow) -> None:
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n"
    port = any_flow.sandbox.port

    with socket.create_connection(("127.0.0.1", port), 5) as stalled:
        stalled.sendall(head.encode())
        started = time.monotonic()
        status = health(any_flow)
        waited = time.monotonic() - started

    assert status == 200
    assert waited < BODY_TIMEOUT


def test_a_client_that_hangs_up_mid_body_leaves_the_server_serving(
    any_flow: Flow,
) -> None:
    head = f"POST {TOKEN} HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"
    port = any_flow.sandbox.port

    with socket.create_connection(("127.0.0.1", port), 5) as sock:
        sock.sendall(head.encode() + b"grant_type=")

    assert health(any_flow) == 200


# Case 70: bytes that are not UTF-8 percent-encoding.


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=authorization_code&code=%ZZ",
        b"grant_type=authorization_code&code=%FF%FE",
        b"grant_type=authorization_code&code=%00abc",
        b"grant_type=authorization_code&code=\xff\xfe",
        b"grant_type=authorization_code&code=abc\x00",
        b"grant_type=authorization_code&code=%",
        b"grant_type=authorization_code&code=%C3%28",
        b"grant%00type=authorization_code",
    ],
)
def test_an_unreadable_form_body_is_an_invalid_request(
    any_flow: Flow, body: bytes
) -> None:
    answer = post_token(any_flow, body)

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    assert answer.json()["error"] == "invalid_request"


@pytest.mark.parametrize("query", ["x=%ZZ", "x=%FF", "x=%", "x=%C3%28"])
def test_an_unreadable_query_is_a_400_json_error(any_flow: Flow, query: str) -> None:
    answers = [
        send_raw(any_flow, f"GET {path}?{query} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        for path in ("/me", "/authorize", f"/ex/confluence/{PINECONE.cloud_id}/wiki")
    ]

    assert [answer.status for answer in answers] == [400, 400, 400]
    assert all(json.loads(a.body)["error"] == "invalid_request" for a in answers)
    cors = [a.headers.get("access-control-allow-origin") for a in answers]
    assert cors == ["*", None, "*"]  # the API host allows CORS, /authorize never


@pytest.mark.parametrize(
    "request_line",
    [b"GET /me?x=\xff HTTP/1.1", b"GET /m\xe9 HTTP/1.1", b"GET /me\x00 HTTP/1.1"],
)
def test_raw_bytes_in_the_request_line_get_400_from_the_http_layer(
    any_flow: Flow, request_line: bytes
) -> None:
    answer = send_raw(any_flow, request_line + b"\r\nHost: x\r\n\r\n")

    assert answer.status == 400
    assert health(any_flow) == 200


def test_percent_encoded_nul_and_bad_utf8_in_a_path_are_just_not_found(
    any_flow: Flow,
) -> None:
    answer = send_raw(any_flow, b"GET /m%FFe%00 HTTP/1.1\r\nHost: x\r\n\r\n")

    assert answer.status == 404
    assert json.loads(answer.body)["status"] == 404


def test_an_unreadable_consent_form_gets_an_error_page(any_flow: Flow) -> None:
    answer = any_flow.http.post(
        f"{any_flow.url}/authorize/consent",
        data=b"consent_id=%ZZ&decision=accept",
        headers={"Content-Type": FORM},
        allow_redirects=False,
    )

    assert answer.status_code == 400
    assert "location" not in answer.headers


# Case 71: the rfc profile reads form bodies only.


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", None])
def test_rfc_refuses_a_token_request_that_is_not_a_form(
    flows: dict[str, Flow], content_type: str | None
) -> None:
    flow = flows["rfc"]
    body = json.dumps({"grant_type": "authorization_code", "code": "x"}).encode()

    answer = post_token(flow, body, content_type)

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


# Case 72: the atlassian profile reads JSON, strictly.


@pytest.mark.parametrize(
    "body",
    [
        b'{"grant_type": "authorization_code", ',
        b'["grant_type", "authorization_code"]',
        b'{"grant_type": "authorization_code", "code": 123}',
        b'{"grant_type": "authorization_code", "code": {"nested": "x"}}',
        b'{"grant_type": "authorization_code", "code": ["a", "b"]}',
        b'{"grant_type": "authorization_code", "grant_type": "refresh_token"}',
        b'"just a string"',
        b"\xff\xfe{}",
        b"[" * 100_000,
        b"",
    ],
)
def test_atlassian_refuses_malformed_json_with_invalid_request(
    flows: dict[str, Flow], body: bytes
) -> None:
    answer = post_token(flows["atlassian"], body, "application/json")

    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_atlassian_exchanges_a_code_sent_as_valid_json(
    flows: dict[str, Flow],
) -> None:
    flow = flows["atlassian"]

    answer = flow.exchange(flow.code())

    assert answer.status_code == 200
    assert answer.json()["token_type"] == "Bearer"


# Case 73: very long values are judged, never a 5xx.


def test_a_100_kib_code_is_an_ordinary_bad_code(any_flow: Flow) -> None:
    answer = any_flow.exchange("c" * 100 * 1024)

    assert answer.status_code == 400
    expected = "invalid_grant" if _is_rfc(any_flow) else "invalid_request"
    assert answer.json()["error"] == expected
    assert "c" * 100 not in answer.text


def test_a_10_kib_client_id_fails_client_authentication(any_flow: Flow) -> None:
    client_id = "i" * 10 * 1024

    answer = any_flow.exchange(any_flow.code(), client_id=client_id)

    assert answer.status_code == 401
    assert answer.json()["error"] in ("access_denied", "invalid_client")
    assert client_id[:100] not in answer.text


def test_a_url_just_under_64_kib_reaches_the_sandbox(any_flow: Flow) -> None:
    long_value = "v" * 60 * 1024

    me = any_flow.http.get(f"{any_flow.url}/me", params={"x": long_value})
    token = any_flow.http.post(f"{any_flow.url}{TOKEN}", params={"code": long_value})
    unknown = any_flow.http.get(f"{any_flow.url}/{long_value}")

    assert me.status_code == 401
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    assert unknown.status_code == 404
    assert long_value not in token.text


def test_a_url_over_64_kib_gets_400_from_the_http_layer(any_flow: Flow) -> None:
    long_value = "v" * 70 * 1024

    answer = any_flow.http.get(f"{any_flow.url}/me", params={"x": long_value})

    assert answer.status_code == 400
    assert health(any_flow) == 200


def test_a_64_kib_authorization_header_is_an_unknown_token(any_flow: Flow) -> None:
    headers = {"Authorization": "Bearer " + "t" * 64 * 1024}

    answer = any_flow.http.get(f"{any_flow.url}/me", headers=headers)

    assert answer.status_code == 401


# Case 74: Unicode where ASCII is expected.


def test_a_scope_with_non_ascii_letters_is_an_invalid_scope(any_flow: Flow) -> None:
    answer = any_flow.authorize(scope="r\u00e9ad:me")

    assert answer.status_code == 302
    assert "error=invalid_scope" in answer.headers["location"]
    assert answer.headers["location"].isascii()


def test_a_full_width_client_id_is_an_unknown_client_in_ascii_json(
    any_flow: Flow,
) -> None:
    answer = any_flow.exchange("x", client_id="\uff43lient")

    assert answer.status_code == 401
    assert answer.content.isascii()
    assert answer.json()["error"] in ("access_denied", "invalid_client")


def test_a_full_width_client_id_gets_an_error_page_not_a_redirect(
    any_flow: Flow,
) -> None:
    answer = any_flow.authorize(client_id="\uff43lient")

    assert answer.status_code == 400
    assert "location" not in answer.headers


# Case 75: random requests on every route (hypothesis).

_ROUTES = [
    "/authorize",
    "/authorize/consent",
    TOKEN,
    "/oauth/token/accessible-resources",
    "/me",
    f"/ex/confluence/{PINECONE.cloud_id}/wiki/api/v2/spaces",
    f"/ex/confluence/{PINECONE.cloud_id}/wiki/api/v2/pages",
    f"/ex/confluence/{PINECONE.cloud_id}/wiki/api/v2/pages/1",
    f"/ex/confluence/{PINECONE.cloud_id}/wiki/rest/api/search",
    f"/ex/confluence/{PINECONE.cloud_id}/wiki/rest/api/content",
    f"/ex/confluence/{PINECONE.cloud_id}/rest/api/space",
    "/ex/confluence/not-a-cloud-id/wiki/api/v2/spaces",
    "/_sandbox/health",
    "/_sandbox/clock",
    "/_sandbox/settings",
    "/_sandbox/revoke",
    "/.well-known/oauth-authorization-server",
    "/",
    "/wiki/api/v2/spaces",
    "/no/such/route",
]
_API_ROUTES = ("/me", "/oauth/token/accessible-resources")
# Routes whose error answers are JSON (the others answer HTML pages).
_JSON_PREFIXES = ("/oauth/", "/me", "/ex/", "/_sandbox/", "/.well-known/", "/no/")
# Methods the HTTP layer (llhttp) parses; others get its own plain-text 400.
_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"]
_PARAM_NAMES = [
    "client_id",
    "client_secret",
    "redirect_uri",
    "scope",
    "state",
    "response_type",
    "audience",
    "code",
    "grant_type",
    "refresh_token",
    "consent_id",
    "decision",
    "site",
    "access_token",
    "code_verifier",
    "code_challenge",
    "limit",
    "cursor",
    "cql",
    "body-format",
    "expand",
    "advance",
]
_CONTENT_TYPES = [
    FORM,
    "application/json",
    "application/json; charset=utf-16",
    "text/plain",
    "multipart/form-data; boundary=x",
    "",
    "application/x-www-form-urlencoded; charset=latin-1",
    "\u00e9/\u00e9",
]
_header_text = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
)
_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            SANDBOX_CLIENT_ID,
            SANDBOX_CLIENT_SECRET,
            SANDBOX_REDIRECT_URI,
            "authorization_code",
            "refresh_token",
            "code",
            "api.atlassian.com",
            "read:me offline_access",
            "accept",
            PINECONE.cloud_id,
            "-1",
            "1e999",
        ]
    ),
)
_pairs = st.lists(st.tuples(st.sampled_from(_PARAM_NAMES), _values), max_size=6)
_json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | _values,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_values, inner),
    max_leaves=8,
)


def _encode_pairs(pairs: list[tuple[str, str]]) -> str:
    return "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in pairs)


_queries = st.one_of(
    st.just(""),
    _pairs.map(_encode_pairs),
    st.sampled_from(["x=%ZZ", "code=%00", "state=%FF", "a=%", "&&==&", "a=b;c"]),
)
_bodies = st.one_of(
    st.binary(max_size=300),
    _pairs.map(lambda pairs: _encode_pairs(pairs).encode()),
    st.dictionaries(st.sampled_from(_PARAM_NAMES), _values).map(
        lambda d: json.dumps(d).encode()
    ),
    _json_values.map(lambda value: json.dumps(value).encode()),
)


@st.composite
def _headers(draw: st.DrawFn, access_token: str) -> dict[str, str]:
    basic = base64.b64encode(
        f"{SANDBOX_CLIENT_ID}:{SANDBOX_CLIENT_SECRET}".encode()
    ).decode()
    headers: dict[str, str] = {}
    authorization = draw(
        st.one_of(
            st.none(),
            st.sampled_from(
                [f"Bearer {access_token}", f"bearer  {access_token} ", f"Basic {basic}"]
            ),
            _header_text,
        )
    )
    if authorization is not None:
        headers["Authorization"] = authorization
    content_type = draw(st.none() | st.sampled_from(_CONTENT_TYPES))
    if content_type is not None:
        headers["Content-Type"] = content_type.encode().decode("latin-1")
    for name in draw(
        st.lists(
            st.sampled_from(
                ["Origin", "Accept", "Sec-Fetch-Site", "Cookie", "X-Forwarded-For"]
            ),
            max_size=3,
            unique=True,
        )
    ):
        headers[name] = draw(_header_text)
    return headers


@dataclass
class _Probe:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@st.composite
def _probes(draw: st.DrawFn, access_token: str) -> _Probe:
    route = draw(st.sampled_from(_ROUTES))
    suffix = draw(st.one_of(st.just(""), st.text(max_size=12).map(quote)))
    query = draw(_queries)
    path = route + (f"/{suffix}" if suffix else "") + (f"?{query}" if query else "")
    return _Probe(
        method=draw(st.sampled_from(_METHODS)),
        path=path,
        headers=draw(_headers(access_token)),
        body=draw(_bodies),
    )


@pytest.fixture(scope="module", params=["atlassian", "rfc"])
def fuzzed(request: pytest.FixtureRequest) -> Iterator[tuple[Flow, str]]:
    """A sandbox of its own per profile for the property tests, and a valid token."""
    scope = "read:me read:page:confluence read:space:confluence search:confluence"
    with started_flow(str(request.param), body_timeout=BODY_TIMEOUT) as flow:
        yield flow, str(flow.tokens(scope=scope)["access_token"])


def _send(flow: Flow, probe: _Probe) -> tuple[http.client.HTTPResponse, bytes, float]:
    started = time.monotonic()
    connection = http.client.HTTPConnection("127.0.0.1", flow.sandbox.port, timeout=5)
    try:
        connection.request(probe.method, probe.path, probe.body, probe.headers)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    return response, body, time.monotonic() - started


@pytest.mark.slow
@settings(
    max_examples=600,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_random_requests_on_every_route_never_get_a_5xx_or_a_hang(
    fuzzed: tuple[Flow, str], data: st.DataObject
) -> None:
    flow, access_token = fuzzed
    probe = data.draw(_probes(access_token))

    response, body, seconds = _send(flow, probe)

    assert response.status < 500, (probe, body[:300])
    assert seconds < 5
    route = probe.path.split("?", 1)[0]
    if route in _API_ROUTES or route.startswith("/ex/"):
        assert response.getheader("access-control-allow-origin") == "*", probe
    if (
        probe.method != "HEAD"
        and response.status >= 400
        and route.startswith(_JSON_PREFIXES)
    ):
        assert response.getheader("content-type") == "application/json", probe
        json.loads(body)
    assert health(flow) == 200


@settings(max_examples=200, deadline=None)
@given(garbage=st.binary(min_size=1, max_size=400))
def test_random_bytes_on_a_raw_socket_get_at_most_a_400(
    fuzzed: tuple[Flow, str], garbage: bytes
) -> None:
    flow, _ = fuzzed

    with socket.create_connection(("127.0.0.1", flow.sandbox.port), 5) as sock:
        sock.sendall(garbage + b"\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        received = _read_response(sock)

    status = _parse(received, 0).status
    assert status is None or status < 500, received[:300]
    assert health(flow) == 200

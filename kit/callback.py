"""Step 3 of the flow: catch the redirect that carries the authorization code.

`CallbackCatcher` listens on the loopback interface at the redirect URI's port and
path (RFC 8252 section 7.3), checks `state` before anything else, and hands over a
`CallbackResult`. On a hub, a redirect URI that `jupyter-server-proxy` serves
(`<base>/proxy/<port>/<path>`) is caught on that port of `127.0.0.1`.
`parse_redirected_url` is the fallback for machines whose browser cannot reach
the kernel at all: paste the address you land on; the same checks run.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import selectors
import socket
import socketserver
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, Literal
from urllib.parse import SplitResult, parse_qsl, unquote_plus, urlsplit

from kit.callback_page import (
    PAGE_HEADERS,
    Page,
    already_page,
    caught_page,
    declined_page,
    error_page,
    issuer_page,
    rejected_page,
    status_page,
)
from kit.config import is_loopback
from kit.errors import (
    AccessDeniedError,
    AuthorizationError,
    CallbackPortError,
    CallbackTimeoutError,
    ConfigError,
    IssuerMismatchError,
    MalformedCallbackError,
    StateMismatchError,
    hide_in_notebooks,
)
from kit.hub import ProxyRoute, proxy_route

logger = logging.getLogger(__name__)

# The parameters an authorization response may carry (RFC 6749 section 4.1.2,
# RFC 9207). Any other name is ignored, as section 4.1.2 requires: `next=` and
# `redirect=` included, so the catcher never sends the browser anywhere.
RESPONSE_PARAMETERS = frozenset(
    {"code", "state", "error", "error_description", "error_uri", "iss", "scope"}
)
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MAX_CONNECTIONS = 32

Phase = Literal["not started", "listening", "caught", "failed", "timed out", "stopped"]


def fingerprint(value: str) -> str:
    """A short, stable stand-in for a secret: `sha256:` and 8 hex digits."""
    return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()[:8]


def printable(text: str, limit: int = 200) -> str:
    """`text` with control characters escaped and cut to `limit` characters."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


@dataclass(frozen=True, repr=False)
class CallbackResult:
    """A callback whose `state` matched: the code, and what came with it.

    `code` is the authorization code, to be exchanged within minutes; every
    display masks it. `scope` and `iss` are None when the redirect did not carry
    them (Atlassian sends neither). `received_at` is when it arrived.
    """

    code: str
    redirect_uri: str
    received_at: float
    state_fingerprint: str
    scope: str | None = None
    iss: str | None = None
    via: Literal["loopback", "paste"] = "loopback"

    def __repr__(self) -> str:
        return (
            f"CallbackResult(code=<masked {fingerprint(self.code)}>, "
            f"redirect_uri={self.redirect_uri!r}, received_at={self.received_at!r}, "
            f"state=<checked {self.state_fingerprint}>, scope={self.scope!r}, "
            f"iss={self.iss!r}, via={self.via!r})"
        )


@dataclass(frozen=True)
class ErrorResponse:
    """An OAuth error response (RFC 6749 section 4.1.2.1), state already checked."""

    error: str
    description: str | None
    error_uri: str | None

    def exception(self) -> AuthorizationError:
        said = f": {printable(self.description)}" if self.description else ""
        if self.error == "access_denied":
            return AccessDeniedError(
                "You declined on the consent page, so the app was given no access "
                f"(`access_denied`{said}). Run the authorization step again and "
                "press Accept to continue."
            )
        more = f" More at {printable(self.error_uri)}." if self.error_uri else ""
        return AuthorizationError(
            f"The authorization server answered `error={printable(self.error, 60)}`"
            f"{said}.{more} No code was issued; check the authorization URL "
            "(`client_id`, `scope`, `redirect_uri`) and start again.",
            error=self.error,
        )

    def page(self) -> Page:
        if self.error == "access_denied":
            return declined_page(self.description)
        return error_page(self.error, self.description, self.error_uri)


Outcome = CallbackResult | AuthorizationError


# The checks, shared by the catcher and the paste fallback ------------------------


def parse_query(query: str) -> list[tuple[str, str]]:
    """The query's name-value pairs, strictly decoded, or MalformedCallbackError.

    Raw spaces, control or non-ASCII characters, a `%` without two hex digits
    after it, and escapes that do not decode as UTF-8 are all refused.
    """
    raw = next((ch for ch in query if not "\x21" <= ch <= "\x7e"), None)
    if raw is not None:
        raise _malformed(f"it holds a raw {printable(raw)!r} character")
    if _BAD_ESCAPE.search(query):
        raise _malformed("a `%` in it is not followed by two hexadecimal digits")
    pairs = []
    for part in filter(None, query.split("&")):
        name, _, value = part.partition("=")
        try:
            pairs.append(
                (
                    unquote_plus(name, errors="strict"),
                    unquote_plus(value, errors="strict"),
                )
            )
        except UnicodeDecodeError as exc:
            raise _malformed("a `%` escape in it does not decode as UTF-8") from exc
    return pairs


def _malformed(problem: str) -> MalformedCallbackError:
    return MalformedCallbackError(
        f"The callback's query cannot be read: {problem}. Start again from a fresh "
        "authorization URL; if you pasted it, copy the whole address again."
    )


def _response_parameters(pairs: list[tuple[str, str]]) -> dict[str, list[str]]:
    """The known response parameters, each with all its values; others ignored."""
    params: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in RESPONSE_PARAMETERS:
            continue
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
            raise _malformed(f"its `{name}` holds a control character such as NUL")
        params.setdefault(name, []).append(value)
    return params


def verify_state(query: str, expected_state: str) -> dict[str, list[str]]:
    """Parse `query` and check its `state` first: constant time, exactly once.

    Nothing else in the query is looked at before this (RFC 6749 section 10.12;
    security cases 78 and 81): an `error` with a wrong state is a forgery, not a
    verdict of the authorization server.
    """
    params = _response_parameters(parse_query(query))
    states = params.get("state", [])
    if len(states) > 1:
        raise _malformed(f"`state` appears {len(states)} times instead of once")
    if not states:
        raise StateMismatchError(
            "The callback carries no `state`, so nothing shows that it answers this "
            "sign-in; it was rejected. If you pasted it, copy the whole address: it "
            "may have been cut short."
        )
    if not hmac.compare_digest(states[0].encode(), expected_state.encode()):
        raise StateMismatchError(
            f"The callback's `state` ({fingerprint(states[0])}) differs from the one "
            f"this sign-in sent ({fingerprint(expected_state)}): it answers another "
            "or an older authorization URL, or it is forged. Open the authorization "
            "URL of this run, and copy the whole address if you paste it."
        )
    return params


def verify_iss(params: dict[str, list[str]], expected_iss: str | None) -> str | None:
    """Check `iss` against the expected issuer by simple string comparison.

    RFC 9207 section 2.4: when the server sends `iss`, or is known to, a missing
    or different value means the answer may come from another server (a mix-up
    attack); the code must not be redeemed.
    """
    values = params.get("iss", [])
    if len(values) > 1:
        raise _malformed(f"`iss` appears {len(values)} times instead of once")
    iss = values[0] if values else None
    if expected_iss is None or iss == expected_iss:
        return iss
    if iss is None:
        problem = "carries no `iss`"
    else:
        problem = f"names the issuer `{printable(iss, 100)}`"
    raise IssuerMismatchError(
        f"The callback {problem}, but this sign-in went to `{expected_iss}`, which "
        "sends `iss` (RFC 9207): the answer may come from another server. Nothing "
        "was exchanged; start again, and check where the authorization URL points."
    )


def read_answer(
    params: dict[str, list[str]], **details: Any
) -> CallbackResult | ErrorResponse:
    """The code, or the error, of a callback whose state and issuer are checked.

    Only `error`, `error_description` and `error_uri` of an error are kept (case
    82); a parameter given twice, or both `code` and `error`, is malformed (83).
    """
    for name in ("code", "error", "error_description", "error_uri", "scope"):
        if len(params.get(name, [])) > 1:
            raise _malformed(f"`{name}` appears {len(params[name])} times")
    one = {name: values[0] for name, values in params.items()}
    if "error" in one and "code" in one:
        raise _malformed("it carries both `code` and `error`")
    if "error" in one:
        return ErrorResponse(
            one["error"], one.get("error_description"), one.get("error_uri")
        )
    if not one.get("code"):
        raise _malformed(
            "it carries neither a `code` nor an `error`, as if it were cut short"
        )
    return CallbackResult(
        code=one["code"],
        state_fingerprint=fingerprint(one["state"]),
        scope=one.get("scope"),
        iss=one.get("iss"),
        **details,
    )


class _SpentStates:
    """States whose sign-in finished: a state works once (RFC 9700 section 4.7.1).

    Only SHA-256 digests are kept, never the states themselves.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._digests: set[bytes] = set()

    def spend(self, state: str) -> None:
        with self._lock:
            self._digests.add(hashlib.sha256(state.encode()).digest())

    def is_spent(self, state: str) -> bool:
        with self._lock:
            return hashlib.sha256(state.encode()).digest() in self._digests


_SPENT = _SpentStates()


def _spent_error(state: str) -> StateMismatchError:
    return StateMismatchError(
        f"The `state` {fingerprint(state)} belongs to a sign-in that already "
        "finished (caught, declined, stopped or timed out), and a state works only "
        "once. Build a new authorization URL and start again."
    )


def _check_unspent(state: str) -> None:
    if not state:
        raise ConfigError(
            "`expected_state` is empty. Pass the `state` that went into the "
            "authorization URL."
        )
    if _SPENT.is_spent(state):
        raise _spent_error(state)


def _settle(
    params: dict[str, list[str]],
    expected_state: str,
    expected_iss: str | None,
    **details: Any,
) -> CallbackResult | ErrorResponse:
    """The end of the checks after `state`: issuer, then the answer; spends it."""
    try:
        verify_iss(params, expected_iss)
    except IssuerMismatchError:
        _SPENT.spend(expected_state)
        raise
    answer = read_answer(params, **details)
    _SPENT.spend(expected_state)
    return answer


# The paste-the-URL fallback -------------------------------------------------------


def parse_redirected_url(
    url: str,
    expected_state: str,
    *,
    redirect_uri: str,
    expected_iss: str | None = None,
    now: Callable[[], float] = time.time,
) -> CallbackResult:
    """Read the address the browser landed on after consent, with the same checks.

    For machines whose browser cannot reach the kernel (JupyterHub, Binder, a
    remote kernel): the browser shows an error page, but its address bar holds
    `redirect_uri?code=...&state=...`; paste that here. Raises
    `StateMismatchError`, `AccessDeniedError`, `IssuerMismatchError`,
    `MalformedCallbackError` or `AuthorizationError`, as the catcher would.
    """
    _check_unspent(expected_state)
    query = _pasted_query(url, redirect_uri)
    params = verify_state(query, expected_state)
    if _SPENT.is_spent(expected_state):
        raise _spent_error(expected_state)
    answer = _settle(
        params,
        expected_state,
        expected_iss,
        redirect_uri=redirect_uri,
        received_at=now(),
        via="paste",
    )
    if isinstance(answer, ErrorResponse):
        raise answer.exception()
    logger.debug("A pasted callback URL gave a code (%s).", fingerprint(answer.code))
    return answer


def _pasted_query(url: str, redirect_uri: str) -> str:
    """The query of a pasted URL, after checking that it is the redirect URI's."""
    text = url.strip()
    if not text:
        raise _bad_paste("Nothing was pasted", redirect_uri)
    if any(ch.isspace() for ch in text):
        raise _bad_paste(
            "The pasted URL holds spaces or line breaks; copy it again in one piece",
            redirect_uri,
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise _bad_paste("The pasted text is not a URL", redirect_uri) from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _bad_paste(
            "The pasted text is not a whole URL starting with `http`", redirect_uri
        )
    if _is_authorization_url(parts.path, parts.query):
        raise _bad_paste(
            "This is the authorization URL, the link you open to consent, not the "
            "address you land on afterwards. Open it and press Accept first",
            redirect_uri,
        )
    if _endpoint(text) != _endpoint(redirect_uri):
        shown = printable(
            f"{parts.scheme}://{parts.hostname}{_port(parts)}{parts.path}"
        )
        raise _bad_paste(
            f"This URL goes to `{shown}`, not the redirect URI", redirect_uri
        )
    if not parts.query:
        raise _bad_paste(
            "The URL has no `?code=...&state=...` part: it was cut short, or it is "
            "the redirect URI itself",
            redirect_uri,
        )
    return parts.query


def _bad_paste(problem: str, redirect_uri: str) -> MalformedCallbackError:
    return MalformedCallbackError(
        f"{problem}. After pressing Accept, copy the whole address of the page you "
        f"land on (it starts with `{redirect_uri}?`) and paste it."
    )


def _is_authorization_url(path: str, query: str) -> bool:
    names = {name for name, _ in parse_qsl(query, errors="replace")}
    return (
        path.rstrip("/").endswith("/authorize")
        or {
            "response_type",
            "client_id",
        }
        <= names
    )


def _port(parts: SplitResult) -> str:
    return f":{parts.port}" if parts.port else ""


def _endpoint(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (
        parts.scheme,
        parts.hostname or "",
        parts.port or default,
        parts.path or "/",
    )


# The loopback catcher -------------------------------------------------------------


@dataclass(frozen=True)
class _Loopback:
    """Where the catcher listens: the redirect URI's host, port and path.

    `route` is set behind jupyter-server-proxy: the public redirect URI, whose
    `Host` the proxy passes on, while the catcher listens on `127.0.0.1`.
    """

    host: str  # as written in the URI, brackets removed
    port: int
    path: str
    bind_hosts: tuple[str, ...]
    route: ProxyRoute | None = None


def _loopback(redirect_uri: str) -> _Loopback:
    """The listening address of a loopback or a proxied redirect URI, or ConfigError.

    RFC 8252 section 7.3: plain `http` on a loopback address; `localhost` is
    served on both 127.0.0.1 and ::1, since browsers may pick either. A URI of
    the form `<http(s) base>/proxy/<port>/<path>` is what jupyter-server-proxy
    forwards to `http://127.0.0.1:<port>/<path>`: the catcher listens there.
    """
    route = proxy_route(redirect_uri)
    if route is not None:
        return _Loopback("127.0.0.1", route.port, route.path, ("127.0.0.1",), route)
    try:
        parts = urlsplit(redirect_uri)
        port = parts.port
    except ValueError as exc:
        raise _not_loopback(redirect_uri, "does not have a valid port") from exc
    host = (parts.hostname or "").lower()
    checks = (
        (parts.scheme != "http", "does not start with `http://`"),
        (not is_loopback(redirect_uri), "does not name this machine"),
        (parts.username is not None, "carries a user name"),
        (bool(parts.query or parts.fragment), "has a query or a fragment"),
    )
    problem = next((text for failed, text in checks if failed), None)
    if problem:
        raise _not_loopback(redirect_uri, problem)
    binds = ("127.0.0.1", "::1") if host == "localhost" else (host,)
    return _Loopback(host, 80 if port is None else port, parts.path or "/", binds)


def _not_loopback(redirect_uri: str, problem: str) -> ConfigError:
    return ConfigError(
        f"The redirect URI {printable(redirect_uri)!r} {problem}, so the callback "
        "catcher cannot listen for it. Register a loopback redirect URI such as "
        "`http://127.0.0.1:8765/callback`; where the browser cannot reach this "
        "machine (JupyterHub, Binder), register the route jupyter-server-proxy "
        "serves, such as `https://hub.example.org/user/ada/proxy/8765/callback` "
        "(the setup check shows yours exactly); or paste the address you land on into "
        "`parse_redirected_url` instead (RFC 8252 section 7.3)."
    )


class _CatcherServer(socketserver.TCPServer):
    """One listening socket; each connection is served in a daemon thread."""

    allow_reuse_address = os.name != "nt"  # on Windows it would share the port
    request_queue_size = 16

    def __init__(self, host: str, port: int, catcher: CallbackCatcher) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        super().__init__((host, port), _CallbackHandler, bind_and_activate=False)
        self.catcher = catcher
        self.port = port
        self._connections: dict[threading.Thread, socket.socket] = {}
        self._lock = threading.Lock()
        try:
            self._listen(host, port)
        except BaseException:
            self.server_close()
            raise

    def _listen(self, host: str, port: int) -> None:
        if self.address_family == socket.AF_INET6:
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        if sys.platform == "win32":  # pragma: no cover - no port sharing there
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_EXCLUSIVEADDRUSE, 1)
        try:
            self.server_bind()
            self.server_activate()
        except OSError as exc:
            raise _port_error(host, port, exc) from exc
        bound, self.port = self.socket.getsockname()[:2]
        address = ipaddress.ip_address(bound)
        if address != ipaddress.ip_address(host) or not address.is_loopback:
            raise CallbackPortError(
                f"The catcher asked for {host} but is bound to {bound}; it stops "
                "rather than listen beyond this machine. Report this as a bug."
            )
        self.socket.setblocking(False)

    def process_request(self, request: Any, client_address: Any) -> None:
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address),
            name=f"kit-callback-{self.port}-connection",
            daemon=True,
        )
        with self._lock:
            full = len(self._connections) >= _MAX_CONNECTIONS
            if not full:
                self._connections[thread] = request
        if full:
            self.shutdown_request(request)
        else:
            thread.start()

    def _serve_connection(self, request: socket.socket, client_address: Any) -> None:
        try:
            self.finish_request(request, client_address)
        except Exception:  # one connection's failure is logged, the rest go on
            self.handle_error(request, client_address)
        finally:
            self.shutdown_request(request)
            with self._lock:
                self._connections.pop(threading.current_thread(), None)

    def shutdown_request(self, request: Any) -> None:
        """Send FIN, read what the client still sends, then close (no RST)."""
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(0.05)
            received = 0
            while received < 1 << 20 and (chunk := request.recv(65536)):
                received += len(chunk)
        except OSError:
            pass
        self.close_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.warning("The catcher failed to answer a request.", exc_info=True)

    def is_worker(self, thread: threading.Thread) -> bool:
        with self._lock:
            return thread in self._connections

    def close_connections(self, timeout: float = 1.0) -> None:
        """Cut every open connection and wait for its thread to end."""
        with self._lock:
            open_now = list(self._connections.items())
        for _, sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread, _ in open_now:
            if thread is not threading.current_thread():
                thread.join(timeout)


def _port_error(host: str, port: int, exc: OSError) -> CallbackPortError:
    shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return CallbackPortError(
        f"The callback catcher cannot listen on {shown}: {exc.strerror or exc}. "
        f"Another program, or a catcher from an earlier run, holds port {port}: stop "
        "it (`catcher.stop()`, or restart the kernel), or register a redirect URI "
        "with another port in the developer console and use that one."
    )


_EXPLANATIONS = {
    400: "The request could not be read as HTTP.",
    414: "The address is too long for a callback.",
    431: "The request's headers are too large.",
    501: "This small server only answers GET.",
}


class _CallbackHandler(BaseHTTPRequestHandler):
    """Answers one connection: Host, path and method first, then the callback."""

    protocol_version = "HTTP/1.1"
    server_version = "kit-callback"
    sys_version = ""
    server: _CatcherServer

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.catcher.read_timeout)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle(self) -> None:
        try:
            first = self.connection.recv(1, socket.MSG_PEEK)
        except OSError:
            return  # a connection opened ahead of time and never used
        if first == b"\x16":  # a TLS handshake record (RFC 8446 section 5.1)
            self.command = ""
            self._send(status_page(400, _TLS_EXPLANATION))
            logger.info("The catcher turned away a TLS (https) handshake with 400.")
        elif first:
            super().handle()

    def do_GET(self) -> None:
        self.close_connection = True
        target, _, query = self.path.partition("?")
        verdict = self._route(target, query)
        extra = (("Allow", "GET"),) if verdict.page.status == 405 else ()
        if verdict.location is not None:
            extra = (("Location", verdict.location),)
        try:
            self._send(verdict.page, extra)
        finally:
            # Only now is the sign-in over for `wait()`: a caller that stops
            # the catcher at once must not cut the page before it is sent.
            if verdict.ended:
                self.server.catcher.notify()
        logger.info(
            "The catcher answered %s %s with %d %s.",
            printable(self.command, 10),
            printable(target, 80),
            verdict.page.status,
            verdict.page.reason,
        )

    def _route(self, target: str, query: str) -> _Verdict:
        """Host, then path, then method; only then is the query looked at."""
        catcher = self.server.catcher
        if not catcher.host_allowed(self.headers.get_all("Host") or []):
            logger.warning("The catcher refused a request naming another Host.")
            return _Verdict(status_page(400, catcher.host_explanation))
        if target == START_PATH and catcher.authorization_url is not None:
            return catcher.front_door(self.command)
        if target != catcher.path:
            return _Verdict(
                status_page(404, f"This server only answers {catcher.path}.")
            )
        if self.command != "GET":
            return _Verdict(status_page(405, "Only GET is answered here."))
        return catcher.receive(query)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_POST(self) -> None:
        self.do_GET()

    def do_PUT(self) -> None:
        self.do_GET()

    def do_DELETE(self) -> None:
        self.do_GET()

    def send_error(
        self, code: int, message: str | None = None, explain: str | None = None
    ) -> None:
        """An unreadable request: our page, and no echo of what was sent."""
        self.close_connection = True
        page = status_page(code, _EXPLANATIONS.get(code, _EXPLANATIONS[400]))
        self._send(page)
        logger.info("The catcher answered an unreadable request with %d.", code)

    def _send(self, page: Page, extra: tuple[tuple[str, str], ...] = ()) -> None:
        """The whole answer in one write, so Nagle's algorithm never delays it."""
        body = page.render()
        lines = [f"HTTP/1.1 {page.status} {page.reason}"]
        headers = (*PAGE_HEADERS, *extra, ("Date", formatdate(usegmt=True)))
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(head if self.command == "HEAD" else head + body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Not used: the request line holds the code and the state."""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("The catcher's HTTP layer: %s", printable(format % args, 120))


START_PATH = "/start"
_START_ENDED = (
    "This sign-in has ended, so this link no longer leads to the consent page."
)


def _checked_authorization_url(url: str | None) -> str | None:
    if url is None:
        return None
    parts = urlsplit(url)
    bad = parts.scheme not in {"http", "https"} or not parts.netloc
    if bad or any(c in url for c in "\r\n"):
        raise ConfigError(
            "`authorization_url` is not an http(s) URL on one line. Pass the "
            "request's `url`."
        )
    return url


_TLS_EXPLANATION = (
    "This small server speaks http, not https: the redirect URI must start with "
    "http://."
)
_HOST_EXPLANATION = (
    "The request names another host than this machine's loopback address."
)


@dataclass(frozen=True)
class _Verdict:
    """The catcher's answer to one request: the page, whether the sign-in ended
    with it, and for a paste, the refusal to raise."""

    page: Page
    ended: bool = False
    refusal: AuthorizationError | None = None
    location: str | None = None


@dataclass(frozen=True)
class CatcherStatus:
    """A snapshot for a progress display: phase, time left, turned-away callbacks."""

    phase: Phase
    seconds_left: float
    rejected: int
    last_rejection: str | None = field(default=None)


class CallbackCatcher:
    """Listens on the loopback interface for the redirect that ends consent.

    >>> with CallbackCatcher(uri, state, timeout=300) as catcher:  # doctest: +SKIP
    ...     webbrowser.open(authorization_url)
    ...     result = catcher.wait()

    It takes the first callback whose `state` matches (constant-time compare),
    turns away forged or unreadable ones and keeps waiting for the real one,
    answers a reload with "already completed", and never redirects. `poll()`,
    `status` and `on_result` let a widget follow it without blocking the kernel.

    On a hub, pass the redirect URI that jupyter-server-proxy serves,
    `https://hub.example.org/user/ada/proxy/8765/callback`: the catcher listens
    on `127.0.0.1:8765` at `/callback`, accepts that URI's `Host` besides the
    loopback names, and reports the public URI as the result's `redirect_uri`.
    """

    def __init__(
        self,
        redirect_uri: str,
        expected_state: str,
        *,
        timeout: float = 300.0,
        expected_iss: str | None = None,
        authorization_url: str | None = None,
        now: Callable[[], float] = time.time,
        read_timeout: float = 5.0,
    ) -> None:
        self._where = _loopback(redirect_uri)
        _check_unspent(expected_state)
        self._expected_state = expected_state
        self._expected_iss = expected_iss
        self.authorization_url = _checked_authorization_url(authorization_url)
        self.timeout = timeout
        self.read_timeout = read_timeout
        self._now = now
        self._lock = threading.Lock()
        self._servers: list[_CatcherServer] = []
        self._thread: threading.Thread | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None
        self._deadline = 0.0
        self._stopping = False
        self._outcome: Outcome | None = None
        self._done = threading.Event()
        self._callbacks: list[Callable[[Outcome], None]] = []
        self._rejected = 0
        self._last_rejection: str | None = None
        self._phase: Phase = "not started"

    # Life cycle ---------------------------------------------------------------

    def start(self) -> CallbackCatcher:
        """Bind the loopback port and serve from a daemon thread; returns self."""
        if self._thread is not None:
            return self
        if self._phase != "not started":
            raise RuntimeError(
                "A catcher runs once: create a new one, with a new state."
            )
        self._servers = self._bind()
        self._wake = socket.socketpair()
        self._deadline = time.monotonic() + self.timeout
        self._phase = "listening"
        self._thread = threading.Thread(
            target=self._serve, name=f"kit-callback-{self.port}", daemon=True
        )
        self._thread.start()
        logger.info(
            "The callback catcher listens at %s for %g s.", self.url, self.timeout
        )
        if self._where.route is not None:
            logger.info(
                "Behind jupyter-server-proxy, it listens at %s.", self.loopback_url
            )
        return self

    def stop(self) -> None:
        """Stop listening and release the port; an unfinished sign-in is dropped."""
        thread = self._thread
        if thread is None or self._wake is None:
            return
        with self._lock:
            self._stopping = True
        with contextlib.suppress(OSError):
            self._wake[1].send(b"x")
        current = threading.current_thread()
        if current is not thread and not any(
            s.is_worker(current) for s in self._servers
        ):
            thread.join()

    def __enter__(self) -> CallbackCatcher:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # What a notebook or a widget reads ------------------------------------------

    @property
    def url(self) -> str:
        """The redirect URI served, with the port filled in when it was 0.

        Behind jupyter-server-proxy, the public redirect URI: the one the code
        is bound to, and the one the exchange sends.
        """
        route = self._where.route
        if route is not None:
            return route.with_port(self.port).uri
        return self.loopback_url

    @property
    def loopback_url(self) -> str:
        """Where the catcher listens, as a program on this machine reaches it."""
        host = f"[{self._where.host}]" if ":" in self._where.host else self._where.host
        return f"http://{host}:{self.port}{self._where.path}"

    @property
    def start_url(self) -> str | None:
        """`http://127.0.0.1:<port>/start`, which sends the browser to consent.

        Only with `authorization_url`: a link to show in place of the
        authorization URL, whose `state` then never lands in a notebook's
        saved outputs. It answers while the catcher listens, then 410. Behind
        jupyter-server-proxy it is `<base>/proxy/<port>/start`.
        """
        if self.authorization_url is None:
            return None
        return self.url.removesuffix(self._where.path) + START_PATH

    @property
    def port(self) -> int:
        return self._servers[0].port if self._servers else self._where.port

    @property
    def path(self) -> str:
        return self._where.path

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """The (host, port) of every listening socket, from `getsockname()`."""
        return [
            s.socket.getsockname()[:2] for s in self._servers if s.socket.fileno() >= 0
        ]

    @property
    def result(self) -> CallbackResult | None:
        """The result once caught; None while waiting or after a failure."""
        outcome = self._outcome
        return outcome if isinstance(outcome, CallbackResult) else None

    @property
    def error(self) -> AuthorizationError | None:
        """The error that ended the sign-in, if one did."""
        outcome = self._outcome
        return outcome if isinstance(outcome, AuthorizationError) else None

    @property
    def status(self) -> CatcherStatus:
        """Where the catcher stands now, without blocking."""
        with self._lock:
            left = max(0.0, self._deadline - time.monotonic()) if self._thread else 0.0
            if self._phase != "listening":
                left = 0.0
            return CatcherStatus(
                self._phase, left, self._rejected, self._last_rejection
            )

    def poll(self) -> CallbackResult | None:
        """The result if caught, None if still waiting; raises what ended it."""
        __tracebackhide__ = hide_in_notebooks
        if self._done.is_set() and isinstance(self._outcome, AuthorizationError):
            raise self._outcome
        return self.result if self._done.is_set() else None

    def wait(self, timeout: float | None = None) -> CallbackResult:
        """Block until the sign-in ends; return the result or raise its error.

        `timeout` bounds this wait only: the catcher keeps listening until its
        own deadline. Raises `CallbackTimeoutError` (a `TimeoutError`),
        `AccessDeniedError`, `IssuerMismatchError` or `AuthorizationError`.
        """
        __tracebackhide__ = hide_in_notebooks
        if self._thread is None:
            raise RuntimeError("The catcher is not listening: call `start()` first.")
        if not self._done.wait(timeout):
            raise CallbackTimeoutError(
                f"No callback arrived within {timeout:g} s; the catcher still "
                f"listens at {self.url}. Call `wait()` again, or `stop()` it."
            )
        result = self.poll()
        assert result is not None  # done, and no error: a result
        return result

    def on_result(self, callback: Callable[[Outcome], None]) -> None:
        """Call `callback` once with the result or the error, from a worker thread.

        If the sign-in already ended, it is called at once, in this thread.
        """
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        self._call(callback)

    def front_door(self, method: str) -> _Verdict:
        """`/start`: a redirect to the fixed authorization URL, while listening.

        Not an open redirect: the target is the one given at construction,
        and the query of the request is never read (case 93).
        """
        if method != "GET":
            return _Verdict(status_page(405, "Only GET is answered here."))
        with self._lock:
            listening = self._phase == "listening"
        if not listening or self.authorization_url is None:
            return _Verdict(status_page(410, _START_ENDED))
        page = Page(302, "Consent", ("Continue to the consent page.",))
        return _Verdict(page, location=self.authorization_url)

    def submit_redirected_url(self, url: str) -> CallbackResult:
        """The paste fallback, for a running catcher: first of the two wins.

        The same checks as a browser's callback; the state stays single-use
        across both ways in.
        """
        verdict = self.receive(_pasted_query(url, self.url), via="paste")
        if verdict.ended:
            self.notify()
        if verdict.refusal is not None:
            raise verdict.refusal
        return self.wait(0)

    # The serving side ---------------------------------------------------------

    def host_allowed(self, values: list[str]) -> bool:
        """Whether the Host header names this catcher (a DNS rebinding guard)."""
        port = self.port
        hosts = {"127.0.0.1", "localhost", self._where.host, *self._where.bind_hosts}
        names = {f"[{host}]" if ":" in host else host for host in hosts}
        allowed = {f"{name}:{port}" for name in names}
        if port == 80:
            allowed |= names
        if self._where.route is not None:  # what the proxy passes on, and no more
            allowed |= self._where.route.host_names
        return len(values) == 1 and values[0].strip().lower() in allowed

    @property
    def host_explanation(self) -> str:
        """The words of the 400 page for a request that names another host."""
        route = self._where.route
        if route is None:
            return _HOST_EXPLANATION
        return (
            "The request names another host than this machine's loopback address "
            f"and {sorted(route.host_names)[0]}, the host of the redirect URI. If "
            "consent sent you here, register the redirect URI with the host your "
            "address bar shows."
        )

    def receive(
        self, query: str, via: Literal["loopback", "paste"] = "loopback"
    ) -> _Verdict:
        """Check one callback's query; the page to show, and whether it ended.

        The order is fixed: parse, `state`, single use, `iss`, then `code` or
        `error`. A rejected callback leaves the catcher waiting.
        """
        with self._lock:
            try:
                params = verify_state(query, self._expected_state)
            except (MalformedCallbackError, StateMismatchError) as exc:
                return self._reject(exc)
            if self._outcome is not None or _SPENT.is_spent(self._expected_state):
                return _Verdict(
                    already_page(), refusal=_spent_error(self._expected_state)
                )
            try:
                answer = _settle(
                    params,
                    self._expected_state,
                    self._expected_iss,
                    redirect_uri=self.url,
                    received_at=self._now(),
                    via=via,
                )
            except MalformedCallbackError as exc:
                return self._reject(exc)
            except IssuerMismatchError as exc:
                self._finish(exc, "failed")
                return _Verdict(issuer_page(), ended=True)
            if isinstance(answer, ErrorResponse):
                self._finish(answer.exception(), "failed")
                return _Verdict(answer.page(), ended=True)
            self._finish(answer, "caught")
            logger.info("The catcher caught a code (%s).", fingerprint(answer.code))
            return _Verdict(caught_page(), ended=True)

    def notify(self) -> None:
        """Announce the ending: `wait()` returns, the `on_result` callbacks run.

        Called once the browser has its page (or the paste its answer), so
        that stopping the catcher right after `wait()` cuts nothing unsent.
        """
        with self._lock:
            if self._outcome is None:
                return
            callbacks, self._callbacks = self._callbacks, []
            self._done.set()
        for callback in callbacks:
            self._call(callback)

    def _call(self, callback: Callable[[Outcome], None]) -> None:
        outcome = self._outcome
        assert outcome is not None  # only called once it ended
        try:
            callback(outcome)
        except Exception:
            logger.exception("An `on_result` callback of the catcher failed.")

    def _reject(self, exc: MalformedCallbackError | StateMismatchError) -> _Verdict:
        self._rejected += 1
        self._last_rejection = exc.message
        logger.warning("The catcher turned a callback away: %s", exc.message)
        return _Verdict(rejected_page(exc.message), refusal=exc)

    def _finish(self, outcome: Outcome, phase: Phase) -> None:
        """Record how the sign-in ended (lock held); the first ending stays."""
        if self._outcome is None:
            self._outcome = outcome
            self._phase = phase
            _SPENT.spend(self._expected_state)

    def _bind(self) -> list[_CatcherServer]:
        hosts = self._where.bind_hosts
        servers = [_CatcherServer(hosts[0], self._where.port, self)]
        try:
            for host in hosts[1:]:
                servers += self._bind_also(host, servers[0].port)
        except BaseException:
            for server in servers:
                server.server_close()
            raise
        for server in servers:
            logger.debug("The catcher is bound to %s.", server.socket.getsockname()[:2])
        return servers

    def _bind_also(self, host: str, port: int) -> list[_CatcherServer]:
        """Also listen on `host` (::1 for `localhost`), if this machine has it."""
        try:
            return [_CatcherServer(host, port, self)]
        except OSError as exc:
            cause = exc.__cause__ if isinstance(exc, CallbackPortError) else exc
            if isinstance(cause, OSError) and cause.errno in _NO_SUCH_ADDRESS:
                logger.debug("No %s on this machine; listening without it.", host)
                return []
            raise

    def _serve(self) -> None:
        """The accept loop: until stopped or the deadline, then release all."""
        assert self._wake is not None  # set by start()
        try:
            with selectors.DefaultSelector() as selector:
                for server in self._servers:
                    selector.register(server.socket, selectors.EVENT_READ, server)
                selector.register(self._wake[0], selectors.EVENT_READ, None)
                while not self._stopping:
                    left = self._deadline - time.monotonic()
                    if left <= 0:
                        break
                    for key, _ in selector.select(left):
                        if isinstance(key.data, _CatcherServer) and not self._stopping:
                            key.data.handle_request()
        finally:
            self._release()

    def _release(self) -> None:
        """Close the port, cut open connections, and end an unfinished sign-in."""
        for server in self._servers:
            server.server_close()
        for server in self._servers:
            server.close_connections()
        if self._wake is not None:
            for sock in self._wake:
                sock.close()
        with self._lock:
            ending = self._ending()
            if ending is not None:
                self._finish(*ending)
            elif self._phase == "listening":
                self._phase = "stopped"
        logger.info("The callback catcher stopped; port %d is free.", self.port)
        self.notify()

    def _ending(self) -> tuple[AuthorizationError, Phase] | None:
        if self._outcome is not None:
            return None
        if self._stopping:
            return AuthorizationError(_STOPPED), "stopped"
        return CallbackTimeoutError(self._timeout_message()), "timed out"

    def _timeout_message(self) -> str:
        message = (
            f"No callback reached {self.url} within {self.timeout:g} s, so the "
            f"catcher stopped, released port {self.port} and discarded its `state`. "
            "Build a new authorization URL and start again."
        )
        if self._rejected:
            return message + (
                f" It turned away {self._rejected} callback(s); the last: "
                f"{self._last_rejection}"
            )
        if self._where.route is not None:
            return message + (
                " Check that the server runs jupyter-server-proxy and that the "
                f"browser landed on {self.url}; or paste the address you land on "
                "into `submit_redirected_url` instead."
            )
        return message + (
            " If the browser cannot reach this machine (JupyterHub, Binder, a "
            "remote kernel), paste the address you land on into "
            "`parse_redirected_url` instead."
        )


_STOPPED = (
    "The catcher was stopped before a callback arrived, and its `state` is "
    "discarded. Build a new authorization URL and start again."
)
_NO_SUCH_ADDRESS = {errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT}

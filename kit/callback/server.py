"""The catcher's small HTTP server: loopback only, one thread per connection,
Host, path and method checked before anything else.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import socketserver
import sys
import threading
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from kit.callback.answers import printable
from kit.callback.pages import (
    PAGE_HEADERS,
    Page,
    status_page,
)
from kit.config import is_loopback
from kit.errors import (
    AuthorizationError,
    CallbackPortError,
    ConfigError,
)
from kit.hub import ProxyRoute, proxy_route

if TYPE_CHECKING:
    from kit.callback.catcher import CallbackCatcher

logger = logging.getLogger(__name__)

_MAX_CONNECTIONS = 32


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


def loopback_of(redirect_uri: str) -> _Loopback:
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


class CatcherServer(socketserver.TCPServer):
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
    server: CatcherServer

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

    def _route(self, target: str, query: str) -> Verdict:
        """Host, then path, then method; only then is the query looked at."""
        catcher = self.server.catcher
        if not catcher.host_allowed(self.headers.get_all("Host") or []):
            logger.warning("The catcher refused a request naming another Host.")
            return Verdict(status_page(400, catcher.host_explanation))
        if target == START_PATH and catcher.authorization_url is not None:
            return catcher.front_door(self.command)
        if target != catcher.path:
            return Verdict(
                status_page(404, f"This server only answers {catcher.path}.")
            )
        if self.command != "GET":
            return Verdict(status_page(405, "Only GET is answered here."))
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
START_ENDED = (
    "This sign-in has ended, so this link no longer leads to the consent page."
)


def checked_authorization_url(url: str | None) -> str | None:
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
HOST_EXPLANATION = (
    "The request names another host than this machine's loopback address."
)


@dataclass(frozen=True)
class Verdict:
    """The catcher's answer to one request: the page, whether the sign-in ended
    with it, and for a paste, the refusal to raise."""

    page: Page
    ended: bool = False
    refusal: AuthorizationError | None = None
    location: str | None = None

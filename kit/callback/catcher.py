"""`CallbackCatcher`: listen, take the first callback whose state matches, turn
away the rest, and let a widget follow it without blocking the kernel.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import selectors
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Literal

from kit.callback.answers import (
    SPENT,
    CallbackResult,
    ErrorResponse,
    Outcome,
    check_unspent,
    fingerprint,
    settle,
    spent_error,
    verify_state,
)
from kit.callback.pages import (
    Page,
    already_page,
    caught_page,
    issuer_page,
    rejected_page,
    status_page,
)
from kit.callback.paste import pasted_query
from kit.callback.server import (
    HOST_EXPLANATION,
    START_ENDED,
    START_PATH,
    CatcherServer,
    Verdict,
    checked_authorization_url,
    loopback_of,
)
from kit.errors import (
    AuthorizationError,
    CallbackPortError,
    CallbackTimeoutError,
    IssuerMismatchError,
    MalformedCallbackError,
    StateMismatchError,
    hide_in_notebooks,
)

logger = logging.getLogger(__name__)

Phase = Literal["not started", "listening", "caught", "failed", "timed out", "stopped"]


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
        self._where = loopback_of(redirect_uri)
        check_unspent(expected_state)
        self._expected_state = expected_state
        self._expected_iss = expected_iss
        self.authorization_url = checked_authorization_url(authorization_url)
        self.timeout = timeout
        self.read_timeout = read_timeout
        self._now = now
        self._lock = threading.Lock()
        self._servers: list[CatcherServer] = []
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

    def front_door(self, method: str) -> Verdict:
        """`/start`: a redirect to the fixed authorization URL, while listening.

        Not an open redirect: the target is the one given at construction,
        and the query of the request is never read (case 93).
        """
        if method != "GET":
            return Verdict(status_page(405, "Only GET is answered here."))
        with self._lock:
            listening = self._phase == "listening"
        if not listening or self.authorization_url is None:
            return Verdict(status_page(410, START_ENDED))
        page = Page(302, "Consent", ("Continue to the consent page.",))
        return Verdict(page, location=self.authorization_url)

    def submit_redirected_url(self, url: str) -> CallbackResult:
        """The paste fallback, for a running catcher: first of the two wins.

        The same checks as a browser's callback; the state stays single-use
        across both ways in.
        """
        verdict = self.receive(pasted_query(url, self.url), via="paste")
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
            return HOST_EXPLANATION
        return (
            "The request names another host than this machine's loopback address "
            f"and {sorted(route.host_names)[0]}, the host of the redirect URI. If "
            "consent sent you here, register the redirect URI with the host your "
            "address bar shows."
        )

    def receive(
        self, query: str, via: Literal["loopback", "paste"] = "loopback"
    ) -> Verdict:
        """Check one callback's query; the page to show, and whether it ended.

        The order is fixed: parse, `state`, single use, `iss`, then `code` or
        `error`. A rejected callback leaves the catcher waiting.
        """
        with self._lock:
            try:
                params = verify_state(query, self._expected_state)
            except (MalformedCallbackError, StateMismatchError) as exc:
                return self._reject(exc)
            if self._outcome is not None or SPENT.is_spent(self._expected_state):
                return Verdict(
                    already_page(), refusal=spent_error(self._expected_state)
                )
            try:
                answer = settle(
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
                return Verdict(issuer_page(), ended=True)
            if isinstance(answer, ErrorResponse):
                self._finish(answer.exception(), "failed")
                return Verdict(answer.page(), ended=True)
            self._finish(answer, "caught")
            logger.info("The catcher caught a code (%s).", fingerprint(answer.code))
            return Verdict(caught_page(), ended=True)

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

    def _reject(self, exc: MalformedCallbackError | StateMismatchError) -> Verdict:
        self._rejected += 1
        self._last_rejection = exc.message
        logger.warning("The catcher turned a callback away: %s", exc.message)
        return Verdict(rejected_page(exc.message), refusal=exc)

    def _finish(self, outcome: Outcome, phase: Phase) -> None:
        """Record how the sign-in ended (lock held); the first ending stays."""
        if self._outcome is None:
            self._outcome = outcome
            self._phase = phase
            SPENT.spend(self._expected_state)

    def _bind(self) -> list[CatcherServer]:
        hosts = self._where.bind_hosts
        servers = [CatcherServer(hosts[0], self._where.port, self)]
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

    def _bind_also(self, host: str, port: int) -> list[CatcherServer]:
        """Also listen on `host` (::1 for `localhost`), if this machine has it."""
        try:
            return [CatcherServer(host, port, self)]
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
                        if isinstance(key.data, CatcherServer) and not self._stopping:
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

"""Running the sandbox: in a background thread for notebooks and tests, or in front.

`Sandbox().start()` binds `127.0.0.1` on a free port, serves from a daemon thread and
returns once the port answers; `stop()` shuts it down. The server is uvicorn, with
the sandbox's ASGI app and its own socket, so the port is known before serving starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
from collections.abc import Iterator
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from kit.sandbox.asgi import BODY_TIMEOUT, SandboxASGI
from kit.sandbox.clock import Clock
from kit.sandbox.context import Context
from kit.sandbox.heap import Freezer
from kit.sandbox.scenario import App, Site, sandbox_app
from kit.sandbox.settings import Settings

logger = logging.getLogger("kit.sandbox")
_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_GRACE = 0.5  # seconds `stop()` lets requests in flight finish
_SHUTDOWN_POLL = 0.005  # seconds between looks at the connections still open


class _Server(uvicorn.Server):
    """uvicorn's server, minus the re-raise of SIGINT or SIGTERM after shutdown,
    plus a stop that neither waits for the next tick nor sleeps a fixed 0.1 s.

    uvicorn raises the signal again once it has stopped, which turns a clean Ctrl-C
    into a `KeyboardInterrupt` traceback and a SIGTERM into death by signal. The
    sandbox's command line promises a clean exit with status 0 instead.

    `stop_requested` carries a signal that arrived before serving began (the
    command line catches them from the moment it prints its URL): the server then
    starts and stops at once, instead of missing the request.
    """

    def __init__(
        self, config: uvicorn.Config, stop_requested: threading.Event | None = None
    ) -> None:
        super().__init__(config)
        self.stop_requested = stop_requested or threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None

    async def main_loop(self) -> None:
        """uvicorn's loop of 0.1 s ticks, but woken at once by `request_exit`."""
        self._loop, self._wake = asyncio.get_running_loop(), asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def request_exit(self) -> None:
        """Ask the server to stop, from any thread, without waiting for a tick."""
        self.should_exit = True
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(wake.set)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's graceful shutdown, polling every few milliseconds.

        uvicorn sleeps 0.1 s after asking connections to close and then polls in
        0.1 s steps; idle keep-alive connections close on the loop's next turn, so
        a sandbox stopped in a notebook or a test waited 0.1 s for nothing. Here
        the wait ends as soon as the connections and their tasks are gone, or after
        `timeout_graceful_shutdown`, when the tasks left are cancelled.
        """
        for server in self.servers:
            server.close()
        for sock in sockets or []:
            sock.close()
        state = self.server_state
        for connection in list(state.connections):
            connection.shutdown()
        loop = asyncio.get_running_loop()
        grace = self.config.timeout_graceful_shutdown  # None: wait for them all
        deadline = None if grace is None else loop.time() + grace
        while (state.connections or state.tasks) and not self.force_exit:
            if deadline is not None and loop.time() >= deadline:
                for task in state.tasks:
                    task.cancel(msg="the sandbox stopped before this request ended")
                break
            await asyncio.sleep(_SHUTDOWN_POLL)
        for server in self.servers:
            await server.wait_closed()
        if not self.force_exit:
            await self.lifespan.shutdown()

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Stop on SIGINT or SIGTERM while serving; then restore, never re-raise."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._stop) for sig in _STOP_SIGNALS}
        if self.stop_requested.is_set():
            self.should_exit = True
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, sig: int, frame: FrameType | None) -> None:
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C stops without waiting
        self.stop_requested.set()
        self.request_exit()


class Sandbox:
    """An offline Atlassian: auth and API hosts on one local origin.

    >>> with Sandbox(profile="rfc") as sandbox:   # doctest: +SKIP
    ...     sandbox.clock.advance(minutes=11)

    `apps` replaces the kit's own sandbox app, `sites` the scenario's two sites;
    keyword arguments beyond these change settings (`rate_limit_per_minute=5`).
    """

    def __init__(
        self,
        profile: str = "atlassian",
        *,
        settings: Settings | None = None,
        clock: Clock | None = None,
        apps: tuple[App, ...] | None = None,
        sites: tuple[Site, ...] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        allow_remote_admin: bool = False,
        body_timeout: float = BODY_TIMEOUT,
        **overrides: Any,
    ) -> None:
        chosen = settings or Settings.for_profile(profile)
        if overrides:
            chosen = chosen.with_changes(**overrides)
        self.ctx = Context.create(chosen, clock, apps or (sandbox_app(),))
        self.ctx.allow_remote_admin = allow_remote_admin
        if sites is not None:
            self.ctx.sites = sites
        self.host = host
        self.port = port
        self.body_timeout = body_timeout
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None

    @property
    def url(self) -> str:
        """The base URL, for both `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def clock(self) -> Clock:
        """The sandbox's clock: `sandbox.clock.advance(minutes=11)`."""
        return self.ctx.clock

    @property
    def settings(self) -> Settings:
        """The settings in force now."""
        return self.ctx.settings

    def configure(self, **changes: Any) -> Settings:
        """Change settings while running, e.g. `configure(code_lifetime=120)`."""
        self.ctx.settings = self.ctx.settings.with_changes(**changes)
        return self.ctx.settings

    def register_app(self, app: App) -> None:
        """Register another app, as the developer console would."""
        self.ctx.store.register_app(app)

    def bind(self) -> socket.socket:
        """Open the listening socket; the port is known from here on."""
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say
        # TCP, and without it every keep-alive answer waits 40 ms (Nagle).
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            raise OSError(
                f"The sandbox cannot listen on {self.host}:{self.port}: {exc}. "
                "Choose another port with --port, or 0 for a free one."
            ) from exc
        sock.listen(1024)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._socket = sock
        self.ctx.minter.issuer = self.url
        return sock

    def _make_server(self, stop_requested: threading.Event | None = None) -> _Server:
        config = uvicorn.Config(
            SandboxASGI(self.ctx, body_timeout=self.body_timeout),
            lifespan="off",
            ws="none",  # no WebSocket upgrades: every request is plain HTTP
            log_config=None,  # leave the notebook's or the test's logging alone
            log_level="warning",
            access_log=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=2,
            server_header=False,
            date_header=True,
        )
        return _Server(config, stop_requested)

    def start(self, timeout: float = 10.0) -> Sandbox:
        """Serve from a background thread; return once the server is listening."""
        if self._thread is not None:
            return self
        sock = self.bind()
        self._server = self._make_server()
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run_in_thread,
            args=(self._server, sock, ready),
            name=f"kit-sandbox-{self.port}",
            daemon=True,
        )
        self._thread.start()
        if not ready.wait(timeout) or not self._server.started:
            self.stop()
            raise RuntimeError("The sandbox did not start in time; see the log.")
        logger.info("The sandbox serves at %s.", self.url)
        return self

    @staticmethod
    def _run_in_thread(
        server: uvicorn.Server, sock: socket.socket, ready: threading.Event
    ) -> None:
        async def serve() -> None:
            task = asyncio.create_task(server.serve(sockets=[sock]))
            while not server.started and not task.done():
                await asyncio.sleep(0.002)
            ready.set()
            await task

        try:
            asyncio.run(serve())
        finally:
            ready.set()

    def serve_forever(self, stop_requested: threading.Event | None = None) -> None:
        """Serve in this thread until Ctrl-C or SIGTERM, or `stop_requested` is set.

        Called from the main thread, it handles both signals itself and returns
        normally; an event already set makes it start and stop at once. A server
        of its own, it keeps its collector's pauses short (`kit.sandbox.heap`).
        """
        sock = self._socket or self.bind()
        self._server = self._make_server(stop_requested)
        freezer = Freezer().start()
        try:
            self._server.run(sockets=[sock])
        finally:
            freezer.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and release the port; safe to call twice, or before start.

        Requests in flight get half a second to finish; after that the server stops
        without them, so that a client stalled mid-request cannot hold it open.
        """
        if self._server is not None:
            self._server.request_exit()
        if self._thread is not None:
            self._thread.join(min(_GRACE, timeout))
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._thread = None
        self._server = None
        self._socket = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<Sandbox {self.settings.profile} {state} at {self.url}>"

"""A scripted HTTP server on `127.0.0.1:0`, for tests of the kit's transport.

    with FakeHTTP() as fake:
        fake.answer("/oauth/token", 307, headers={"Location": other.url})
        fake.answer("/slow", blackhole=True)
        ...  # send requests to fake.url + path
        assert fake.received_at("/oauth/token")[0].method == "POST"

Each path answers as scripted with `answer` (an unscripted path answers 404):
a status, headers and body bytes, after a `delay`; or it accepts the request and
never answers (`blackhole`); or it streams `stream` bytes in 64 KB chunks, with
no `Content-Length` unless the headers give one. Every request that reaches the
server is kept in `received`, in order of arrival. Answers are HTTP/1.0, so each
connection carries one exchange.
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

CHUNK = 64 * 1024
HANDLER_TIMEOUT = 5.0  # seconds a connection may idle before the server drops it
POLL_INTERVAL = 0.02  # seconds; how soon `stop` takes effect


@dataclass(frozen=True)
class Received:
    """One request as it reached the fake; `headers` keys are lower case."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Answer:
    """What a path answers; see `FakeHTTP.answer`."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    delay: float = 0.0
    blackhole: bool = False
    stream: int = 0


class FakeHTTP:
    """The server; a context manager that starts it and stops it."""

    def __init__(self) -> None:
        self._answers: dict[str, Answer] = {}
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _Server(self)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_INTERVAL,), daemon=True
        )

    @property
    def url(self) -> str:
        """`http://127.0.0.1:<port>`, without a trailing slash."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(
        self,
        path: str,
        status: int = 200,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        json: Any = None,
        delay: float = 0.0,
        blackhole: bool = False,
        stream: int = 0,
    ) -> None:
        """Script `path` (without its query): every request to it gets this answer.

        `json` is a shortcut for a JSON body and its `Content-Type`.
        """
        headers = dict(headers or {})
        if json is not None:
            body = jsonlib.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        self._answers[path] = Answer(status, headers, body, delay, blackhole, stream)

    @property
    def received(self) -> list[Received]:
        """Every request received so far, oldest first."""
        with self._lock:
            return list(self._received)

    def received_at(self, path: str) -> list[Received]:
        """The requests received for `path` (without its query)."""
        return [r for r in self.received if r.path.partition("?")[0] == path]

    def start(self) -> FakeHTTP:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release blackholed requests, stop serving, and wait for the handlers."""
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> FakeHTTP:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _record(self, request: Received) -> Answer:
        with self._lock:
            self._received.append(request)
        return self._answers.get(request.path.partition("?")[0], Answer(404))


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # so that `stop` waits for the handlers

    def __init__(self, fake: FakeHTTP) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = HANDLER_TIMEOUT

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_GET  # noqa: N815

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests read `received` instead."""

    def _serve(self) -> None:
        fake = self.server.fake
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        answer = fake._record(Received(self.command, self.path, headers, body))
        if answer.blackhole:
            fake._stopping.wait()  # accepted, never answered, until the fake stops
            return
        if fake._stopping.wait(answer.delay):
            return
        # A client that stops reading, as a capped one should, is no error.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError, TimeoutError):
            self._write(answer)

    def _write(self, answer: Answer) -> None:
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        names = {name.lower() for name in answer.headers}
        if not answer.stream and "content-length" not in names:
            self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        self.wfile.write(answer.body)
        left = answer.stream
        while left > 0 and not self.server.fake._stopping.is_set():
            piece = min(CHUNK, left)
            self.wfile.write(b"x" * piece)
            left -= piece

"""The sandbox as an ASGI application, for uvicorn or any ASGI server.

It reads the body with a size cap and a time limit, turns the ASGI scope into a
`Request`, calls the synchronous handler (the handlers do no I/O), and writes the
`Response` in one `http.response.body` message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kit.sandbox import app
from kit.sandbox.context import Context
from kit.sandbox.http import (
    BadRequestError,
    Request,
    Response,
    json_response,
    parse_query,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1024 * 1024
BODY_TIMEOUT = 10.0
DRAIN_LIMIT = 8 * MAX_BODY
DRAIN_TIME = 2.0
DRAIN_IDLE = 0.1


class _TooLargeError(Exception):
    pass


class SandboxASGI:
    """An ASGI callable over a sandbox `Context`.

    `body_timeout` is how long a request body may take to arrive in full; a client
    that declares more bytes than it sends gets 408 once it runs out.
    """

    def __init__(self, ctx: Context, body_timeout: float = BODY_TIMEOUT) -> None:
        self.ctx = ctx
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        response = await self._respond(scope, receive)
        app.add_api_cors(str(scope.get("path", "")), response)
        await _send(send, response)

    async def _respond(self, scope: Scope, receive: Receive) -> Response:
        declared = _declared_length(scope)
        if declared is not None and declared > MAX_BODY:
            if not _expects_continue(scope):
                await _drain(receive)
            return _closing_error(413, "The request body is larger than 1 MiB.")
        try:
            if declared == 0 or (declared is None and not _chunked(scope)):
                body = await _read_body(receive)  # nothing to wait for
            else:
                async with asyncio.timeout(self.body_timeout):  # no task of its own
                    body = await _read_body(receive)
        except _TooLargeError:
            await _drain(receive)
            return _closing_error(413, "The request body is larger than 1 MiB.")
        except TimeoutError:
            return _closing_error(408, "The request body took too long to arrive.")
        try:
            request = _to_request(scope, body)
        except BadRequestError as exc:
            return _plain_error(400, f"The request could not be read: {exc}.")
        return app.handle(request, self.ctx)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _drain(receive: Receive) -> None:
    """Read and drop what the client is still sending, briefly, before refusing.

    Closing a connection with unread bytes makes the kernel send a reset, which can
    destroy the 413 before the client reads it (the "lingering close" of HTTP
    servers). A client that sends nothing more for `DRAIN_IDLE` seconds, or more
    than `DRAIN_LIMIT` bytes, or for longer than `DRAIN_TIME`, is cut off.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_TIME
    drained = 0
    while drained <= DRAIN_LIMIT:
        wait = min(DRAIN_IDLE, deadline - loop.time())
        if wait <= 0:
            return
        try:
            message = await asyncio.wait_for(receive(), wait)
        except TimeoutError:
            return
        drained += len(message.get("body", b""))
        if message["type"] == "http.disconnect" or not message.get("more_body"):
            return


def _expects_continue(scope: Scope) -> bool:
    """Whether the client waits for `100 Continue` (it then sends no body)."""
    return any(name == b"expect" for name, _ in scope.get("headers", []))


def _chunked(scope: Scope) -> bool:
    """Whether a body follows in chunks, without a declared length."""
    return any(name == b"transfer-encoding" for name, _ in scope.get("headers", []))


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _to_request(scope: Scope, body: bytes) -> Request:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    try:
        query_text = scope.get("query_string", b"").decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadRequestError("the query string holds raw non-ASCII bytes") from exc
    client = scope.get("client") or ("127.0.0.1", 0)
    server = scope.get("server") or ("127.0.0.1", 80)
    return Request(
        method=scope["method"],
        path=scope["path"],
        query=parse_query(query_text) if query_text else [],
        headers=headers,
        body=body,
        client_host=str(client[0]),
        scheme=scope.get("scheme", "http"),
        host=headers.get("host") or f"{server[0]}:{server[1]}",
        raw_path=bytes(scope.get("raw_path") or b"").decode("latin-1"),
    )


def _plain_error(status: int, message: str) -> Response:
    # Shaped so that it also passes as a token-endpoint error (RFC 6749 5.2).
    body = {
        "error": "invalid_request",
        "error_description": message,
        "message": message,
    }
    return json_response(status, body, [("cache-control", "no-store")])


def _closing_error(status: int, message: str) -> Response:
    """An error sent before the body was read in full: the connection must close,
    or the unread rest of the body would be taken for the next request."""
    response = _plain_error(status, message)
    response.headers.append(("connection", "close"))
    return response


async def _send(send: Send, response: Response) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send(
        {"type": "http.response.start", "status": response.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": response.body})

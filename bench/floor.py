"""The floor: the sandbox's routes answered with fixed bytes, and nothing else.

The same HTTP stack as the sandbox (uvicorn with httptools, the same settings),
an ASGI app that reads the body and answers at once with what the sandbox
itself answered when the bench recorded it (`recording.py`): the same status,
headers and body for each route, and each page of the `pages` listing under
its own cursor. What a server on this stack costs for this traffic before it
does any OAuth. `python bench/floor.py PORT ANSWERS.json` serves it.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn
from recording import load_answers

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Answer = tuple[int, list[tuple[bytes, bytes]], bytes]


def prepare(recorded: dict[str, Any]) -> dict[str, Answer]:
    """Each recorded answer as ASGI wants it, its length counted in advance."""
    ready: dict[str, Answer] = {}
    for route, answer in recorded.items():
        body = answer["body"].encode("latin-1")
        headers = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in answer["headers"]
        ]
        headers.append((b"content-length", str(len(body)).encode()))
        ready[route] = (answer["status"], headers, body)
    return ready


NOT_FOUND: Answer = (404, [(b"content-length", b"0")], b"")


def make_app(answers: dict[str, Answer]) -> Callable[..., Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:  # read the body, as any server must
            message = await receive()
            more = message.get("more_body", False)
        path = scope["path"]
        if path.startswith("/ex/"):  # each page of a listing under its cursor
            path = f"{path}?{scope['query_string'].decode('latin-1')}"
        status, headers, body = answers.get(path, NOT_FOUND)
        await send(
            {"type": "http.response.start", "status": status, "headers": headers}
        )
        await send({"type": "http.response.body", "body": body})

    return app


def main(port: int, recorded: Path) -> None:
    uvicorn.run(
        make_app(prepare(load_answers(recorded))),
        host="127.0.0.1",
        port=port,
        lifespan="off",
        ws="none",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=True,
        timeout_keep_alive=30,
        backlog=1024,
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), Path(sys.argv[2]))

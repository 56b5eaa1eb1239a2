"""The floor: the sandbox's routes answered with fixed bodies, and nothing else.

The same HTTP stack as the sandbox (uvicorn with httptools, the same settings),
an ASGI app that reads the body and answers at once: what a server on this
stack costs before it does any OAuth. `python bench/floor.py PORT` serves it.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

CONSENT_PAGE = (
    b"<!doctype html><html><body><form method='post' action='/authorize/consent'>"
    b"<input type='hidden' name='consent_id' value='floor-consent-0123456789'>"
    b"<label><input type='radio' name='site' required "
    b"value='3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73'> pinecone-labs</label>"
    b"<button name='decision' value='accept'>Accept</button></form></body></html>"
)
TOKENS = json.dumps(
    {
        "access_token": "floor-access-token-" + "a" * 600,
        "refresh_token": "floor-refresh-token-" + "r" * 600,
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": "read:page:confluence read:space:confluence offline_access",
    }
).encode()
PAGE = json.dumps(
    {
        "results": [
            {
                "id": str(1000 + n),
                "status": "current",
                "title": f"Page {n}",
                "spaceId": "98305",
                "version": {"number": 1},
            }
            for n in range(25)
        ],
        "_links": {"base": "https://pinecone-labs.atlassian.net/wiki"},
    }
).encode()
LOCATION = b"http://127.0.0.1:8765/callback?code=floor-code-0123456789abcdef&state=s"


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:  # read the body, as any server must
        message = await receive()
        more = message.get("more_body", False)
    path = scope["path"]
    if path == "/authorize":
        status, headers, body = 200, [(b"content-type", b"text/html")], CONSENT_PAGE
    elif path == "/authorize/consent":
        status, headers, body = 302, [(b"location", LOCATION)], b""
    elif path == "/oauth/token":
        status, headers, body = 200, [(b"content-type", b"application/json")], TOKENS
    elif path.endswith("/wiki/api/v2/pages"):
        status, headers, body = 200, [(b"content-type", b"application/json")], PAGE
    else:
        status, headers, body = 404, [], b""
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(port: int) -> None:
    uvicorn.run(
        app,
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
    main(int(sys.argv[1]))

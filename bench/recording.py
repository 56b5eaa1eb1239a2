"""The sandbox's own answers, recorded once, for the floor to replay byte for byte.

A floor with bodies of its own would carry fewer bytes than the sandbox: a v2
`pages` answer of 25 pages is about 16 kB, and writing it out and the load
generator's parsing of it are costs of the traffic, not of the sandbox's work.
So the floor answers each route with what the sandbox answered: the consent
page, the consent's redirect, the token answer, and each page of the `pages`
listing under its own path and cursor, so that the load walks the same pages.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from loadgen import Answer, Connection, Target, authorize, exchange, refresh

_NOT_REPLAYED = {b"date", b"content-length", b"connection", b"server"}


class _Recorder(Connection):
    """A connection that keeps every request's target and answer."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str, Answer]] = []

    async def request(
        self, method: str, target: str, host: str, body: bytes = b"", extra: str = ""
    ) -> Answer:
        answer = await super().request(method, target, host, body, extra)
        self.seen.append((method, target, answer))
        return answer


def record(target: Target) -> dict[str, Any]:
    """One flow, one refresh and a walk of the `pages` listing, as answered."""
    return asyncio.run(_record(target))


def save(answers: dict[str, Any], path: Path) -> Path:
    path.write_text(json.dumps(answers), encoding="utf-8")
    return path


def load_answers(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


async def _record(target: Target) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(_Recorder, "127.0.0.1", target.port)
    try:
        tokens = await exchange(conn, target, await authorize(conn, target, "rec"))
        await refresh(conn, target, tokens["refresh_token"])
        bearer = f"Authorization: Bearer {tokens['access_token']}\r\n"
        path = f"/ex/confluence/{target.cloud_id}/wiki/api/v2/pages?limit=25"
        while path not in {seen[1] for seen in conn.seen}:
            answer = await conn.request("GET", path, target.host, extra=bearer)
            following = json.loads(answer.body).get("_links", {}).get("next")
            if not following:
                break
            path = f"/ex/confluence/{target.cloud_id}{following}"
    finally:
        assert conn.transport is not None
        conn.transport.close()
    routes: dict[str, Any] = {}
    for method, where, answer in conn.seen:
        route = where.split("?")[0] if not where.startswith("/ex/") else where
        if method == "POST" and route == target.token_path:
            route = "/oauth/token"  # the exchange's answer serves both grants
        routes.setdefault(route, _replayable(answer))
    return routes


def _replayable(answer: Answer) -> dict[str, Any]:
    return {
        "status": answer.status,
        "headers": [
            [name.decode("latin-1"), value.decode("latin-1")]
            for name, value in answer.headers.items()
            if name not in _NOT_REPLAYED
        ],
        "body": answer.body.decode("latin-1"),
    }

"""The load generator: keep-alive HTTP/1.1 connections, each walking a flow in a loop.

A flow is a few requests whose answers feed the next (the consent id of the
consent page, the code of the redirect, the refresh token of the answer). Every
connection runs one flow after another for the load's duration; each flow's
latency is kept, and every answer that is not the one expected is an error.
It is written on asyncio protocols, with the least parsing a flow needs, so
that one core of load reaches far past what a Python server answers.
"""

from __future__ import annotations

import asyncio
import gc
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

CONSENT_ID = re.compile(rb"name='consent_id' value='([^']+)'")
SITE = re.compile(rb"name='site' required value='([^']+)'")


class FlowError(Exception):
    """An answer the flow did not expect."""


@dataclass
class Answer:
    status: int
    headers: dict[bytes, bytes]
    body: bytes


class Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, wait for its whole answer."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[Answer] | None = None
        self.closed = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(FlowError(f"connection lost: {exc}"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._try_answer()

    def _try_answer(self) -> None:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        head = bytes(self.buffer[:end]).split(b"\r\n")
        headers = {}
        for line in head[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get(b"content-length", b"0"))
        total = end + 4 + length
        if len(self.buffer) < total:
            return
        status = int(head[0].split(b" ", 2)[1])
        body = bytes(self.buffer[end + 4 : total])
        del self.buffer[:total]
        waiter, self.waiter = self.waiter, None
        if not waiter.done():
            waiter.set_result(Answer(status, headers, body))

    async def request(
        self, method: str, target: str, host: str, body: bytes = b"", extra: str = ""
    ) -> Answer:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        head = f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extra}"
        if body:
            head += f"Content-Length: {len(body)}\r\n"
        self.transport.write((head + "\r\n").encode("latin-1") + body)
        return await self.waiter


Flow = Callable[[Connection, "Target"], Awaitable[None]]


@dataclass(frozen=True)
class Target:
    """Where the flows go, and with which app."""

    url: str
    client_id: str
    client_secret: str
    redirect_uri: str
    scope: str = "read:page:confluence read:space:confluence offline_access"
    cloud_id: str = "3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73"
    consent: bool = True  # Atlassian's page asks; the peers approve at once
    token_path: str = "/oauth/token"

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    @property
    def port(self) -> int:
        return urlsplit(self.url).port or 80


def form(**fields: str) -> bytes:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in fields.items()).encode()


FORM = "Content-Type: application/x-www-form-urlencoded\r\n"


async def authorize(conn: Connection, target: Target, state: str) -> str:
    """Steps 1 to 3: the code, through the consent page where there is one."""
    query = form(
        audience="api.atlassian.com",
        client_id=target.client_id,
        scope=target.scope,
        redirect_uri=target.redirect_uri,
        state=state,
        response_type="code",
        prompt="consent",
    ).decode()
    answer = await conn.request("GET", f"/authorize?{query}", target.host)
    if target.consent:
        if answer.status != 200:
            raise FlowError(f"authorize: {answer.status}")
        consent_id = CONSENT_ID.search(answer.body)
        site = SITE.search(answer.body)
        if not consent_id or not site:
            raise FlowError("authorize: no consent form")
        body = form(
            consent_id=consent_id.group(1).decode(),
            decision="accept",
            site=site.group(1).decode(),
        )
        extra = FORM + f"Origin: {target.url}\r\nSec-Fetch-Site: same-origin\r\n"
        answer = await conn.request(
            "POST", "/authorize/consent", target.host, body, extra
        )
    if answer.status not in {302, 303}:
        raise FlowError(f"consent: {answer.status}")
    location = answer.headers.get(b"location", b"").decode()
    code = next(
        (p[5:] for p in urlsplit(location).query.split("&") if p.startswith("code=")),
        None,
    )
    if not code:
        raise FlowError("consent: no code")
    return code


async def exchange(conn: Connection, target: Target, code: str) -> dict[str, str]:
    """Step 5: the code for tokens."""
    body = form(
        grant_type="authorization_code",
        client_id=target.client_id,
        client_secret=target.client_secret,
        code=code,
        redirect_uri=target.redirect_uri,
    )
    return await _tokens(conn, target, body)


async def refresh(
    conn: Connection, target: Target, refresh_token: str
) -> dict[str, str]:
    """Step 8: new tokens for the refresh token, which rotates."""
    body = form(
        grant_type="refresh_token",
        client_id=target.client_id,
        client_secret=target.client_secret,
        refresh_token=refresh_token,
    )
    return await _tokens(conn, target, body)


async def _tokens(conn: Connection, target: Target, body: bytes) -> dict[str, str]:
    answer = await conn.request("POST", target.token_path, target.host, body, FORM)
    if answer.status != 200:
        raise FlowError(f"token: {answer.status} {answer.body[:120]!r}")
    tokens: dict[str, str] = json.loads(answer.body)
    return tokens


@dataclass
class Stats:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    limit: int | None = None  # stop after this many, whatever the time

    def full(self) -> bool:
        return self.limit is not None and len(self.latencies) >= self.limit


async def _worker(
    target: Target,
    run: Callable[[Connection, Target, Stats, float], Awaitable[None]],
    stats: Stats,
    deadline: float,
) -> None:
    loop = asyncio.get_running_loop()
    while time.perf_counter() < deadline and not stats.full():
        _, conn = await loop.create_connection(Connection, "127.0.0.1", target.port)
        try:
            await run(conn, target, stats, deadline)
        except (FlowError, ValueError, OSError) as exc:
            stats.errors += 1
            stats.first_error = stats.first_error or str(exc)[:200]
        finally:
            if conn.transport is not None:
                conn.transport.close()


async def full_flows(
    conn: Connection, target: Target, stats: Stats, deadline: float
) -> None:
    """Authorize, consent, exchange, again and again on one connection."""
    number = 0
    while time.perf_counter() < deadline and not stats.full():
        number += 1
        started = time.perf_counter()
        code = await authorize(conn, target, f"state-{id(conn)}-{number}")
        await exchange(conn, target, code)
        stats.latencies.append(time.perf_counter() - started)


async def refreshes(
    conn: Connection, target: Target, stats: Stats, deadline: float
) -> None:
    """One sign-in, then refresh after refresh, each with the newest token."""
    tokens = await exchange(conn, target, await authorize(conn, target, f"s{id(conn)}"))
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        tokens = await refresh(conn, target, tokens["refresh_token"])
        stats.latencies.append(time.perf_counter() - started)


async def pages(
    conn: Connection, target: Target, stats: Stats, deadline: float
) -> None:
    """One sign-in, then v2 `pages`, following `next` to the end and over again."""
    tokens = await exchange(conn, target, await authorize(conn, target, f"p{id(conn)}"))
    bearer = f"Authorization: Bearer {tokens['access_token']}\r\n"
    first = f"/ex/confluence/{target.cloud_id}/wiki/api/v2/pages?limit=25"
    path = first
    while time.perf_counter() < deadline:
        started = time.perf_counter()
        answer = await conn.request("GET", path, target.host, extra=bearer)
        if answer.status != 200:
            raise FlowError(f"pages: {answer.status}")
        stats.latencies.append(time.perf_counter() - started)
        following = json.loads(answer.body).get("_links", {}).get("next")
        path = f"/ex/confluence/{target.cloud_id}{following}" if following else first


KINDS = {"flow": full_flows, "refresh": refreshes, "pages": pages}


def load(
    target: Target,
    kind: str,
    concurrency: int,
    seconds: float,
    limit: int | None = None,
) -> dict[str, Any]:
    """Run `concurrency` connections of `kind` for `seconds` (or `limit` flows)."""

    async def main() -> Stats:
        stats = Stats(limit=limit)
        deadline = time.perf_counter() + seconds
        await asyncio.gather(
            *(_worker(target, KINDS[kind], stats, deadline) for _ in range(concurrency))
        )
        return stats

    gc.collect()
    gc.disable()  # the generator's own pauses would count as the server's latency
    try:
        started = time.perf_counter()
        stats = asyncio.run(main())
        elapsed = time.perf_counter() - started
    finally:
        gc.enable()
    ordered = sorted(stats.latencies)
    return {
        "rate": len(ordered) / elapsed,
        "p50_ms": 1000 * _quantile(ordered, 0.50),
        "p99_ms": 1000 * _quantile(ordered, 0.99),
        "done": float(len(ordered)),
        "errors": float(stats.errors),
        "first_error": stats.first_error,
    }


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

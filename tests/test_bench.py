"""The bench's own parts, briefly, so that `make bench` cannot rot unseen.

The floor must replay what the sandbox answered, byte for byte and route for
route, or its ratios mean nothing; the load generator must walk every kind of
load without errors against both; the in-process timing of the handlers must
run the whole flow. Nothing here is timed against a target.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import handlers  # the bench's modules: pytest puts bench/ on the path
import pytest
import recording
import servers
from loadgen import Connection, load


@pytest.fixture(scope="module")
def sandbox() -> Iterator[servers.Server]:
    server = servers.sandbox()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def floor() -> Iterator[servers.Server]:
    server = servers.floor()
    yield server
    server.stop()


def fetch(server: servers.Server, path: str) -> bytes:
    """One GET on a fresh keep-alive connection: the answer's body."""

    async def get() -> bytes:
        loop = asyncio.get_running_loop()
        _, conn = await loop.create_connection(
            Connection, "127.0.0.1", server.target.port
        )
        try:
            return (await conn.request("GET", path, server.target.host)).body
        finally:
            assert conn.transport is not None
            conn.transport.close()

    return asyncio.run(get())


def test_the_recording_holds_every_route_and_each_page_of_the_listing(
    sandbox: servers.Server,
) -> None:
    answers = recording.record(sandbox.target)
    listing = [route for route in answers if route.startswith("/ex/")]

    assert {"/authorize", "/authorize/consent", "/oauth/token"} <= set(answers)
    assert len(listing) >= 2  # the first page and at least one cursor
    assert all(answers[route]["status"] == 200 for route in listing)
    assert answers["/authorize/consent"]["status"] == 302
    assert not any(
        name in {"date", "content-length"}
        for answer in answers.values()
        for name, _ in answer["headers"]
    )


def test_the_floor_replays_what_it_recorded_byte_for_byte_route_by_route(
    floor: servers.Server,
) -> None:
    recorded = recording.load_answers(floor.files[0])

    for route in ("/authorize", *(r for r in recorded if r.startswith("/ex/"))):
        assert fetch(floor, route) == recorded[route]["body"].encode("latin-1"), route
    assert b"name='consent_id'" in fetch(floor, "/authorize")


@pytest.mark.parametrize("kind", ["flow", "refresh", "pages"])
def test_every_load_walks_both_servers_without_errors(
    kind: str, sandbox: servers.Server, floor: servers.Server
) -> None:
    for server in (sandbox, floor):
        result = load(server.target, kind, concurrency=2, seconds=0.5)

        assert result["errors"] == 0, (server.name, result["first_error"])
        assert result["done"] > 0


def test_the_handlers_alone_run_every_step_of_a_flow_and_a_listing() -> None:
    costs = handlers.handler_costs(flows=20)

    assert set(costs) == {"authorize", "consent", "token", "pages"}
    assert all(microseconds > 0 for microseconds in costs.values())

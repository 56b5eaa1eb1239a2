"""Races on the token endpoint, security cases 32 and 53: one code or refresh token
posted by twenty clients at once, two hundred rounds, exactly one winner, no 5xx.

Each racer is a thread with its own keep-alive session; a barrier starts them together.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar
from urllib.parse import urlencode

import pytest
import requests
from sandbox_driver import Flow

from kit.sandbox import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    Sandbox,
)
from kit.sandbox import app as sandbox_app
from kit.sandbox.http import Request

pytestmark = pytest.mark.slow  # about 30 seconds in all, on two cores

ROUNDS = 200
RACERS = 20
RESOURCES = "/oauth/token/accessible-resources"
Ticket = TypeVar("Ticket")
Answer = tuple[int, dict[str, Any]]
Sender = Callable[[str], Answer]


def new_session() -> requests.Session:
    """A keep-alive session that skips requests' per-call environment lookups.

    The sandbox is on loopback: no proxy or `.netrc` applies, and not reading them
    makes each call about a third cheaper (profiled), which keeps the races quick.
    """
    session = requests.Session()
    session.trust_env = False
    return session


def race(
    tickets: Sequence[str], open_sender: Callable[[], AbstractContextManager[Sender]]
) -> list[list[Answer]]:
    """Send each ticket from every racer at once, round after round.

    Returns, per round, each racer's status and JSON body. The threads and their
    senders live for all rounds; a barrier lines them up before each round.
    """
    barrier = threading.Barrier(RACERS, timeout=30)
    answers: list[list[Answer]] = [[(0, {})] * RACERS for _ in tickets]

    def run(racer: int) -> None:
        with open_sender() as send:
            try:
                for number, ticket in enumerate(tickets):
                    barrier.wait()
                    answers[number][racer] = send(ticket)
            except BaseException:
                barrier.abort()  # the others stop waiting, and the test fails
                raise

    with ThreadPoolExecutor(RACERS) as pool:
        futures = [pool.submit(run, racer) for racer in range(RACERS)]
    failures = [e for f in futures if (e := f.exception()) is not None]
    causes = [e for e in failures if not isinstance(e, threading.BrokenBarrierError)]
    if failures:
        raise (causes or failures)[0]  # the racer that failed, not those it stopped
    return answers


def over_http(
    sandbox: Sandbox, post: Callable[[Flow, str], requests.Response]
) -> Callable[[], AbstractContextManager[Sender]]:
    """Racers that post with the driver, each over its own keep-alive session."""

    @contextmanager
    def open_sender() -> Iterator[Sender]:
        with new_session() as http:
            flow = Flow(sandbox, http)

            def send(ticket: str) -> Answer:
                response = post(flow, ticket)
                try:
                    return response.status_code, response.json()
                except ValueError:  # not JSON: keep the status for the assertion
                    return response.status_code, {"text": response.text[:200]}

            yield send

    return open_sender


def in_process(
    sandbox: Sandbox, form_for: Callable[[str], dict[str, str]]
) -> Callable[[], AbstractContextManager[Sender]]:
    """Racers that call the sandbox's request handler directly, from their threads.

    No event loop lines the requests up one by one here: only the store's lock
    stands between two threads redeeming the same code.
    """

    @contextmanager
    def open_sender() -> Iterator[Sender]:
        def send(ticket: str) -> Answer:
            request = Request(
                method="POST",
                path="/oauth/token",
                headers={"content-type": "application/x-www-form-urlencoded"},
                body=urlencode(form_for(ticket)).encode(),
            )
            response = sandbox_app.handle(request, sandbox.ctx)
            return response.status, response.json()

        yield send

    return open_sender


@contextmanager
def threads_switching_often() -> Iterator[None]:
    """Make the interpreter switch threads every microsecond, to provoke races."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        yield
    finally:
        sys.setswitchinterval(before)


def code_form(code: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "code": code,
        "redirect_uri": SANDBOX_REDIRECT_URI,
    }


def refresh_form(refresh_token: str) -> dict[str, str]:
    return {
        "grant_type": "refresh_token",
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "refresh_token": refresh_token,
    }


def winners(answers: list[list[Answer]]) -> list[dict[str, Any]]:
    """The one 200 of each round; fails on a round with none, or more than one."""
    found = []
    for number, round_answers in enumerate(answers):
        bodies = [body for status, body in round_answers if status == 200]
        assert len(bodies) == 1, f"round {number}: {len(bodies)} successes"
        found.append(bodies[0])
    return found


def losers(answers: list[list[Answer]]) -> set[tuple[int, str]]:
    """Every refusal's status and error code, over all rounds."""
    return {
        (status, str(body.get("error")))
        for round_answers in answers
        for status, body in round_answers
        if status != 200
    }


def fresh_codes(sandbox: Sandbox, count: int) -> list[str]:
    with new_session() as http:
        flow = Flow(sandbox, http)
        return [flow.code() for _ in range(count)]


def fresh_refresh_tokens(sandbox: Sandbox, count: int) -> list[str]:
    """One refresh token from each of `count` separate code exchanges."""
    with new_session() as http:
        flow = Flow(sandbox, http)
        return [flow.tokens()["refresh_token"] for _ in range(count)]


def api_statuses(sandbox: Sandbox, access_tokens: list[str]) -> set[int]:
    """The statuses `accessible-resources` gives these tokens, one call each.

    Thousands of checks after a race: they go straight to the sandbox's request
    handler, the function its server calls, without the HTTP round trip.
    """
    statuses = set()
    for token in access_tokens:
        request = Request(
            method="GET", path=RESOURCES, headers={"authorization": f"Bearer {token}"}
        )
        statuses.add(sandbox_app.handle(request, sandbox.ctx).status)
    return statuses


def test_one_code_raced_by_twenty_clients_is_redeemed_exactly_once_per_round(
    sandbox: Sandbox,
) -> None:
    profile = sandbox.settings.profile
    codes = fresh_codes(sandbox, ROUNDS)

    answers = race(codes, over_http(sandbox, Flow.exchange))

    won = winners(answers)
    refused = "invalid_request" if profile == "atlassian" else "invalid_grant"
    assert losers(answers) == {(400, refused)}
    # Then the reuse policy: rfc revokes what the winner got, atlassian keeps it.
    statuses = api_statuses(sandbox, [body["access_token"] for body in won])
    assert statuses == ({401} if profile == "rfc" else {200})


def test_one_refresh_token_raced_in_rfc_rotates_once_and_revokes_the_family(
    rfc_sandbox: Sandbox,
) -> None:
    refresh_tokens = fresh_refresh_tokens(rfc_sandbox, ROUNDS)

    answers = race(refresh_tokens, over_http(rfc_sandbox, Flow.refresh))

    won = winners(answers)
    assert losers(answers) == {(400, "invalid_grant")}
    # The losers reused a rotated token: the family, winner's tokens included, dies.
    assert api_statuses(rfc_sandbox, [body["access_token"] for body in won]) == {401}
    with new_session() as http:
        answer = Flow(rfc_sandbox, http).refresh(won[-1]["refresh_token"])
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")


def test_one_refresh_token_raced_in_atlassian_succeeds_inside_the_leeway(
    atlassian_sandbox: Sandbox,
) -> None:
    refresh_tokens = fresh_refresh_tokens(atlassian_sandbox, ROUNDS)

    answers = race(refresh_tokens, over_http(atlassian_sandbox, Flow.refresh))

    assert losers(answers) == set()
    access_tokens = [body["access_token"] for r in answers for _, body in r]
    assert len(set(access_tokens)) == ROUNDS * RACERS
    # Once every round is over, every success's access token still works, and so
    # does each refresh token the last round handed out.
    assert api_statuses(atlassian_sandbox, access_tokens) == {200}
    with new_session() as http:
        flow = Flow(atlassian_sandbox, http)
        last_round = [flow.refresh(body["refresh_token"]) for _, body in answers[-1]]
    assert {answer.status_code for answer in last_round} == {200}


def test_the_store_lock_alone_keeps_a_code_single_use_across_threads(
    rfc_sandbox: Sandbox,
) -> None:
    codes = fresh_codes(rfc_sandbox, ROUNDS)

    with threads_switching_often():
        answers = race(codes, in_process(rfc_sandbox, code_form))

    winners(answers)
    assert losers(answers) == {(400, "invalid_grant")}


def test_the_store_lock_alone_keeps_a_refresh_token_single_use_across_threads(
    rfc_sandbox: Sandbox,
) -> None:
    refresh_tokens = fresh_refresh_tokens(rfc_sandbox, ROUNDS)

    with threads_switching_often():
        answers = race(refresh_tokens, in_process(rfc_sandbox, refresh_form))

    winners(answers)
    assert losers(answers) == {(400, "invalid_grant")}

"""`kit.retry`: how long the kit waits on a busy server, and how many times.

The server's `Retry-After` and `X-RateLimit-Reset`, backoff without them, and
the cap on waits (cases 108-110).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from kit.retry import RetryPolicy, server_wait

NOW = 1_800_000_000.0  # epoch seconds: 2027-01-15T08:00:00Z


def ceiling(limit: float) -> float:
    """A jitter that always picks the top of the range: backoff made exact."""
    return limit


@pytest.fixture
def local_time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time is five hours behind UTC during the test."""
    monkeypatch.setenv("TZ", "EST+05")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_retry_after_in_seconds_is_the_wait() -> None:
    wait = server_wait({"Retry-After": "2"}, NOW)

    assert wait == 2.0


def test_retry_after_as_an_http_date_is_the_time_until_that_date() -> None:
    when = format_datetime(datetime.fromtimestamp(NOW + 7, UTC), usegmt=True)

    wait = server_wait({"Retry-After": when}, NOW)

    assert when == "Fri, 15 Jan 2027 08:00:07 GMT"
    assert wait == 7.0


def test_retry_after_in_asctime_form_is_read_as_utc(local_time_zone: None) -> None:
    # RFC 9110 section 5.6.7: recipients accept the obsolete asctime form, and
    # every HTTP date is in UTC whatever the machine's time zone.
    wait = server_wait({"Retry-After": "Fri Jan 15 08:00:09 2027"}, NOW)

    assert wait == 9.0


def test_retry_after_in_the_past_means_no_wait() -> None:
    wait = server_wait({"Retry-After": "Fri, 15 Jan 2027 07:59:00 GMT"}, NOW)

    assert wait == 0.0


def test_header_names_are_read_in_any_case() -> None:
    wait = server_wait({"retry-after": "3"}, NOW)

    assert wait == 3.0


def test_x_ratelimit_reset_in_iso_8601_with_z_is_the_time_until_then() -> None:
    wait = server_wait({"X-RateLimit-Reset": "2027-01-15T08:00:12Z"}, NOW)

    assert wait == 12.0


def test_x_ratelimit_reset_with_an_offset_is_converted_to_utc() -> None:
    wait = server_wait({"X-RateLimit-Reset": "2027-01-15T09:00:05+01:00"}, NOW)

    assert wait == 5.0


def test_retry_after_wins_over_x_ratelimit_reset() -> None:
    headers = {"Retry-After": "4", "X-RateLimit-Reset": "2027-01-15T08:00:20Z"}

    wait = server_wait(headers, NOW)

    assert wait == 4.0


def test_an_unreadable_retry_after_falls_back_to_x_ratelimit_reset() -> None:
    headers = {"Retry-After": "soon", "X-RateLimit-Reset": "2027-01-15T08:00:06Z"}

    wait = server_wait(headers, NOW)

    assert wait == 6.0


def test_no_header_means_the_server_did_not_ask() -> None:
    assert server_wait({}, NOW) is None
    assert server_wait({"X-RateLimit-Reset": "tomorrow"}, NOW) is None


def test_the_policy_waits_as_long_as_the_server_asks() -> None:
    policy = RetryPolicy(jitter=ceiling)

    wait = policy.wait_for({"Retry-After": "2"}, attempt=1, now=NOW)

    assert wait == 2.0


def test_without_a_header_the_wait_doubles_from_base_delay_up_to_max_wait() -> None:
    policy = RetryPolicy(base_delay=1.0, max_wait=30.0, jitter=ceiling)

    waits = [policy.wait_for({}, attempt=n, now=NOW) for n in range(1, 8)]

    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_backoff_hands_its_ceiling_to_the_jitter() -> None:
    ceilings: list[float] = []

    def lowest(limit: float) -> float:
        ceilings.append(limit)
        return 0.0

    policy = RetryPolicy(base_delay=0.5, jitter=lowest)

    waits = [policy.wait_for({}, attempt=n, now=NOW) for n in (1, 2, 3)]

    assert waits == [0.0, 0.0, 0.0]
    assert ceilings == [0.5, 1.0, 2.0]


def test_default_jitter_stays_between_zero_and_the_ceiling() -> None:
    policy = RetryPolicy(base_delay=1.0)

    waits = [policy.wait_for({}, attempt=3, now=NOW) for _ in range(200)]

    assert all(0.0 <= wait <= 4.0 for wait in waits)
    assert len(set(waits)) > 1


def test_a_day_long_retry_after_is_not_waited_for() -> None:
    # Case 109: the call fails at once instead of sleeping for a day.
    policy = RetryPolicy(max_wait=30.0, jitter=ceiling)

    wait = policy.wait_for({"Retry-After": "86400"}, attempt=1, now=NOW)

    assert wait is None


def test_a_wait_of_exactly_max_wait_is_waited_for() -> None:
    policy = RetryPolicy(max_wait=30.0, jitter=ceiling)

    wait = policy.wait_for({"X-RateLimit-Reset": "2027-01-15T08:00:30Z"}, 1, NOW)

    assert wait == 30.0


@pytest.mark.parametrize(
    ("status", "attempts"),
    [(429, 4), (503, 4), (500, 2), (502, 2), (504, 2), (400, 1), (401, 1), (404, 1)],
)
def test_attempts_depend_on_the_status(status: int, attempts: int) -> None:
    policy = RetryPolicy(max_attempts=4, max_server_error_attempts=2)

    assert policy.attempts_for(status) == attempts


def test_attempts_follow_the_policy_s_settings() -> None:
    policy = RetryPolicy(max_attempts=6, max_server_error_attempts=3)

    assert (policy.attempts_for(429), policy.attempts_for(502)) == (6, 3)

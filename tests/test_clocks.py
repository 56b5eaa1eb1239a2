"""The flow's clocks: the code window, the access token's life, the refresh policy."""

from __future__ import annotations

import pytest

from kit.clocks import (
    DAY,
    HOUR,
    MINUTE,
    AccessTokenClock,
    CodeWindow,
    RefreshPolicy,
    format_duration,
)

T0 = 1_800_000_000.0


class FakeNow:
    """A clock the test moves by hand."""

    def __init__(self, at: float = T0) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [
        (0, "0 s"),
        (0.4, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (125, "2 min 5 s"),
        (3600, "1 h"),
        (3725, "1 h 2 min"),
        (DAY, "1 day"),
        (90 * DAY - 1, "89 days 23 h"),
        (365 * DAY, "365 days"),
        (-150, "2 min 30 s"),
    ],
)
def test_format_duration_gives_the_two_largest_units(
    seconds: float, expected: str
) -> None:
    assert format_duration(seconds) == expected


@pytest.mark.parametrize(
    ("after", "phase"),
    [
        (0, "fresh"),
        (119, "fresh"),
        (120, "hurry"),
        (599, "hurry"),
        (600, "likely expired"),
        (3600, "likely expired"),
    ],
)
def test_the_code_window_moves_from_fresh_to_hurry_to_likely_expired(
    after: float, phase: str
) -> None:
    window = CodeWindow(started_at=T0, now=FakeNow(T0 + after))

    assert window.phase() == phase
    assert window.elapsed() == after
    assert window.remaining() == max(0, 600 - after)


def test_the_code_window_calls_600_seconds_an_upper_bound_not_a_promise() -> None:
    now = FakeNow(T0 + 30)
    window = CodeWindow(started_at=T0, now=now)

    fresh = window.sentence()
    now.at = T0 + 601
    late = window.sentence()

    assert "at most 9 min 30 s remain of the 10 min upper bound" in fresh
    assert "the server may allow less" in fresh
    assert "most likely expired" in late
    assert "Start the flow again" in late
    assert "Atlassian publishes no figure" in (CodeWindow.__doc__ or "")


def test_a_sandbox_set_to_a_shorter_code_life_gets_a_shorter_window() -> None:
    window = CodeWindow(started_at=T0, upper_bound=120, now=FakeNow(T0 + 121))

    assert window.phase() == "likely expired"
    assert window.remaining() == 0


def test_the_access_token_is_due_for_refresh_60_seconds_before_it_expires() -> None:
    now = FakeNow(T0)
    clock = AccessTokenClock(expires_at=T0 + HOUR, now=now)

    now.at = T0 + HOUR - 61
    early = clock.refresh_due()
    now.at = T0 + HOUR - 60
    due = clock.refresh_due(), clock.is_expired()
    now.at = T0 + HOUR
    expired = clock.is_expired(), clock.remaining()

    assert not early
    assert due == (True, False)
    assert expired == (True, 0)
    assert clock.refresh_at == T0 + HOUR - 60


def test_the_access_token_clock_speaks_of_validity_leeway_and_expiry() -> None:
    now = FakeNow(T0)
    clock = AccessTokenClock(expires_at=T0 + HOUR, now=now)

    valid = clock.sentence()
    now.at = T0 + HOUR - 30
    leeway = clock.sentence()
    now.at = T0 + HOUR + 180
    expired = clock.sentence()

    assert valid.startswith("The access token is valid for 1 h;")
    assert "within the 1 min leeway: refresh it" in leeway
    assert expired.startswith("The access token expired 3 min ago.")


def test_an_unknown_expiry_is_never_due_and_says_a_401_will_tell() -> None:
    clock = AccessTokenClock(expires_at=None, now=FakeNow())

    assert clock.remaining() is None
    assert not clock.refresh_due()
    assert not clock.is_expired()
    assert "401" in clock.sentence()


def test_the_reuse_leeway_runs_ten_minutes_after_a_rotation() -> None:
    now = FakeNow(T0 + 3 * MINUTE)
    policy = RefreshPolicy(
        family_started_at=T0 - DAY, last_used_at=T0, rotated_at=T0, now=now
    )

    leeway = policy.reuse_leeway()
    inside = policy.reuse_leeway_sentence()
    now.at = T0 + 10 * MINUTE
    over = policy.reuse_leeway_sentence()

    assert leeway is not None
    assert leeway.ends_at == T0 + 600
    assert "may be sent again for 7 min" in inside
    assert "revokes every refresh token of the family" in over


def test_there_is_no_reuse_leeway_before_the_first_rotation() -> None:
    policy = RefreshPolicy(family_started_at=T0, last_used_at=T0, now=FakeNow())

    assert policy.reuse_leeway() is None
    assert policy.reuse_leeway_sentence().startswith("No refresh has happened yet")


def test_the_idle_limit_counts_from_the_last_new_refresh_token() -> None:
    now = FakeNow(T0 + 100 * DAY)
    policy = RefreshPolicy(
        family_started_at=T0, last_used_at=T0 + 20 * DAY, rotated_at=T0, now=now
    )

    assert policy.idle().remaining() == 10 * DAY
    assert "use it within 10 days" in policy.idle_sentence()
    now.at = T0 + 110 * DAY
    assert policy.idle().is_over()
    assert not policy.usable()
    assert "has expired" in policy.idle_sentence()


def test_the_absolute_limit_ends_the_family_365_days_after_consent() -> None:
    now = FakeNow(T0 + 364 * DAY)
    policy = RefreshPolicy(
        family_started_at=T0, last_used_at=T0 + 363 * DAY, rotated_at=None, now=now
    )

    before = policy.usable(), policy.absolute_sentence()
    now.at = T0 + 365 * DAY
    after = policy.usable(), policy.absolute_sentence()

    assert before[0]
    assert "it ends in 1 day, 365 days after the consent" in before[1]
    assert not after[0]
    assert "has passed its 365 days limit" in after[1]


def test_policy_sentences_come_leeway_idle_absolute() -> None:
    policy = RefreshPolicy(family_started_at=T0, last_used_at=T0, now=FakeNow())

    sentences = policy.sentences()

    assert len(sentences) == 3
    assert "leeway" in sentences[0]
    assert "unused" in sentences[1]
    assert "consent" in sentences[2]

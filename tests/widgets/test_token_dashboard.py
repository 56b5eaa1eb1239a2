"""The token dashboard: the access token's clock and the refresh token's three."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from helpers import assert_shows_none_of, stored_secrets

from kit.clocks import DAY, MINUTE
from kit.config import ClientConfig
from kit.course import Course
from kit.exchange import refresher
from kit.tokens import TokenSet
from kit.widgets import TokenDashboard
from kit.widgets.common import AMBER, GREEN, GREY, RED


class Moment:
    """A clock for the dashboard, set by hand."""

    def __init__(self, at: float) -> None:
        self.at = at

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def signed_in(course: Course) -> TokenSet:
    return course.sign_in()


@pytest.fixture
def dashboards() -> Iterator[list[TokenDashboard]]:
    made: list[TokenDashboard] = []
    yield made
    for dashboard in made:
        dashboard.close()


def test_fresh_tokens_show_a_full_hour_and_the_limits_untouched(
    course: Course, signed_in: TokenSet
) -> None:
    dashboard = TokenDashboard(course.store, now=Moment(signed_in.received_at))

    bars = dashboard.bars

    assert bars["access"].colour == GREEN
    assert bars["access"].left == "1 h left, refresh due in 59 min"
    assert (bars["leeway"].colour, bars["leeway"].left) == (GREY, "no refresh yet")
    assert bars["idle"].left == "90 days left"
    assert bars["absolute"].left == "365 days left"
    assert "The access token is valid for 1 h" in dashboard.clocks["access"].value
    assert "read:page:confluence" in dashboard.tokens_html.value
    assert dashboard.errors.value == ""


def test_the_access_clock_turns_amber_inside_its_leeway_then_red(
    course: Course, signed_in: TokenSet
) -> None:
    now = Moment(signed_in.received_at + 3550)
    dashboard = TokenDashboard(course.store, now=now)
    inside_leeway = dashboard.bars["access"]

    now.at = signed_in.received_at + 3700
    dashboard.reread_button.click()

    assert inside_leeway.colour == AMBER
    assert inside_leeway.left == "50 s left, refresh due now"
    assert dashboard.bars["access"].colour == RED
    assert dashboard.bars["access"].left == "expired"
    assert "expired 1 min 40 s ago" in dashboard.clocks["access"].value


def test_a_refresh_opens_the_ten_minute_reuse_leeway(
    course: Course, config: ClientConfig, signed_in: TokenSet
) -> None:
    now = Moment(signed_in.received_at)
    dashboard = TokenDashboard(course.store, now=now)

    refreshed = course.store.refresh_with(refresher(config, now=now))
    dashboard.refresh_view()
    opened = dashboard.bars["leeway"]
    now.at += 11 * MINUTE
    dashboard.refresh_view()

    assert (opened.colour, opened.left) == (AMBER, "10 min left")
    assert (dashboard.bars["leeway"].colour, dashboard.bars["leeway"].left) == (
        GREY,
        "ended",
    )
    assert "revokes every refresh token" in dashboard.clocks["leeway"].value
    assert refreshed.access_token.fingerprint in dashboard.tokens_html.value


def test_the_idle_and_absolute_limits_turn_red_once_over(
    course: Course, signed_in: TokenSet
) -> None:
    now = Moment(signed_in.received_at + 91 * DAY)
    dashboard = TokenDashboard(course.store, now=now)
    idle_over = dashboard.bars["idle"]
    absolute_at_91_days = dashboard.bars["absolute"]

    now.at = signed_in.received_at + 366 * DAY
    dashboard.refresh_view()

    assert (idle_over.colour, idle_over.left) == (RED, "over")
    assert absolute_at_91_days.colour == GREEN
    assert dashboard.bars["absolute"].colour == RED
    assert "has passed its 365 days limit" in dashboard.clocks["absolute"].value


def test_tokens_show_as_fingerprints_and_masks_only(
    course: Course, signed_in: TokenSet
) -> None:
    dashboard = TokenDashboard(course.store)

    assert signed_in.access_token.fingerprint in dashboard.tokens_html.value
    assert signed_in.refresh_token is not None
    assert signed_in.refresh_token.fingerprint in dashboard.tokens_html.value
    assert "…(masked)" in dashboard.tokens_html.value
    assert_shows_none_of(dashboard, stored_secrets(course.store.path))


def test_tokens_without_a_refresh_token_say_offline_access_was_missing(
    course: Course,
) -> None:
    tokens = course.sign_in(("read:page:confluence", "read:me"))

    dashboard = TokenDashboard(tokens)

    for key in ("leeway", "idle", "absolute"):
        assert dashboard.bars[key].colour == GREY
        assert "<code>offline_access</code>" in dashboard.clocks[key].value
    assert ">none</td>" in dashboard.tokens_html.value


def test_an_empty_store_asks_to_sign_in_first(course: Course) -> None:
    dashboard = TokenDashboard(course.store)

    assert "No tokens saved yet" in dashboard.tokens_html.value
    assert dashboard.bars == {}


def test_a_token_file_the_kit_did_not_write_shows_the_doctor(
    course: Course,
) -> None:
    course.store.path.parent.mkdir(mode=0o700, parents=True)
    course.store.path.write_text("{not json", "utf-8")
    course.store.path.chmod(0o600)

    dashboard = TokenDashboard(course.store)

    assert "TokenStoreError" in dashboard.errors.value
    assert "is not one the kit wrote" in dashboard.errors.value


def test_a_live_dashboard_redraws_on_its_own_until_closed(
    course: Course, signed_in: TokenSet, dashboards: list[TokenDashboard]
) -> None:
    now = Moment(signed_in.received_at)
    dashboard = TokenDashboard(course.store, now=now, live=True, tick_interval=0.02)
    dashboards.append(dashboard)

    now.at += 3700
    deadline = time.monotonic() + 3
    while dashboard.bars["access"].colour != RED and time.monotonic() < deadline:
        time.sleep(0.02)
    dashboard.close()

    assert dashboard.bars["access"].colour == RED
    assert not dashboard.ticker.running

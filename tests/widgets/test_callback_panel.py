"""The callback panel: listening, the robot's consent, the code's timer, the exchange.

The panel's clock starts at the sandbox's frozen `START_TIME` and moves only when
a clock button moves the sandbox's, so every reading of the timer is exact.
"""

from __future__ import annotations

import dataclasses
import socket
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
import requests
from helpers import all_text, assert_shows_none_of, stored_secrets
from sandbox_driver import START_TIME

from kit.authorize import AuthorizationRequest
from kit.clocks import CodeWindow
from kit.config import ClientConfig
from kit.course import Course
from kit.widgets import CallbackPanel
from kit.widgets.callback_panel import read_timer
from kit.widgets.common import AMBER, GREEN, RED

MakePanel = Callable[..., CallbackPanel]


def port_of(where: CallbackPanel | ClientConfig) -> int:
    config = where.config if isinstance(where, CallbackPanel) else where
    port = urlsplit(config.redirect_uri).port
    assert port is not None
    return port


@pytest.fixture
def make_panel(course: Course) -> Iterator[MakePanel]:
    """Panels on the course's sandbox, each closed at the end of the test."""
    made: list[CallbackPanel] = []

    def make(
        source: Course | ClientConfig | None = None,
        request: AuthorizationRequest | None = None,
        **options: object,
    ) -> CallbackPanel:
        options.setdefault("now", lambda: START_TIME)
        panel = CallbackPanel(
            source or course, request or course.new_request(), **options
        )
        made.append(panel)
        return panel

    yield make
    for panel in made:
        panel.close()


def test_the_panel_listens_at_the_callback_and_offers_the_consent_link(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()

    uri = panel.config.redirect_uri
    assert f"Listening at {uri}" in panel.status_html.value
    assert panel.listen_button.disabled
    assert panel.catcher is not None and panel.catcher.start_url is not None
    assert f"href='{panel.catcher.start_url}'" in panel.link_html.value
    assert panel.request.state not in all_text(panel)
    start = panel.catcher.start_url
    answer = requests.get(start, allow_redirects=False, timeout=5)
    assert answer.headers["location"] == panel.request.url
    assert "starts when the code arrives" in panel.timer_html.value
    assert panel.exchange_button.disabled
    assert panel.errors.value == ""


def test_playing_the_browser_brings_the_code_and_a_green_timer(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()

    panel.play_button.click()

    assert panel.result is not None
    assert "Code received." in panel.status_html.value
    assert GREEN in panel.timer_html.value
    assert "Fresh: at most 10 min left" in panel.timer_html.value
    assert not panel.exchange_button.disabled
    assert panel.request.state not in all_text(panel)
    assert panel.result.code not in all_text(panel)


def test_the_timer_turns_amber_after_five_minutes_and_red_past_the_bound(
    make_panel: MakePanel, course: Course
) -> None:
    panel = make_panel()
    panel.play_button.click()
    assert GREEN in panel.timer_html.value

    panel.clock_buttons["+1 min"].click()
    one_minute = panel.timer_html.value
    panel.clock_buttons["+5 min"].click()
    six_minutes = panel.timer_html.value
    panel.clock_buttons["+5 min"].click()
    eleven_minutes = panel.timer_html.value

    assert GREEN in one_minute and "at most 9 min left" in one_minute
    assert AMBER in six_minutes and "Hurry: at most 4 min left" in six_minutes
    assert RED in eleven_minutes and "Likely expired: 1 min past" in eleven_minutes
    assert course.controls is not None
    assert course.controls.now() == panel.clock.now() == START_TIME + 660


def test_exchange_saves_and_shows_masked_tokens_and_no_secret_anywhere(
    make_panel: MakePanel, course: Course
) -> None:
    panel = make_panel()
    panel.play_button.click()
    assert panel.result is not None
    code, state = panel.result.code, panel.request.state

    panel.exchange_button.click()

    assert panel.errors.value == ""
    assert panel.tokens is not None
    assert "…(masked)" in panel.tokens_html.value
    assert panel.tokens.access_token.fingerprint in panel.tokens_html.value
    assert "POST /oauth/token -&gt; 200" in panel.exchange_view.summary.value
    assert "Code sent 0 s after it arrived" in panel.timer_html.value
    assert not panel.ticker.running
    clocks = all_text(panel.clocks_box)
    assert "Access token" in clocks and "Absolute (365 days)" in clocks
    assert_shows_none_of(panel, [*stored_secrets(course.store.path), code, state])


def test_a_code_past_eleven_minutes_is_refused_and_the_doctor_says_why(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()
    panel.play_button.click()

    panel.clock_buttons["+11 min"].click()
    panel.exchange_button.click()

    assert panel.tokens is None
    assert "CodeRejectedError" in panel.errors.value
    assert "The token endpoint refused the authorization code." in panel.errors.value
    assert "400" in panel.exchange_view.summary.value


def test_pressing_cancel_shows_the_decline_through_the_doctor(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()

    panel.cancel_button.click()

    assert panel.result is None
    assert "AccessDeniedError" in panel.errors.value
    assert "Consent was declined" in panel.errors.value
    assert "Sign-in failed." in panel.status_html.value
    assert panel.exchange_button.disabled


def test_exchange_before_any_code_says_to_consent_first(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()

    panel.exchange_button.click()

    assert "No code has arrived yet" in panel.errors.value


def test_the_ticker_updates_the_timer_on_its_own(
    make_panel: MakePanel,
) -> None:
    moments = [START_TIME]
    panel = make_panel(now=lambda: moments[0], tick_interval=0.02)
    panel.play_button.click()

    moments[0] += 150
    deadline = time.monotonic() + 3
    while "Hurry" not in panel.timer_html.value and time.monotonic() < deadline:
        time.sleep(0.02)

    assert "Hurry: at most 7 min" in panel.timer_html.value
    assert panel.ticker.running


def test_close_stops_the_catcher_and_the_ticker_and_frees_the_port(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()
    assert panel.ticker.running

    panel.close()

    assert panel.catcher is not None
    assert panel.catcher.status.phase == "stopped"
    assert not panel.ticker.running
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port_of(panel)))


def test_a_busy_port_shows_the_doctor_and_listen_tries_again(
    make_panel: MakePanel, course: Course
) -> None:
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", port_of(course.config)))
        squatter.listen()
        panel = make_panel()
        assert "CallbackPortError" in panel.errors.value
        assert not panel.listen_button.disabled

    panel.listen_button.click()

    assert panel.errors.value == ""
    assert "Listening at" in panel.status_html.value


def test_with_a_config_alone_there_are_no_clock_buttons(
    make_panel: MakePanel, config: ClientConfig
) -> None:
    panel = make_panel(config)

    assert panel.clock_buttons == {}
    assert panel.store is None
    assert "+1 min" not in all_text(panel)


def test_the_timer_reads_green_then_amber_then_red() -> None:
    moments = [START_TIME]
    window = CodeWindow(started_at=START_TIME, now=lambda: moments[0])

    readings = []
    for elapsed in (0, 119, 120, 539, 541, 600, 700):
        moments[0] = START_TIME + elapsed
        readings.append(read_timer(window))

    assert [r.colour for r in readings] == [GREEN, GREEN, AMBER, AMBER, RED, RED, RED]
    assert [r.phase for r in readings][-2:] == ["likely expired"] * 2
    assert readings[0].fraction == 1.0 and readings[-1].fraction == 0.0
    assert readings[-1].text == "Likely expired: 1 min 40 s past the upper bound"


def test_listen_after_the_sign_in_ended_asks_for_a_new_request(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()
    panel.listen_button.click()
    assert panel.errors.value == ""
    panel.cancel_button.click()

    panel.listen_button.click()

    assert "its <code>state</code> is spent" in panel.errors.value


def test_stop_frees_the_port_and_leaves_the_panel_on_screen(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()
    assert panel.catcher is not None

    panel.stop()

    assert panel.catcher.addresses == []
    assert panel.comm is not None  # the widget itself is still open
    assert panel.catcher.status.phase == "stopped"


def test_on_your_own_machine_the_panel_says_nothing_of_a_hub(
    make_panel: MakePanel,
) -> None:
    panel = make_panel()

    assert panel.hub_html.value == ""


def test_on_a_hub_the_panel_sends_a_sandbox_learner_to_the_robot(
    make_panel: MakePanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/ada/")

    panel = make_panel()

    assert "On JupyterHub, your browser cannot reach" in panel.hub_html.value
    assert "Play the browser (sandbox)" in panel.hub_html.value
    panel.play_button.click()
    assert panel.wait(5) and panel.result is not None


def test_on_a_hub_a_proxied_callback_gets_its_link_through_the_proxy(
    make_panel: MakePanel, config: ClientConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    proxied = "https://hub.example.org/user/ada/proxy/0/callback"

    panel = make_panel(dataclasses.replace(config, redirect_uri=proxied))

    assert panel.catcher is not None
    start = f"https://hub.example.org/user/ada/proxy/{panel.catcher.port}/start"
    assert f"href='{start}'" in panel.link_html.value
    assert "On Binder, this link and the callback go through" in panel.hub_html.value


def test_an_unreadable_kit_public_url_is_shown_and_the_panel_still_listens(
    make_panel: MakePanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KIT_PUBLIC_URL", "hub.example.org/user/ada/")

    panel = make_panel()

    assert "`KIT_PUBLIC_URL` is" in panel.hub_html.value
    assert "address bar" in panel.hub_html.value
    assert panel.catcher is not None
    assert panel.catcher.status.phase == "listening"

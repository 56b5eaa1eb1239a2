"""What the panels share: errors shown by the doctor, escaped tables, the clocks."""

from __future__ import annotations

import threading

import ipywidgets as widgets
import pytest

from kit.errors import ConfigError, ExchangeRefusedError
from kit.widgets.common import (
    Raw,
    SkewedClock,
    Ticker,
    new_errors,
    shows_errors,
    table,
)


class Panel:
    """The least a panel needs: an `errors` widget, and handlers."""

    def __init__(self) -> None:
        self.errors: widgets.HTML = new_errors()
        self.fail = True

    @shows_errors
    def press(self) -> str:
        if self.fail:
            raise ConfigError("`ATLASSIAN_CLIENT_ID` is not set.")
        return "done"

    @shows_errors
    def press_both(self) -> str:
        self.press()
        return "both done"


def test_a_failing_handler_shows_the_doctors_diagnosis_and_returns_none() -> None:
    panel = Panel()

    result = panel.press()

    assert result is None
    assert "kit-diagnosis" in panel.errors.value
    assert "ConfigError" in panel.errors.value
    assert "<code>ATLASSIAN_CLIENT_ID</code>" in panel.errors.value


def test_the_next_success_clears_the_errors() -> None:
    panel = Panel()
    panel.press()

    panel.fail = False
    result = panel.press()

    assert result == "done"
    assert panel.errors.value == ""


def test_a_nested_handlers_failure_reaches_the_outer_one_and_stays_shown() -> None:
    panel = Panel()

    result = panel.press_both()

    assert result is None
    assert "ConfigError" in panel.errors.value


def test_a_handler_in_another_thread_shows_its_error_too() -> None:
    panel = Panel()

    worker = threading.Thread(target=panel.press)
    worker.start()
    worker.join()

    assert "ConfigError" in panel.errors.value


def test_tables_escape_every_value_but_raw_html() -> None:
    html = table([("<b>", Raw("<i>ok</i>"))], ("<th>", "x"))

    assert "&lt;b&gt;" in html and "<i>ok</i>" in html
    assert "&lt;th&gt;" in html and "<b>" not in html


def test_a_skewed_clock_runs_with_its_base_plus_every_shift() -> None:
    clock = SkewedClock(lambda: 100.0)

    clock.shift(60)
    clock.shift(5)

    assert clock.now() == 165.0


class Controls:
    """Stands in for `SandboxControls`: keeps what the sandbox's clock was moved by."""

    def __init__(self) -> None:
        self.moved: list[float] = []

    def advance(self, seconds: float) -> None:
        self.moved.append(seconds)


def test_advancing_with_controls_moves_the_sandbox_first_then_the_clock() -> None:
    clock, controls = SkewedClock(lambda: 100.0), Controls()

    clock.advance_with(controls, 300)  # type: ignore[arg-type]

    assert controls.moved == [300]
    assert clock.now() == 400.0


def test_advancing_without_controls_is_refused_saying_how_and_moves_nothing() -> None:
    clock = SkewedClock(lambda: 100.0)

    with pytest.raises(ExchangeRefusedError, match=r"SandboxControls\.of"):
        clock.advance_with(None, 300)

    assert clock.now() == 100.0


def test_a_ticker_ticks_until_stopped() -> None:
    ticked = threading.Event()
    ticker = Ticker(ticked.set, interval=0.01)

    ticker.start()
    assert ticked.wait(2)
    ticker.stop()

    assert not ticker.running

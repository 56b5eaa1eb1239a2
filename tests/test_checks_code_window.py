"""The check of `04-code-window`: a measured code lifetime, against the sandbox's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kit.course.checks import ALL_CORRECT, NOT_YET
from kit.course.checks.code_window import measured
from kit.sandbox import Sandbox
from kit.sandbox_controls import SandboxControls


@pytest.fixture
def controls(atlassian_sandbox: Sandbox) -> Iterator[SandboxControls]:
    atlassian_sandbox.configure(code_lifetime=150)
    controls = SandboxControls(atlassian_sandbox.url)
    yield controls
    controls.close()


def test_the_lifetime_within_a_few_seconds_is_correct(
    controls: SandboxControls,
) -> None:
    assert measured(150, controls).ok
    assert measured(147.5, controls).ok
    assert measured(154, controls).verdict == ALL_CORRECT


def test_the_starter_value_is_not_done(controls: SandboxControls) -> None:
    check = measured(..., controls)

    assert not check.ok
    assert "`lifetime` in the cell above: it is still `...`" in str(check)


def test_a_lifetime_too_long_says_codes_die_sooner_without_the_number(
    controls: SandboxControls,
) -> None:
    check = measured(600, controls)

    assert not check.ok
    assert "too long: codes are refused sooner" in str(check)
    assert "150" not in str(check)
    assert check.verdict.startswith(NOT_YET)


def test_a_lifetime_too_short_says_codes_still_work(
    controls: SandboxControls,
) -> None:
    assert "too short: codes still work" in str(measured(100, controls))


def test_minutes_are_recognised_as_the_wrong_unit(controls: SandboxControls) -> None:
    assert "looks like minutes" in str(measured(2.5, controls))


@pytest.mark.parametrize("value", ["150", True, [150], -150])
def test_a_value_that_is_no_number_of_seconds_gets_a_hint(
    controls: SandboxControls, value: object
) -> None:
    check = measured(value, controls)

    assert not check.ok
    assert "`lifetime`" in str(check)


def test_without_a_sandbox_the_check_says_so_and_does_not_raise() -> None:
    check = measured(150, None)

    assert not check.ok
    assert "run it on the sandbox" in str(check)


def test_a_stopped_sandbox_is_a_hint_not_an_exception() -> None:
    sandbox = Sandbox().start()
    controls = SandboxControls(sandbox.url)
    sandbox.stop()

    check = measured(150, controls)

    assert "is it still running?" in str(check)
    controls.close()

"""The check of `09-troubleshooting`: each step named as the doctor names it, over
failures built by hand (an exception, a landing address, a recorded exchange).
"""

from __future__ import annotations

from typing import Any

import pytest

from kit.course.checks import ALL_CORRECT, NOT_YET
from kit.course.checks.troubleshooting import named
from kit.errors import AccessDeniedError
from kit.record import Exchange

FAILURES: dict[str, Any] = {
    "first": AccessDeniedError("You declined on the consent page."),
    "second": "http://127.0.0.1:8765/callback?code=some-code&state=some-state",
    "third": Exchange(
        "resources",
        "GET",
        "https://api.atlassian.com/oauth/token/accessible-resources",
        status=401,
        response_body='{"code":401,"message":"Unauthorized"}',
    ),
}
RIGHT = {"first": "authorize", "second": "callback", "third": "resources"}


def test_the_doctors_steps_are_correct() -> None:
    check = named(RIGHT, FAILURES)

    assert check.ok, str(check)
    assert check.verdict == ALL_CORRECT
    assert "`third`: the doctor names the step `resources` too." in str(check)


def test_the_starter_value_is_not_done() -> None:
    check = named(..., FAILURES)

    assert not check.ok
    assert "`steps` in the cell above: it is still `...`" in str(check)


def test_each_answer_still_open_is_named() -> None:
    check = named({"first": "authorize", "second": ..., "third": ...}, FAILURES)

    assert "Set `steps['second']`: it is still `...`." in str(check)
    assert check.verdict == f"{NOT_YET} 2 of 3 points to fix."


def test_a_wrong_step_gets_a_hint_without_the_answer() -> None:
    check = named({**RIGHT, "third": "api"}, FAILURES)

    assert not check.ok
    assert "`third`: not `api`." in str(check)
    assert "a recorded `Exchange`" in str(check)
    assert "kit.diagnose(failures['third'])" in str(check)
    assert "resources" not in str(check).split("`third`: not")[1]


def test_a_word_that_is_no_step_lists_the_steps() -> None:
    check = named({**RIGHT, "first": "consent"}, FAILURES)

    assert "'consent', not a step; use one of `settings`, `authorize`" in str(check)


def test_a_missing_or_unknown_name_is_reported() -> None:
    check = named(
        {"first": "authorize", "second": "callback", "fourth": "api"}, FAILURES
    )

    assert "Set `steps['third']`" in str(check)
    assert "names no such failure: `fourth`" in str(check)


@pytest.mark.parametrize("value", ["authorize", ["authorize"], 3])
def test_steps_that_are_no_dict_get_a_hint(value: object) -> None:
    check = named(value, FAILURES)

    assert not check.ok
    assert "make it a dict" in str(check)

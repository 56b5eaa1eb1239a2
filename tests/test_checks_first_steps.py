"""The self-checks of notebooks 01 to 03: right answers pass, `...` says to start,
and a wrong answer gets a hint that names what to change, never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kit.callback import CallbackCatcher, CallbackResult
from kit.course import Course, start
from kit.course.checks import (
    ALL_CORRECT,
    NOT_YET,
    authorization_url,
    callback,
    settings,
)
from kit.course.robot import press

LIVE = {
    "ATLASSIAN_CLIENT_ID": "pinecone-reader-client-id",
    "ATLASSIAN_CLIENT_SECRET": "a-made-up-secret-for-the-test",
    "ATLASSIAN_REDIRECT_URI": "http://localhost:8765/callback",
}


@pytest.fixture
def course() -> Iterator[Course]:
    here = start()
    yield here
    here.stop()


def test_live_settings_pass_and_hide_the_secret() -> None:
    checked = settings.live(dict(LIVE))

    assert checked.ok
    assert ALL_CORRECT in str(checked)
    assert LIVE["ATLASSIAN_CLIENT_SECRET"] not in str(checked) + checked._repr_html_()


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (..., "still `...`"),
        ("ATLASSIAN_CLIENT_ID=x", "a dict"),
        ({**LIVE, "ATLASSIAN_CLIENT_SECRET": ""}, "refuses"),
        ({**LIVE, "ATLASSIAN_REDIRECT_URI": "http://localhost:8765/callback/"}, "✗"),
    ],
    ids=["not-done", "a-string", "no-secret", "trailing-slash"],
)
def test_wrong_settings_get_a_hint(answer: object, hint: str) -> None:
    checked = settings.live(answer)

    assert not checked.ok
    assert NOT_YET in str(checked)
    assert hint in str(checked)


def test_a_clean_url_passes_and_a_risky_one_names_its_problems(course: Course) -> None:
    good = course.new_request("read:page:confluence search:confluence offline_access")
    risky = course.new_request("read:page:confluence")

    assert authorization_url.clean(good.url, course.config).ok
    checked = authorization_url.clean(risky.url, course.config)
    assert not checked.ok
    assert "no-offline-access" in str(checked)
    assert good.state not in str(authorization_url.clean(good.url, course.config))


@pytest.mark.parametrize(
    "answer", [..., 42, "https://auth.atlassian.com/authorize?%ZZ"]
)
def test_a_url_that_is_no_url_gets_a_hint(course: Course, answer: object) -> None:
    checked = authorization_url.clean(answer, course.config)

    assert not checked.ok
    assert str(checked)


def test_a_caught_callback_passes_and_another_requests_does_not(course: Course) -> None:
    mine, other = course.new_request("read:me"), course.new_request("read:me")
    with CallbackCatcher(course.config.redirect_uri, mine.state, timeout=30) as catcher:
        press(mine.url)
        caught = catcher.wait(10)

    assert isinstance(caught, CallbackResult)
    assert callback.caught(caught, mine).ok
    assert not callback.caught(caught, other).ok
    assert not callback.caught(..., mine).ok
    assert "`my_result` is a str" in str(callback.caught("a code", mine))

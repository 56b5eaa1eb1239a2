"""The check of `08-refresh-tokens`: a family kept alive for 200 days, by the sandbox's
clock, the store's lineage and `/me`, against a sandbox on a callback port of its own.
"""

from __future__ import annotations

import pytest

from kit.course import Course
from kit.course.checks import ALL_CORRECT, NOT_YET
from kit.course.checks.refresh import survived
from kit.exchange import refresh_access_token, refresher
from kit.tokens import TokenSet


@pytest.fixture
def course(free_port_course: Course) -> Course:
    return free_port_course


def _keep_alive(course: Course, steps: tuple[float, ...]) -> tuple[float, TokenSet]:
    born = course.controls.now() if course.controls else 0.0
    tokens = course.sign_in()
    refresh = refresher(course.config)
    for days in steps:
        assert course.controls is not None
        course.controls.advance(days=days)
        tokens = course.store.refresh_with(refresh)
    return born, tokens


def test_refreshes_every_80_days_to_day_200_are_correct(course: Course) -> None:
    born, survivor = _keep_alive(course, (80, 80, 40))

    check = survived(survivor, course, born)

    assert check.ok, str(check)
    assert check.verdict == ALL_CORRECT
    assert "The family is 200 days old" in str(check)
    assert "4 refresh tokens: 3 refreshes" in str(check)
    assert "acts for Ada Okafor" in str(check)


def test_the_starter_value_is_not_done(course: Course) -> None:
    check = survived(..., course, 0.0)

    assert not check.ok
    assert "`survivor` in the cell above: it is still `...`" in str(check)


def test_a_family_too_young_is_told_to_go_on(course: Course) -> None:
    born, survivor = _keep_alive(course, (80, 80))

    check = survived(survivor, course, born)

    assert not check.ok
    assert "160.0 days old" in str(check)
    assert "refresh until day 200" in str(check)
    assert check.verdict == f"{NOT_YET} 1 of 4 points to fix."


def test_a_refresh_kept_out_of_the_store_is_named(course: Course) -> None:
    born, tokens = _keep_alive(course, (80, 80))
    assert course.controls is not None
    course.controls.advance(days=40)

    survivor = refresh_access_token(course.config, tokens)
    check = survived(survivor, course, born)

    assert not check.ok
    assert "not the newest the store keeps" in str(check)


def test_a_clock_moved_after_the_last_refresh_is_caught_by_me(course: Course) -> None:
    born, survivor = _keep_alive(course, (80, 80, 39))
    assert course.controls is not None
    course.controls.advance(days=1)

    check = survived(survivor, course, born)

    assert not check.ok
    assert "refused on `/me`" in str(check)


def test_a_second_sign_in_after_born_shows_in_the_lineage(course: Course) -> None:
    assert course.controls is not None
    born = course.controls.now()
    course.controls.advance(days=150)
    _, survivor = _keep_alive(course, (50,))

    check = survived(survivor, course, born)

    assert not check.ok
    assert "Did you sign in again after `born`?" in str(check)


def test_something_other_than_tokens_gets_a_hint(course: Course) -> None:
    check = survived("survivor", course, 0.0)

    assert not check.ok
    assert "keep what `course.store.refresh_with(refresh)` returns" in str(check)

"""The check of `07-confluence-v1-v2`: v1 search and v2 pages reached with the fewest
scopes, and the pages of ENG counted, against a sandbox on a callback port of its own.
"""

from __future__ import annotations

import pytest

from kit.course import COURSE_SCOPES, Course
from kit.course.checks import ALL_CORRECT, NOT_YET
from kit.course.checks.confluence import counted, fresh_counts

FEWEST = "read:page:confluence search:confluence offline_access"


@pytest.fixture
def course(free_port_course: Course) -> Course:
    return free_port_course


def test_the_fewest_scopes_and_the_v1_count_are_correct(course: Course) -> None:
    tokens = course.sign_in(FEWEST)

    check = counted(71, tokens, course)

    assert check.ok, str(check)
    assert check.verdict == ALL_CORRECT
    assert "a fresh count by v1 search agrees" in str(check)


def test_the_v2_count_with_archived_pages_is_correct_too(course: Course) -> None:
    tokens = course.sign_in(FEWEST)

    assert fresh_counts(tokens, course) == {"v1 search": 71, "v2": 73}
    assert counted(73, tokens, course).ok


def test_the_granular_alternative_for_search_is_as_good(course: Course) -> None:
    tokens = course.sign_in("read:page:confluence read:content-details:confluence")

    assert counted(71, tokens, course).ok


def test_the_starter_value_is_not_done(course: Course) -> None:
    check = counted(..., ..., course)

    assert not check.ok
    assert "`my_tokens` in the cell above: it is still `...`" in str(check)


def test_a_count_not_yet_made_is_named(course: Course) -> None:
    tokens = course.sign_in(FEWEST)

    check = counted(..., tokens, course)

    assert "`eng_pages` in the cell above: it is still `...`" in str(check)
    assert check.verdict == f"{NOT_YET} 1 of 4 points to fix."


def test_a_classic_only_token_is_told_the_granular_scope_v2_needs(
    course: Course,
) -> None:
    tokens = course.sign_in("search:confluence read:confluence-content.summary")

    check = counted(71, tokens, course)

    assert not check.ok
    assert "cannot call `v2 pages`: it also needs `read:page:confluence`" in str(check)


def test_scopes_to_spare_are_named(course: Course) -> None:
    tokens = course.sign_in(COURSE_SCOPES)

    check = counted(71, tokens, course)

    assert not check.ok
    assert "does not need: `read:confluence-user`, `read:space:confluence`" in str(
        check
    )


def test_one_page_of_results_is_recognised(course: Course) -> None:
    tokens = course.sign_in(FEWEST)

    check = counted(25, tokens, course)

    assert not check.ok
    assert "looks like one page of results. Follow `next`" in str(check)


@pytest.mark.parametrize("value", ["71", 71.0, True])
def test_a_count_that_is_no_whole_number_gets_a_hint(
    course: Course, value: object
) -> None:
    tokens = course.sign_in(FEWEST)

    assert "make it a whole number of pages" in str(counted(value, tokens, course))


def test_something_other_than_tokens_gets_a_hint(course: Course) -> None:
    check = counted(71, "read:page:confluence", course)

    assert not check.ok
    assert "keep what `course.sign_in(...)` returns" in str(check)

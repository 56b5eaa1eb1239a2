"""The check of `08-refresh-tokens`: a refresh-token family kept alive for 200 days.

The sandbox's clock says how old the family is; the store's lineage says it is one
family, refreshed often enough, ending in `survivor`; and `/me` says that
`survivor`'s access token works, so that its refresh was the latest, on day 200.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from kit.clocks import DAY, IDLE_LIMIT
from kit.confluence import me
from kit.course.checks import Result, is_done, not_done, result
from kit.errors import KitError
from kit.tokens import Lineage, TokenSet

if TYPE_CHECKING:
    from kit.course import Course

TITLE = "Exercise: keep a family alive for 200 days"
TARGET_DAYS = 200
SLACK = 60.0  # seconds: the cells themselves take a moment of the sandbox's time


def survived(survivor: Any, course: Course, born: float) -> Result:
    """Whether `survivor` ends a family `born` 200 days ago on the sandbox's clock."""
    if not is_done(survivor):
        return not_done(TITLE, "survivor")
    if not isinstance(survivor, TokenSet) or survivor.refresh_token is None:
        kind = type(survivor).__name__
        hint = (
            f"`survivor` is a {kind} without a refresh token; keep what "
            "`course.store.refresh_with(refresh)` returns."
        )
        return result(TITLE, [(False, hint)])
    if course.controls is None:
        hint = "This exercise moves the sandbox's clock: run it on the sandbox."
        return result(TITLE, [(False, hint)])
    try:
        age = course.controls.now() - born
        stored = course.store.load()
    except KitError as exc:
        return result(TITLE, [(False, f"The check could not look: {exc}")])
    lineage = None if stored is None else stored.lineage
    return result(
        TITLE,
        [
            _newest(survivor, lineage),
            _refreshes(lineage, age),
            _age(age),
            _works(survivor, course),
        ],
    )


def _newest(survivor: TokenSet, lineage: Lineage | None) -> tuple[bool, str]:
    assert survivor.refresh_token is not None
    mine = survivor.refresh_token.fingerprint
    if lineage is not None and lineage.current == mine:
        return (
            True,
            f"`survivor` holds the newest refresh token of the family ({mine}).",
        )
    return False, (
        "`survivor`'s refresh token is not the newest the store keeps: refresh "
        "through `course.store.refresh_with(refresh)`, which saves each rotated "
        "token and the lineage, and keep what the last call returns."
    )


def _refreshes(lineage: Lineage | None, age: float) -> tuple[bool, str]:
    needed = max(1, math.ceil(age / IDLE_LIMIT)) if age > 0 else 1
    count = 0 if lineage is None else len(lineage.rotations)
    if count >= needed:
        return True, (
            f"The lineage holds {count + 1} refresh tokens: {count} refreshes since "
            f"the sign-in, enough to span {age / DAY:.0f} days with less than 90 "
            "between them."
        )
    return False, (
        f"The lineage shows {count} refresh(es) since the sign-in; spanning "
        f"{age / DAY:.0f} days takes at least {needed}, since 90 days without one "
        "kill the family. Did you sign in again after `born`?"
    )


def _age(age: float) -> tuple[bool, str]:
    days = age / DAY
    if age + SLACK >= TARGET_DAYS * DAY:
        return True, f"The family is {days:.0f} days old on the sandbox's clock."
    return False, (
        f"The family is {days:.1f} days old on the sandbox's clock; move the clock "
        f"on (`course.controls.advance(days=...)`) and refresh until day "
        f"{TARGET_DAYS}."
    )


def _works(survivor: TokenSet, course: Course) -> tuple[bool, str]:
    try:
        who = me(course.config, survivor)
    except KitError:
        return False, (
            "`survivor`'s access token is refused on `/me`: it expired (an hour on "
            "the sandbox's clock) or its family was revoked. Refresh last, after "
            "the last move of the clock."
        )
    name = who.get("name", "someone") if isinstance(who, dict) else "someone"
    return True, f"`survivor`'s access token works on `/me` (it acts for {name})."

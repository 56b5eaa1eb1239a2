"""The check of `07-confluence-v1-v2`: both APIs reached with the fewest scopes.

The token must reach v1 search and v2 pages, hold no Confluence scope it could
do without, and the count of the space `ENG`'s pages must match a fresh count
by v1 search (current pages) or by v2 (which lists archived pages too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kit.confluence import Confluence, accessible_resources, pick_site
from kit.course.checks import Result, is_done, not_done, result
from kit.errors import KitError
from kit.scopes import can_reach, family, missing_scopes
from kit.tokens import TokenSet

if TYPE_CHECKING:
    from kit.course import Course

TITLE = "Exercise: both APIs, fewest scopes"
OPERATIONS = ("v1 search", "v2 pages")
SPACE = "ENG"
CONFLUENCE_FAMILIES = frozenset({"classic", "granular"})


def counted(eng_pages: Any, my_tokens: Any, course: Course) -> Result:
    """Whether `my_tokens` reach both APIs with no scope to spare, and the count."""
    if not is_done(my_tokens):
        return not_done(TITLE, "my_tokens")
    if not isinstance(my_tokens, TokenSet):
        kind = type(my_tokens).__name__
        hint = f"`my_tokens` is a {kind}; keep what `course.sign_in(...)` returns."
        return result(TITLE, [(False, hint)])
    granted = my_tokens.scope
    points = [_reaches(granted, name) for name in OPERATIONS]
    points.append(_no_spare(granted))
    points.append(_count_point(eng_pages, my_tokens, course))
    return result(TITLE, points)


def _reaches(granted: tuple[str, ...], operation: str) -> tuple[bool, str]:
    if can_reach(granted, operation):
        return True, f"The token reaches `{operation}`."
    missing = " + ".join(f"`{s}`" for s in missing_scopes(granted, operation))
    return False, f"The token cannot call `{operation}`: it also needs {missing}."


def _no_spare(granted: tuple[str, ...]) -> tuple[bool, str]:
    """No Confluence scope can be dropped while both operations stay reachable."""
    confluence = [s for s in granted if _is_confluence(s)]
    spare = [
        scope
        for scope in confluence
        if all(
            can_reach([s for s in granted if s != scope], name) for name in OPERATIONS
        )
    ]
    if spare:
        names = ", ".join(f"`{s}`" for s in spare)
        return False, (
            f"The grant holds Confluence scopes it does not need: {names}. Ask for "
            "`kit.scopes.scopes_for([...]).recommended` only (plus `offline_access`)."
        )
    shown = ", ".join(f"`{s}`" for s in confluence) or "none"
    return True, f"No Confluence scope to spare: {shown}."


def _is_confluence(scope: str) -> bool:
    try:
        return family(scope) in CONFLUENCE_FAMILIES
    except KitError:  # not in the catalogue: not a Confluence scope we know
        return False


def _count_point(eng_pages: Any, tokens: TokenSet, course: Course) -> tuple[bool, str]:
    if not is_done(eng_pages):
        return False, "Set `eng_pages` in the cell above: it is still `...`."
    if isinstance(eng_pages, bool) or not isinstance(eng_pages, int):
        kind = type(eng_pages).__name__
        return False, f"`eng_pages` is a {kind}; make it a whole number of pages."
    counts = fresh_counts(tokens, course)
    if not counts:
        return False, (
            "The check could not count the pages of ENG with `my_tokens`; sign in "
            "with the advised scopes and run the cells again."
        )
    for api, count in counts.items():
        if eng_pages == count:
            return True, f"{eng_pages} pages in ENG: a fresh count by {api} agrees."
    return False, _count_hint(eng_pages, counts)


def _count_hint(eng_pages: int, counts: dict[str, int]) -> str:
    if eng_pages in {25, 30, 100, 250} or eng_pages < min(counts.values()):
        return (
            f"`eng_pages` is {eng_pages}, which looks like one page of results. "
            "Follow `next` until it is missing (`pages_of`, `items`, or `search`, "
            "which page for you)."
        )
    return (
        f"`eng_pages` is {eng_pages}, more than a fresh count finds. Count pages "
        "(`type = page`) of the space `ENG` only."
    )


def fresh_counts(tokens: TokenSet, course: Course) -> dict[str, int]:
    """ENG's pages counted by v1 search and by v2, with what `tokens` may call."""
    counts: dict[str, int] = {}
    try:
        site = pick_site(accessible_resources(course.config, tokens))
        with Confluence(course.config, tokens, site.cloud_id) as wiki:
            if can_reach(tokens.scope, "v1 search"):
                cql = f"space = {SPACE} and type = page"
                counts["v1 search"] = sum(1 for _ in wiki.search(cql, limit=100))
            if can_reach(tokens.scope, "v2 pages"):
                counts["v2"] = _v2_count(wiki)
    except KitError:
        pass  # a count that cannot be made is left out; the hint says so
    return counts


def _v2_count(wiki: Confluence) -> int:
    """ENG's pages through v2: every page whose web link is under `/spaces/ENG/`."""
    prefix = f"/spaces/{SPACE}/"
    return sum(
        1
        for page in wiki.pages(limit=250)
        if str(page.get("_links", {}).get("webui", "")).startswith(prefix)
    )

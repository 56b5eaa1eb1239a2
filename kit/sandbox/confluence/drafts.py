"""The vocabulary the sandbox's Confluence content is written in: drafts and people.

A `PageDraft` is a title, a body in `markup` form and its child drafts; a
`SpaceDraft` holds the homepage of a tree. `site_content.py` turns them into
records with ids and timestamps. The people are invented colleagues of Ada's.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.sandbox.confluence.model import Person
from kit.sandbox.scenario import USER


@dataclass(frozen=True)
class PageDraft:
    """A page before it has an id: title, markup body, children."""

    title: str
    body: str
    children: tuple[PageDraft, ...] = ()
    status: str = "current"
    labels: tuple[str, ...] = ()
    author: str = "ada"


@dataclass(frozen=True)
class SpaceDraft:
    """A space before it has an id, with its homepage at the root of the tree."""

    key: str
    name: str
    type: str
    status: str
    description: str
    author: str
    home: PageDraft
    labels: tuple[str, ...] = ()


def page(
    title: str,
    body: str,
    *children: PageDraft,
    status: str = "current",
    labels: tuple[str, ...] = (),
    author: str = "ada",
) -> PageDraft:
    """A page draft; children follow the body as positional arguments."""
    return PageDraft(title, body, children, status, labels, author)


PEOPLE: dict[str, Person] = {
    "ada": Person(USER.account_id, USER.name),
    "tomasz": Person("712020:0b6e2f4a-1c3d-4e5f-8a9b-7c6d5e4f3a21", "Tomasz Nowak"),
    "priya": Person("712020:9d8c7b6a-5f4e-4d3c-b2a1-0f9e8d7c6b54", "Priya Raman"),
    "jonas": Person("712020:3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f", "Jonas Lindqvist"),
    "mei": Person("712020:6f5e4d3c-2b1a-4098-8f7e-6d5c4b3a2918", "Mei Chen"),
    "samira": Person("712020:1a2b3c4d-5e6f-4a7b-9c8d-0e1f2a3b4c5d", "Samira Haddad"),
}

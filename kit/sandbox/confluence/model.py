"""The emulated Confluence's content: spaces, pages, and one site's indexes.

Records are frozen and built once per site (`site_content.py`); the handlers only
look things up and filter. Every id is a numeric string and every timestamp a fixed
ISO string, so that two runs of the sandbox serve byte-identical answers.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from kit.sandbox.confluence import markup
from kit.sandbox.scenario import Site

if TYPE_CHECKING:
    from kit.sandbox.http import Response


@dataclass(frozen=True)
class Person:
    """Someone who writes pages: an Atlassian account id and a display name."""

    account_id: str
    name: str


@dataclass(frozen=True)
class SpaceRecord:
    """One space as stored: v2 and v1 shapes are built from it."""

    id: str
    key: str
    name: str
    type: str  # global or personal
    status: str  # current or archived
    description: str
    author_id: str
    created_at: str
    homepage_id: str
    labels: tuple[str, ...] = ()

    @property
    def webui(self) -> str:
        """The space's path in the Confluence UI, relative to `/wiki`."""
        return f"/spaces/{self.key}"


@dataclass(frozen=True)
class PageRecord:
    """One page as stored, with its body already parsed into blocks."""

    id: str
    title: str
    status: str  # current, archived, trashed or draft
    space: SpaceRecord
    parent_id: str | None
    ancestors: tuple[str, ...]  # ids from the space root down to the parent
    position: int
    author_id: str
    created_at: str
    version_number: int
    version_at: str
    version_message: str
    blocks: tuple[markup.Block, ...] = field(repr=False)
    labels: tuple[str, ...] = ()

    @property
    def int_id(self) -> int:
        """The id as a number, for sorting."""
        return int(self.id)

    @property
    def is_homepage(self) -> bool:
        """Whether this page is its space's homepage."""
        return self.id == self.space.homepage_id

    @cached_property
    def storage(self) -> str:
        """The body in Confluence storage format."""
        return markup.to_storage(self.blocks, seed=f"page/{self.id}")

    @cached_property
    def atlas_doc_format(self) -> str:
        """The body in Atlassian Document Format (a JSON string)."""
        return markup.to_adf(self.blocks)

    @cached_property
    def view(self) -> str:
        """The body rendered to HTML."""
        return markup.to_view(self.blocks)

    @cached_property
    def text(self) -> str:
        """The body's words, for search and excerpts."""
        return markup.to_text(self.blocks)

    @property
    def webui(self) -> str:
        """The page's path in the Confluence UI, relative to `/wiki`."""
        if self.is_homepage:
            return f"/spaces/{self.space.key}/overview"
        slug = quote_plus(self.title)
        return f"/spaces/{self.space.key}/pages/{self.id}/{slug}"

    @property
    def tinyui(self) -> str:
        """Confluence's short link: the id's little-endian bytes in base64."""
        return "/x/" + tiny_id(self.int_id)


def tiny_id(number: int) -> str:
    """The `/x/...` code Confluence derives from a content id."""
    code = base64.b64encode(number.to_bytes(8, "little")).decode()
    return code.rstrip("A=").replace("/", "-").replace("+", "_") or "A"


@dataclass
class SiteContent:
    """Everything one site holds, with the indexes the handlers look things up in."""

    site: Site
    spaces: tuple[SpaceRecord, ...]
    pages: tuple[PageRecord, ...]
    people: dict[str, Person]

    def __post_init__(self) -> None:
        self.spaces = tuple(sorted(self.spaces, key=lambda s: int(s.id)))
        self.pages = tuple(sorted(self.pages, key=lambda p: p.int_id))
        self.space_by_id = {space.id: space for space in self.spaces}
        self.space_by_key = {space.key.casefold(): space for space in self.spaces}
        self.page_by_id = {page.id: page for page in self.pages}
        self.pages_by_space: dict[str, tuple[PageRecord, ...]] = {
            space.id: tuple(p for p in self.pages if p.space.id == space.id)
            for space in self.spaces
        }
        self.children: dict[str, tuple[PageRecord, ...]] = {}
        for page in self.pages:
            if page.parent_id is not None:
                siblings = self.children.get(page.parent_id, ())
                self.children[page.parent_id] = (*siblings, page)
        # Content never changes after it is built, so an answer computed from it
        # stays right for the sandbox's life: listings' answers (`confluence.v2`),
        # kept by path and query.
        self.answers: dict[tuple[str, ...], Response] = {}

    @property
    def base_url(self) -> str:
        """The site's Confluence base, e.g. `https://x.atlassian.net/wiki`."""
        return self.site.url + "/wiki"

    def space_by_key_or_none(self, key: str) -> SpaceRecord | None:
        """A space by key, case-insensitively (keys are, on Cloud)."""
        return self.space_by_key.get(key.casefold())

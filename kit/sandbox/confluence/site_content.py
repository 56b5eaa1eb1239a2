"""Each site's Confluence content, built deterministically from the page drafts.

`content_for(site)` numbers the spaces and pages of a site in a fixed order and
stamps them with fixed times, so ids and timestamps never change between runs (no
randomness anywhere). It is cached per site: building takes a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from kit.sandbox.confluence import markup
from kit.sandbox.confluence.drafts import PEOPLE, PageDraft, SpaceDraft
from kit.sandbox.confluence.model import PageRecord, SiteContent, SpaceRecord
from kit.sandbox.confluence.pages_eng import engineering_home
from kit.sandbox.confluence.pages_other import ARCHIVE_SPACES, LABS_SPACES
from kit.sandbox.scenario import Site

ENGINEERING = SpaceDraft(
    key="ENG",
    name="Engineering Handbook",
    type="global",
    status="current",
    description="How Pinecone Labs builds, ships and runs Scout and its fleet.",
    author="priya",
    home=engineering_home(),
    labels=("engineering", "handbook"),
)

_EDIT_MESSAGES = ("", "Fix typos", "", "Update for the new clusters", "", "")


@dataclass(frozen=True)
class Layout:
    """Where a site's numbering and clock start."""

    spaces: tuple[SpaceDraft, ...]
    first_space_id: int
    first_page_id: int
    start: dt.datetime


LAYOUTS: dict[str, Layout] = {
    "pinecone-labs": Layout(
        (ENGINEERING, *LABS_SPACES), 98306, 131073, dt.datetime(2024, 1, 8, 9)
    ),
    "pinecone-archive": Layout(
        ARCHIVE_SPACES, 163842, 229377, dt.datetime(2021, 3, 1, 9)
    ),
}


def iso(moment: dt.datetime) -> str:
    """A timestamp as Confluence writes it: `2024-01-08T09:00:00.000Z`."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class _Builder:
    """Hands out ids and times in order while walking the drafts."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.next_page_id = layout.first_page_id
        self.count = 0
        self.pages: list[PageRecord] = []

    def tick(self) -> dt.datetime:
        """The next creation time: pages were written about a day apart."""
        self.count += 1
        return self.layout.start + dt.timedelta(hours=19 * self.count)

    def space(self, draft: SpaceDraft, space_id: int) -> SpaceRecord:
        record = SpaceRecord(
            id=str(space_id),
            key=draft.key,
            name=draft.name,
            type=draft.type,
            status=draft.status,
            description=draft.description,
            author_id=PEOPLE[draft.author].account_id,
            created_at=iso(self.tick()),
            homepage_id=str(self.next_page_id),
            labels=draft.labels,
        )
        self.walk(draft.home, record, None, (), 0)
        return record

    def walk(
        self,
        draft: PageDraft,
        space: SpaceRecord,
        parent_id: str | None,
        ancestors: tuple[str, ...],
        position: int,
    ) -> None:
        page_id = str(self.next_page_id)
        self.next_page_id += 1
        self.pages.append(
            self.record(
                draft=draft,
                page_id=page_id,
                space=space,
                parent_id=parent_id,
                ancestors=ancestors,
                position=position,
            )
        )
        lineage = (*ancestors, page_id)
        for index, child in enumerate(draft.children):
            self.walk(child, space, page_id, lineage, index)

    def record(
        self,
        *,
        draft: PageDraft,
        page_id: str,
        space: SpaceRecord,
        parent_id: str | None,
        ancestors: tuple[str, ...],
        position: int,
    ) -> PageRecord:
        created = self.tick()
        n = self.count
        edited = created + dt.timedelta(days=(n * 7) % 40 + 1, hours=(n * 5) % 9)
        trashed = draft.status == "trashed"
        return PageRecord(
            id=page_id,
            title=draft.title,
            status=draft.status,
            space=space,
            parent_id=None if trashed else parent_id,
            ancestors=() if trashed else ancestors,
            position=position,
            author_id=PEOPLE[draft.author].account_id,
            created_at=iso(created),
            version_number=1 + (n * 3) % 6,
            version_at=iso(edited),
            version_message=_EDIT_MESSAGES[n % len(_EDIT_MESSAGES)],
            blocks=markup.parse(draft.body),
            labels=draft.labels,
        )


def build_content(site: Site) -> SiteContent:
    """Number and stamp the drafts of one site; unknown sites are empty."""
    layout = LAYOUTS.get(site.name)
    if layout is None:
        return SiteContent(site, (), (), dict(PEOPLE))
    builder = _Builder(layout)
    spaces = tuple(
        builder.space(draft, layout.first_space_id + index)
        for index, draft in enumerate(layout.spaces)
    )
    return SiteContent(site, spaces, tuple(builder.pages), dict(PEOPLE))


@lru_cache(maxsize=16)
def content_for(site: Site) -> SiteContent:
    """The site's content, built once per process."""
    return build_content(site)

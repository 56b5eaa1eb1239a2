"""Each site's Confluence content, built deterministically from the page drafts.

`content_for(site)` numbers the spaces and pages of a site in a fixed order and
stamps them with fixed times, so ids and timestamps never change between runs (no
randomness anywhere). It is cached per site: building takes a few milliseconds.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from kit.sandbox.confluence import markup
from kit.sandbox.confluence.drafts import PEOPLE, PageDraft, SpaceDraft, page
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


@dataclass_free_layout := None  # noqa: B018 (placeholder removed below)

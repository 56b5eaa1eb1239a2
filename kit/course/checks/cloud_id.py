"""The check of `06-cloud-id`: was the Confluence entry's cloud id picked?

It looks the id up in the learner's `sites`, then calls v2 `GET /wiki/api/v2/spaces`
through the gateway with it, as `kit.Confluence` does; a cloud id is no secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kit.config import ClientConfig
from kit.confluence import Confluence, Site
from kit.course.checks import Result, is_done, not_done, result
from kit.doctor import diagnose
from kit.errors import KitError
from kit.store import TokenStore

TITLE = "Exercise: pick the cloud id"


def picked(
    cloud_id: Any, sites: Sequence[Site], config: ClientConfig, store: TokenStore
) -> Result:
    """Whether `cloud_id` is the Confluence entry's id, and the gateway takes it."""
    if not is_done(cloud_id):
        return not_done(TITLE, "cloud_id")
    if isinstance(cloud_id, Site):
        hint = "`cloud_id` is a whole entry; keep its `.cloud_id`."
        return result(TITLE, [(False, hint)])
    if not isinstance(cloud_id, str):
        kind = type(cloud_id).__name__
        hint = f"`cloud_id` is a {kind}; keep the `cloud_id` string of an entry."
        return result(TITLE, [(False, hint)])
    entries = [site for site in sites if site.cloud_id == cloud_id]
    return result(
        TITLE,
        [
            _listed(cloud_id, entries, sites),
            _confluence(entries),
            _gateway(cloud_id, config, store),
        ],
    )


def _listed(
    cloud_id: str, entries: list[Site], sites: Sequence[Site]
) -> tuple[bool, str]:
    if entries:
        return True, "It is the `id` of an entry of `sites`."
    if any(cloud_id in {site.url, site.name} for site in sites):
        return False, (
            "`cloud_id` is the site's URL or name; the gateway wants its `id`, "
            "the entry's `.cloud_id`."
        )
    return False, "`cloud_id` is none of the ids in `sites`; copy one from there."


def _confluence(entries: list[Site]) -> tuple[bool, str]:
    if any("confluence" in site.products for site in entries):
        return True, (
            "Its entry holds Confluence's scopes (the Jira entry shares the id; "
            "only the scopes differ)."
        )
    return False, "Pick the entry whose `scopes` are Confluence's, not Jira's."


def _gateway(
    cloud_id: str, config: ClientConfig, store: TokenStore
) -> tuple[bool, str]:
    try:
        with Confluence(config, store, cloud_id) as confluence:
            confluence.get("v2", "spaces", {"limit": 1})
    except KitError as exc:
        return False, f"The gateway refused it: {diagnose(exc).what}"
    return True, "`GET /ex/confluence/{cloud_id}/wiki/api/v2/spaces` answered 200."

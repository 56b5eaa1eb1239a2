"""Helpers for the Confluence tests: tokens of chosen scopes, gateway paths, walks.

The Confluence tests share one sandbox per module (the content is read-only), so
these helpers take a `Flow` and mint what each test needs from it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from sandbox_driver import Flow, redirect_params

from kit.sandbox.scenario import ARCHIVE, PINECONE

GRANULAR = "read:page:confluence read:space:confluence"
CLASSIC = (
    "read:confluence-content.summary read:confluence-space.summary "
    "search:confluence read:confluence-user"
)
LABS = PINECONE.cloud_id
ARCHIVE_ID = ARCHIVE.cloud_id


def token(flow: Flow, scope: str, site: str = LABS) -> str:
    """An access token for `scope`, consented on the given site."""
    answer = flow.consent(flow.authorize(scope=scope), site=site)
    assert answer.status_code == 302, answer.text
    exchanged = flow.exchange(redirect_params(answer)["code"])
    assert exchanged.status_code == 200, exchanged.text
    return str(exchanged.json()["access_token"])


def gateway(path: str, cloud_id: str = LABS) -> str:
    """The gateway path of a Confluence path such as `/wiki/api/v2/pages`."""
    return f"/ex/confluence/{cloud_id}{path}"


def get(
    flow: Flow, path: str, access_token: str, cloud_id: str = LABS, **params: Any
) -> requests.Response:
    """GET a Confluence path through the gateway."""
    return flow.api(gateway(path, cloud_id), access_token, **params)


def follow(
    flow: Flow, relative: str, access_token: str, cloud_id: str = LABS
) -> requests.Response:
    """GET a site-relative `_links.next` (`/wiki/...`) through the gateway."""
    if not relative.startswith("/wiki"):
        relative = "/wiki" + relative
    parts = urlsplit(relative)
    headers = {"Accept": "application/json", "Authorization": f"Bearer {access_token}"}
    url = f"{flow.url}{gateway(parts.path, cloud_id)}"
    query = parse_qsl(parts.query, keep_blank_values=True)
    return flow.http.get(url, headers=headers, params=query)


def walk(
    flow: Flow, path: str, access_token: str, **params: Any
) -> Iterator[requests.Response]:
    """Every page of a list, following `_links.next` until it is absent."""
    answer = get(flow, path, access_token, **params)
    for _ in range(200):
        assert answer.status_code == 200, answer.text
        yield answer
        following = answer.json()["_links"].get("next")
        if following is None:
            return
        answer = follow(flow, following, access_token)
    raise AssertionError("the walk did not end after 200 pages")

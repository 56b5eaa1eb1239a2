"""The emulated Confluence behind the gateway: one operation in, one answer out.

The gateway has already authenticated the token, checked the site and the scopes;
`ConfluenceApi.handle` picks the handler for the operation and turns every refusal
into the error envelope of the operation's API (facts 6.6). It never raises: a bug
becomes a logged 500, not a dropped connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from kit.sandbox.confluence import v1, v2
from kit.sandbox.confluence.call import Call
from kit.sandbox.confluence.errors import (
    ConfluenceError,
    error_for,
    gone,
    not_implemented,
)
from kit.sandbox.confluence.model import SiteContent
from kit.sandbox.confluence.routes import Operation
from kit.sandbox.confluence.site_content import content_for
from kit.sandbox.http import Request, Response
from kit.sandbox.scenario import Site, User
from kit.sandbox.settings import Settings

logger = logging.getLogger(__name__)

Handler = Callable[[Call], Response]

HANDLERS: dict[tuple[str, str], Handler] = {
    ("v2", "getSpaces"): v2.get_spaces,
    ("v2", "getSpaceById"): v2.get_space_by_id,
    ("v2", "getPagesInSpace"): v2.get_pages_in_space,
    ("v2", "getPages"): v2.get_pages,
    ("v2", "getPageById"): v2.get_page_by_id,
    ("v1", "searchByCQL"): v1.search,
    ("v1", "getCurrentUser"): v1.current_user,
    ("v1", "getSpaces"): v1.get_spaces,
    ("v1", "getSpace"): v1.get_space,
    ("v1", "getContent"): v1.get_content,
    ("v1", "getContentById"): v1.get_content_by_id,
}

# The v1 families Atlassian removed for 3LO traffic (facts 6.1).
REMOVED_V1_PREFIXES = ("/wiki/rest/api/space", "/wiki/rest/api/content")


def is_removed(operation: Operation) -> bool:
    """Whether the operation is a deprecated v1 `space` or `content` endpoint."""
    return (
        operation.api == "v1"
        and operation.deprecated
        and operation.path.startswith(REMOVED_V1_PREFIXES)
    )


class ConfluenceApi:
    """The Confluence of every site the sandbox knows, built lazily per site."""

    def __init__(self, sites: tuple[Site, ...], user: User) -> None:
        self.sites = sites
        self.user = user

    def content(self, site: Site) -> SiteContent:
        """The site's spaces and pages (built once per process)."""
        return content_for(site)

    def handle(  # noqa: PLR0917 (the gateway's call, fixed by its owner)
        self,
        operation: Operation,
        params: dict[str, str],
        request: Request,
        site: Site,
        settings: Settings,
        scopes: frozenset[str],
    ) -> Response:
        """Answer one routed call; errors become the API's envelope, never raise."""
        if is_removed(operation) and not settings.legacy_v1_endpoints:
            return gone()
        handler = HANDLERS.get((operation.api, operation.operation_id))
        if handler is None or not operation.implemented:
            return not_implemented(operation.api, operation.operation_id)
        try:
            call = Call(
                params, request, self.content(site), settings, scopes, self.user
            )
            return handler(call)
        except ConfluenceError as exc:
            return error_for(operation.api, exc.status, exc.message)
        except Exception:
            logger.exception(
                "The sandbox's Confluence failed on %s %s.",
                operation.method,
                operation.operation_id,
            )
            message = "The sandbox failed unexpectedly; its log has the details."
            return error_for(operation.api, 500, message)

"""The v2 REST API's spaces and pages: the lists, one space, one page (facts 6.4-6.5).

Lists are paged with an opaque `cursor` and a `limit` of 1 to 250 (default 25); the
next page is named twice, in `_links.next` and in a `Link` header, both relative to
the site (`/wiki/api/v2/...`). Pages list `current` and `archived` unless told
otherwise; drafts never appear in a list.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from kit.sandbox.confluence.call import Call
from kit.sandbox.confluence.errors import bad_request, not_found
from kit.sandbox.confluence.model import PageRecord, SpaceRecord
from kit.sandbox.confluence.paging import (
    decode_cursor,
    encode_cursor,
    fingerprint,
    parse_limit,
    relative_link,
    window,
)
from kit.sandbox.http import Response, json_response

API = "/wiki/api/v2"
DEFAULT_LIMIT = 25
MAX_LIMIT = 250
LIST_STATUSES = ("current", "archived", "deleted", "trashed")
DEFAULT_STATUSES = ("current", "archived")
PAGE_STATUSES = ("current", "archived", "trashed", "deleted", "historical", "draft")
BULK_FORMATS = ("storage", "atlas_doc_format")
SINGLE_FORMATS = (
    "storage",
    "atlas_doc_format",
    "view",
    "export_view",
    "anonymous_export_view",
    "styled_view",
    "editor",
)
PAGE_SORTS: dict[str, Callable[[PageRecord], Any]] = {
    "id": lambda page: page.int_id,
    "created-date": lambda page: (page.created_at, page.int_id),
    "modified-date": lambda page: (page.version_at, page.int_id),
    "title": lambda page: (page.title.casefold(), page.int_id),
}
SPACE_SORTS: dict[str, Callable[[SpaceRecord], Any]] = {
    "id": lambda space: int(space.id),
    "key": lambda space: space.key.casefold(),
    "name": lambda space: (space.name.casefold(), int(space.id)),
}
SPACE_TYPES = ("global", "collaboration", "knowledge_base", "personal")
SPACE_STATUSES = ("current", "archived")
PAGE_FLAGS = (
    "include-labels",
    "include-properties",
    "include-operations",
    "include-likes",
    "include-versions",
    "include-favorited-by-current-user-status",
    "include-webresources",
)
SPACE_FLAGS = (
    "include-icon",
    "include-operations",
    "include-properties",
    "include-permissions",
    "include-role-assignments",
    "include-labels",
)


# Spaces


def get_spaces(call: Call) -> Response:
    """`GET /wiki/api/v2/spaces`: every space of the site, filtered and paged."""
    spaces = _filter_spaces(call, call.content.spaces)
    spaces = _sorted(spaces, call.choice("sort", _orders(SPACE_SORTS)), SPACE_SORTS)
    description = call.choice("description-format", ("plain", "view"))
    icon = call.flag("include-icon")
    return _listing(
        call,
        f"{API}/spaces",
        spaces,
        lambda space: space_json(space, description, icon),
    )


def _filter_spaces(call: Call, spaces: Sequence[SpaceRecord]) -> Sequence[SpaceRecord]:
    ids = set(call.numbers("ids", 250))
    keys = {key.casefold() for key in call.many("keys", 250)}
    kind = call.choice("type", SPACE_TYPES)
    status = call.choice("status", SPACE_STATUSES)
    labels = set(call.many("labels"))
    return [
        space
        for space in spaces
        if (not ids or space.id in ids)
        and (not keys or space.key.casefold() in keys)
        and (kind is None or space.type == kind)
        and (status is None or space.status == status)
        and (not labels or labels & set(space.labels))
    ]


def get_space_by_id(call: Call) -> Response:
    """`GET /wiki/api/v2/spaces/{id}`: one space, or 404."""
    space = _space(call)
    flags = {name: call.flag(name) for name in SPACE_FLAGS}
    description = call.choice("description-format", ("plain", "view"))
    body = space_json(space, description, flags["include-icon"])
    if flags["include-labels"]:
        body["labels"] = _optional(
            [_label(f"{space.id}{n}", name) for n, name in enumerate(space.labels)]
        )
    for name, field in (
        ("include-operations", "operations"),
        ("include-properties", "properties"),
        ("include-permissions", "permissions"),
    ):
        if flags[name]:
            body[field] = _optional(
                _space_operations() if field == "operations" else []
            )
    body["_links"]["base"] = call.content.base_url
    return json_response(200, body)


def _space(call: Call) -> SpaceRecord:
    space_id = call.number_param("id")
    space = call.content.space_by_id.get(space_id)
    if space is None:
        raise not_found(f"Cannot find a space with id [{space_id}]")
    return space


def space_json(
    space: SpaceRecord, description: str | None = None, icon: bool = False
) -> dict[str, Any]:
    """A space in the v2 shape (facts 6.4)."""
    body: dict[str, Any] = {
        "id": space.id,
        "key": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
        "authorId": space.author_id,
        "createdAt": space.created_at,
        "homepageId": space.homepage_id,
    }
    if description == "plain":
        body["description"] = {
            "plain": {"representation": "plain", "value": space.description}
        }
    elif description == "view":
        value = f"<p>{_escape(space.description)}</p>"
        body["description"] = {"view": {"representation": "view", "value": value}}
    if icon:
        path = "/wiki/aa-avatar/default-space-logo.svg"
        body["icon"] = {"path": path, "apiDownloadLink": path}
    body["_links"] = {"webui": space.webui}
    return body


def _space_operations() -> list[dict[str, str]]:
    return [{"operation": "read", "targetType": "space"}]


# Pages

ANSWERS_KEPT = 256  # listings' answers kept per site (see `_page_listing`)


def get_pages(call: Call) -> Response:
    """`GET /wiki/api/v2/pages`: pages of every space, filtered and paged."""

    def pages() -> Sequence[PageRecord]:
        ids = set(call.numbers("id", 250))
        space_ids = set(call.numbers("space-id", 100))
        return [
            page
            for page in call.content.pages
            if (not ids or page.id in ids)
            and (not space_ids or page.space.id in space_ids)
        ]

    return _page_listing(call, f"{API}/pages", pages)


def get_pages_in_space(call: Call) -> Response:
    """`GET /wiki/api/v2/spaces/{id}/pages`: one space's pages, filtered and paged."""
    space = _space(call)

    def pages() -> Sequence[PageRecord]:
        depth = call.choice("depth", ("all", "root")) or "all"
        in_space = call.content.pages_by_space[space.id]
        if depth == "root":
            return [page for page in in_space if page.parent_id is None]
        return in_space

    return _page_listing(call, f"{API}/spaces/{space.id}/pages", pages)


def _page_listing(
    call: Call, path: str, pages: Callable[[], Sequence[PageRecord]]
) -> Response:
    """A listing of pages, answered from what the site kept when it can.

    Content never changes once built, so the same path and query (cursor and
    limit included) always get the same answer: the site keeps the answers it
    gave (`SiteContent.answers`), and a room walking the same listing, or a load
    generator, has each page of it built once. A query that fails its checks
    raises and keeps nothing; a client inventing queries empties the store of
    them now and then (`ANSWERS_KEPT`).
    """
    key = (path, *(f"{k}={v}" for k, v in call.request.query))
    kept = call.content.answers
    if (found := kept.get(key)) is None:
        found = _build_page_listing(call, path, pages())
        if len(kept) >= ANSWERS_KEPT:
            kept.clear()
        kept[key] = found
    return Response(found.status, list(found.headers), found.body)


def _build_page_listing(call: Call, path: str, pages: Sequence[PageRecord]) -> Response:
    statuses = _list_statuses(call)
    title = call.one("title")
    body_format = call.choice("body-format", BULK_FORMATS)
    chosen = [
        page
        for page in pages
        if page.status in statuses
        and (title is None or page.title.casefold() == title.casefold())
    ]
    chosen = _sorted(chosen, call.choice("sort", _orders(PAGE_SORTS)), PAGE_SORTS)
    return _listing(call, path, chosen, lambda page: page_json(page, body_format))


def _list_statuses(call: Call) -> tuple[str, ...]:
    statuses = tuple(call.many("status"))
    for status in statuses:
        if status not in LIST_STATUSES:
            raise bad_request(
                f"`status` must be among {', '.join(LIST_STATUSES)}, not {status!r}."
            )
    return statuses or DEFAULT_STATUSES


def get_page_by_id(call: Call) -> Response:
    """`GET /wiki/api/v2/pages/{id}`: one page, with its body if asked (facts 6.5)."""
    page_id = call.number_param("id")
    body_format = call.choice("body-format", SINGLE_FORMATS)
    flags = {name: call.flag(name) for name in PAGE_FLAGS}
    with_version = call.flag("include-version", default=True)
    page = call.content.page_by_id.get(page_id)
    if page is None or page.status not in _visible_statuses(call):
        raise not_found(f"Cannot find a page with id [{page_id}]")
    _check_version(call, page)
    body = page_json(page, body_format, with_version=with_version)
    _add_optional_fields(body, page, flags)
    body["_links"]["base"] = call.content.base_url
    return json_response(200, body)


def _visible_statuses(call: Call) -> set[str]:
    statuses = set(call.many("status"))
    for status in statuses:
        if status not in PAGE_STATUSES:
            raise bad_request(
                f"`status` must be among {', '.join(PAGE_STATUSES)}, not {status!r}."
            )
    visible = statuses or set(DEFAULT_STATUSES)
    if call.flag("get-draft"):
        visible.add("draft")
    return visible


def _check_version(call: Call, page: PageRecord) -> None:
    raw = call.one("version")
    if raw is None:
        return
    if not raw.isascii() or not raw.isdigit():
        raise bad_request(f"`version` must be a number, not {raw!r}.")
    if int(raw) != page.version_number:
        raise not_found(
            f"Cannot find version [{int(raw)}] of the page with id [{page.id}]; "
            "the sandbox keeps only the latest version."
        )


def _add_optional_fields(
    body: dict[str, Any], page: PageRecord, flags: dict[str, bool]
) -> None:
    if flags["include-labels"]:
        body["labels"] = _optional(
            [_label(f"{page.id}{n}", name) for n, name in enumerate(page.labels)]
        )
    if flags["include-versions"]:
        body["versions"] = _optional([_version(page)])
    if flags["include-properties"]:
        body["properties"] = _optional([])
    if flags["include-likes"]:
        body["likes"] = _optional([])
    if flags["include-operations"]:
        body["operations"] = _optional([{"operation": "read", "targetType": "page"}])
    if flags["include-favorited-by-current-user-status"]:
        body["isFavoritedByCurrentUser"] = False


def page_json(
    page: PageRecord, body_format: str | None = None, with_version: bool = True
) -> dict[str, Any]:
    """A page in the v2 shape (facts 6.4); a root page has no `parentId` key."""
    body: dict[str, Any] = {
        "id": page.id,
        "status": page.status,
        "title": page.title,
        "spaceId": page.space.id,
    }
    if page.parent_id is not None:
        body["parentId"] = page.parent_id
        body["parentType"] = "page"
    body.update(
        {
            "position": page.position,
            "authorId": page.author_id,
            "ownerId": page.author_id,
            "lastOwnerId": None,
            "createdAt": page.created_at,
        }
    )
    if with_version:
        body["version"] = _version(page)
    body["body"] = _body(page, body_format)
    body["_links"] = {
        "editui": f"/pages/resumedraft.action?draftId={page.id}",
        "webui": page.webui,
        "tinyui": page.tinyui,
    }
    return body


def _version(page: PageRecord) -> dict[str, Any]:
    return {
        "createdAt": page.version_at,
        "message": page.version_message,
        "number": page.version_number,
        "minorEdit": False,
        "authorId": page.author_id,
    }


def _body(page: PageRecord, body_format: str | None) -> dict[str, Any]:
    if body_format is None:
        return {}
    if body_format in ("storage", "editor"):
        value = page.storage
    elif body_format == "atlas_doc_format":
        value = page.atlas_doc_format
    else:
        value = page.view
    return {body_format: {"representation": body_format, "value": value}}


# Shared pieces


def _listing(
    call: Call,
    path: str,
    items: Sequence[Any],
    render: Callable[[Any], dict[str, Any]],
) -> Response:
    """A paged list: `results`, `_links` and the `Link` header (facts 6.4)."""
    limit = parse_limit(call.one("limit"), DEFAULT_LIMIT, MAX_LIMIT, clamp=False)
    kept = [(k, v) for k, v in call.request.query if k not in ("cursor", "limit")]
    query_print = fingerprint([("path", path), *kept])
    cursor = call.one("cursor")
    start = decode_cursor(cursor, query_print) if cursor is not None else 0
    page = window(items, start, limit)
    links: dict[str, str] = {}
    headers: list[tuple[str, str]] = []
    base = call.content.base_url
    if page.next_start is not None:
        cursor_next = encode_cursor(page.next_start, query_print)
        pairs = [*kept, ("limit", str(limit)), ("cursor", cursor_next)]
        links["next"] = relative_link(path, pairs)
        headers.append(("link", f'<{links["next"]}>; rel="next", <{base}>; rel="base"'))
    links["base"] = base
    results = [render(item) for item in page.items]
    return json_response(200, {"results": results, "_links": links}, headers)


def _orders(sorts: dict[str, Any]) -> tuple[str, ...]:
    return (*sorts, *(f"-{name}" for name in sorts))


def _sorted(
    items: Sequence[Any], order: str | None, sorts: dict[str, Any]
) -> list[Any]:
    order = order or "id"
    key = sorts[order.lstrip("-")]
    return sorted(items, key=key, reverse=order.startswith("-"))


def _optional(results: list[Any]) -> dict[str, Any]:
    """An optional field's envelope: results, `meta.hasMore`, `_links`."""
    return {"results": results, "meta": {"hasMore": False}, "_links": {}}


def _label(label_id: str, name: str) -> dict[str, str]:
    return {"id": label_id, "name": name, "prefix": "global"}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

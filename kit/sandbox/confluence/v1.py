"""The v1 REST API: CQL search, the current user, and the legacy space and content.

Search pages with a cursor only (facts 6.3): `start` is ignored, `_links.next` is
relative to `/wiki` and stops appearing at the end. The deprecated `space` and
`content` endpoints (facts 6.2) page by offset; `api.py` answers them with 410 Gone
unless the `legacy_v1_endpoints` setting brings them back (facts 6.1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from kit.sandbox.confluence import cql
from kit.sandbox.confluence.call import Call
from kit.sandbox.confluence.errors import bad_request, not_found
from kit.sandbox.confluence.model import PageRecord, Person, SpaceRecord
from kit.sandbox.confluence.paging import (
    decode_cursor,
    encode_cursor,
    fingerprint,
    parse_limit,
    relative_link,
    window,
)
from kit.sandbox.http import Response, json_response

REST = "/rest/api"
CONTEXT = "/wiki"
SEARCH_LIMIT = 100
LEGACY_LIMIT = 250
EXCERPTS = ("highlight", "indexed", "none", "highlight_unescaped", "indexed_unescaped")
CONTENT_TYPES = ("page", "blogpost")
CONTENT_STATUSES = ("current", "trashed", "draft", "archived", "any")
_NOT_CARRIED = ("cursor", "limit", "start", "next", "prev", "excerpt")
_EXCERPT_LENGTH = 200


# Search


def search(call: Call) -> Response:
    """`GET /wiki/rest/api/search?cql=...` with cursor paging (facts 6.3)."""
    text = call.one("cql")
    if text is None or not text.strip():
        raise bad_request("The parameter `cql` is required, e.g. `cql=type = page`.")
    try:
        query = cql.parse(text)
        found, archived = _search_hits(call, query)
    except cql.CqlError as exc:
        raise bad_request(f"Could not parse cql : {text}. {exc}") from exc
    limit = parse_limit(call.one("limit"), 25, SEARCH_LIMIT, clamp=True)
    excerpt = call.choice("excerpt", EXCERPTS) or "highlight"
    for name in ("next", "prev"):
        call.flag(name)
    kept = [(k, v) for k, v in call.request.query if k not in _NOT_CARRIED]
    query_print = fingerprint([("path", "search"), *kept])
    cursor = call.one("cursor")
    start = decode_cursor(cursor, query_print) if cursor is not None else 0
    page = window(found, start, limit)
    links = _links(call, f"{REST}/search")
    if page.next_start is not None:
        pairs = [
            *kept,
            ("next", "true"),
            ("cursor", encode_cursor(page.next_start, query_print)),
            ("limit", str(limit)),
            ("start", str(page.next_start)),
        ]
        links["next"] = relative_link(f"{REST}/search", pairs)
    body = {
        "results": [_search_result(call, hit, excerpt) for hit in page.items],
        "start": start,
        "limit": limit,
        "size": len(page.items),
        "totalSize": len(found),
        "cqlQuery": text,
        "searchDuration": 12,
        "archivedResultCount": archived,
        "_links": links,
    }
    return json_response(200, body)


def _search_hits(
    call: Call, query: cql.Query
) -> tuple[list[PageRecord | SpaceRecord], int]:
    """The matches in order, and how many matches archived spaces held back."""
    include_archived = call.flag("includeArchivedSpaces")
    exclude_current = call.flag("excludeCurrentSpaces")
    candidates: list[PageRecord | SpaceRecord] = [
        page for page in call.content.pages if page.status == "current"
    ]
    if "type" in query.fields():
        candidates.extend(call.content.spaces)
    found: list[PageRecord | SpaceRecord] = []
    archived = 0
    for record in candidates:
        if not cql.matches(query.where, _entity(record), call.user.account_id):
            continue
        space = record if isinstance(record, SpaceRecord) else record.space
        if space.status == "archived" and not include_archived:
            archived += 1
        elif not (space.status == "current" and exclude_current):
            found.append(record)
    return _order(found, query.order), archived


def _entity(record: PageRecord | SpaceRecord) -> cql.Entity:
    if isinstance(record, SpaceRecord):
        return cql.Entity(
            type="space",
            id=record.id,
            space_key=record.key,
            title=record.name,
            text=record.description,
            labels=record.labels,
            creator=record.author_id,
            created=record.created_at,
            lastmodified=record.created_at,
        )
    return cql.Entity(
        type="page",
        id=record.id,
        space_key=record.space.key,
        title=record.title,
        text=record.text,
        labels=record.labels,
        creator=record.author_id,
        created=record.created_at,
        lastmodified=record.version_at,
        ancestors=record.ancestors,
        parent=record.parent_id,
    )


def _order(
    found: list[PageRecord | SpaceRecord], order: tuple[tuple[str, bool], ...]
) -> list[PageRecord | SpaceRecord]:
    """Sort by the ORDER BY fields, last first; without one, by id (stable)."""
    ranked = sorted(
        found, key=lambda record: (isinstance(record, SpaceRecord), int(record.id))
    )
    for name, descending in reversed(order):
        ranked.sort(key=lambda record: _sort_key(record, name), reverse=descending)
    return ranked


def _sort_key(record: PageRecord | SpaceRecord, name: str) -> Any:
    entity = _entity(record)
    keys = {
        "created": entity.created,
        "lastmodified": entity.lastmodified,
        "title": entity.title.casefold(),
        "id": int(entity.id),
    }
    return keys[name]


def _search_result(
    call: Call, record: PageRecord | SpaceRecord, excerpt: str
) -> dict[str, Any]:
    if isinstance(record, SpaceRecord):
        return {
            "space": space_json(call, record, ()),
            "title": record.name,
            "excerpt": "" if excerpt == "none" else record.description,
            "url": record.webui,
            "breadcrumbs": [],
            "entityType": "space",
            "iconCssClass": "aui-icon content-type-space",
            "lastModified": record.created_at,
            "friendlyLastModified": _friendly(record.created_at),
            "score": 1.0,
        }
    return {
        "content": content_json(call, record, ()),
        "title": record.title,
        "excerpt": "" if excerpt == "none" else _excerpt(record.text),
        "url": record.webui,
        "resultGlobalContainer": {
            "title": record.space.name,
            "displayUrl": record.space.webui,
        },
        "breadcrumbs": [],
        "entityType": "content",
        "iconCssClass": "aui-icon content-type-page",
        "lastModified": record.version_at,
        "friendlyLastModified": _friendly(record.version_at),
        "score": 1.0,
    }


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    if len(flat) <= _EXCERPT_LENGTH:
        return flat
    return flat[:_EXCERPT_LENGTH].rsplit(" ", 1)[0] + "\u2026"


def _friendly(moment: str) -> str:
    when = dt.datetime.strptime(moment[:10], "%Y-%m-%d")
    return f"{when:%b} {when.day}, {when.year}"


# The current user


def current_user(call: Call) -> Response:
    """`GET /wiki/rest/api/user/current`: the consenting user (v1 user shape)."""
    user = call.user
    person = Person(user.account_id, user.name)
    body = user_json(call, person)
    body["email"] = user.email
    body["timeZone"] = user.zoneinfo
    body["_links"].update({"base": call.content.base_url, "context": CONTEXT})
    return json_response(200, body)


def user_json(call: Call, person: Person) -> dict[str, Any]:
    """A v1 user: account id, names, picture, links."""
    return {
        "type": "known",
        "accountId": person.account_id,
        "accountType": "atlassian",
        "publicName": person.name,
        "displayName": person.name,
        "profilePicture": {
            "path": f"/wiki/aa-avatar/{person.account_id}",
            "width": 48,
            "height": 48,
            "isDefault": False,
        },
        "isExternalCollaborator": False,
        "externalCollaborator": False,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {
            "self": f"{call.content.base_url}{REST}/user?accountId={person.account_id}"
        },
    }


# Legacy spaces (deprecated; 410 unless `legacy_v1_endpoints`)


def get_spaces(call: Call) -> Response:
    """`GET /wiki/rest/api/space`: spaces by key, paged by `start` (facts 6.2)."""
    keys = {key.casefold() for key in call.many("spaceKey")}
    kind = call.choice("type", ("global", "personal"))
    status = call.choice("status", ("current", "archived"))
    labels = set(call.many("label"))
    expand = _expand(call)
    spaces = [
        space
        for space in sorted(call.content.spaces, key=lambda s: s.key.casefold())
        if (not keys or space.key.casefold() in keys)
        and (kind is None or space.type == kind)
        and (status is None or space.status == status)
        and (not labels or labels & set(space.labels))
    ]
    return _offset_listing(
        call, f"{REST}/space", spaces, lambda s: space_json(call, s, expand)
    )


def get_space(call: Call) -> Response:
    """`GET /wiki/rest/api/space/{spaceKey}`: one space, or the v1 404."""
    key = call.params["spaceKey"]
    space = call.content.space_by_key_or_none(key)
    if space is None:
        raise not_found(f"No space with key : {key}")
    body = space_json(call, space, _expand(call))
    body["_links"].update({"base": call.content.base_url, "context": CONTEXT})
    return json_response(200, body)


def space_json(call: Call, space: SpaceRecord, expand: Sequence[str]) -> dict[str, Any]:
    """A v1 space: integer id, key, name, type, status, `_expandable`, `_links`."""
    expandable = {
        "settings": f"{REST}/space/{space.key}/settings",
        "metadata": "",
        "operations": "",
        "lookAndFeel": f"{REST}/settings/lookandfeel?spaceKey={space.key}",
        "identifiers": "",
        "permissions": "",
        "icon": "",
        "description": "",
        "theme": f"{REST}/space/{space.key}/theme",
        "history": "",
        "homepage": f"{REST}/content/{space.homepage_id}",
    }
    body: dict[str, Any] = {
        "id": int(space.id),
        "key": space.key,
        "name": space.name,
        "type": space.type,
        "status": space.status,
    }
    kinds = [e.split(".", 1)[1] for e in expand if e.startswith("description.")]
    if kinds:
        body["description"] = {
            kind: _space_description(space, kind)
            for kind in kinds
            if kind in ("plain", "view")
        }
        expandable.pop("description")
    if "homepage" in expand:
        homepage = call.content.page_by_id.get(space.homepage_id)
        if homepage is not None:
            body["homepage"] = content_json(call, homepage, ())
            expandable.pop("homepage")
    body["_expandable"] = expandable
    body["_links"] = {
        "webui": space.webui,
        "self": f"{call.content.base_url}{REST}/space/{space.key}",
    }
    return body


def _space_description(space: SpaceRecord, kind: str) -> dict[str, Any]:
    value = space.description if kind == "plain" else f"<p>{space.description}</p>"
    return {"value": value, "representation": kind, "embeddedContent": []}


# Legacy content (deprecated; 410 unless `legacy_v1_endpoints`)


def get_content(call: Call) -> Response:
    """`GET /wiki/rest/api/content`: pages by space, title and status (facts 6.2)."""
    kind = call.choice("type", CONTENT_TYPES) or "page"
    space_key = call.one("spaceKey")
    title = call.one("title")
    status = call.choice("status", CONTENT_STATUSES) or "current"
    expand = _expand(call)
    pages = [
        page
        for page in call.content.pages
        if kind == "page"
        and (space_key is None or page.space.key.casefold() == space_key.casefold())
        and (title is None or page.title.casefold() == title.casefold())
        and status in ("any", page.status)
    ]
    return _offset_listing(
        call, f"{REST}/content", pages, lambda p: content_json(call, p, expand)
    )


def get_content_by_id(call: Call) -> Response:
    """`GET /wiki/rest/api/content/{id}`: one page, or the v1 404."""
    page_id = call.params["id"]
    statuses = set(call.many("status")) or {"current", "archived"}
    page = call.content.page_by_id.get(page_id)
    if page is None or not ("any" in statuses or page.status in statuses):
        raise not_found(f"No content found with id: ContentId{{id={page_id}}}")
    body = content_json(call, page, _expand(call))
    body["_links"].update({"base": call.content.base_url, "context": CONTEXT})
    return json_response(200, body)


def content_json(call: Call, page: PageRecord, expand: Sequence[str]) -> dict[str, Any]:
    """A v1 content object, with the expansions asked for (facts 6.2)."""
    body: dict[str, Any] = {
        "id": page.id,
        "type": "page",
        "status": page.status,
        "title": page.title,
    }
    expandable: dict[str, str] = {
        "container": f"{REST}/space/{page.space.key}",
        "metadata": "",
        "operations": "",
        "children": f"{REST}/content/{page.id}/child",
        "history": f"{REST}/content/{page.id}/history",
        "ancestors": "",
        "body": "",
        "version": "",
        "descendants": f"{REST}/content/{page.id}/descendant",
        "space": f"{REST}/space/{page.space.key}",
    }
    for name, value in _expansions(call, page, expand).items():
        body[name] = value
        expandable.pop(name, None)
    body["_expandable"] = expandable
    body["_links"] = {
        "webui": page.webui,
        "edit": f"/pages/resumedraft.action?draftId={page.id}",
        "tinyui": page.tinyui,
        "self": f"{call.content.base_url}{REST}/content/{page.id}",
    }
    return body


def _expansions(call: Call, page: PageRecord, expand: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    formats = [e.split(".", 1)[1] for e in expand if e.startswith("body.")]
    if formats:
        found["body"] = {
            kind: _content_body(page, kind)
            for kind in formats
            if kind in ("storage", "view", "atlas_doc_format")
        }
    if "version" in expand:
        found["version"] = _content_version(call, page)
    if "space" in expand:
        found["space"] = space_json(call, page.space, ())
    if "history" in expand:
        found["history"] = {
            "latest": True,
            "createdBy": user_json(call, _person(call, page.author_id)),
            "createdDate": page.created_at,
        }
    if "ancestors" in expand:
        found["ancestors"] = [
            content_json(call, call.content.page_by_id[ancestor], ())
            for ancestor in page.ancestors
        ]
    return found


def _content_body(page: PageRecord, kind: str) -> dict[str, Any]:
    values = {
        "storage": page.storage,
        "view": page.view,
        "atlas_doc_format": page.atlas_doc_format,
    }
    return {
        "value": values[kind],
        "representation": kind,
        "embeddedContent": [],
        "_expandable": {"content": f"{REST}/content/{page.id}"},
    }


def _content_version(call: Call, page: PageRecord) -> dict[str, Any]:
    return {
        "by": user_json(call, _person(call, page.author_id)),
        "when": page.version_at,
        "friendlyWhen": _friendly(page.version_at),
        "message": page.version_message,
        "number": page.version_number,
        "minorEdit": False,
        "contentTypeModified": False,
    }


def _person(call: Call, account_id: str) -> Person:
    for person in call.content.people.values():
        if person.account_id == account_id:
            return person
    return Person(account_id, "Unknown user")


# Shared pieces


def _expand(call: Call) -> list[str]:
    return call.many("expand")


def _links(call: Call, path: str) -> dict[str, str]:
    base = call.content.base_url
    query = [(k, v) for k, v in call.request.query]
    return {
        "base": base,
        "context": CONTEXT,
        "self": base + relative_link(path, query),
    }


def _offset_listing(
    call: Call, path: str, items: Sequence[Any], render: Any
) -> Response:
    """A legacy list: `start`/`limit` offsets and a relative `next` (facts 6.2)."""
    limit = parse_limit(call.one("limit"), 25, LEGACY_LIMIT, clamp=True)
    start = _start(call.one("start"))
    page = window(items, start, limit)
    links = _links(call, path)
    if page.next_start is not None:
        kept = [
            (k, v) for k, v in call.request.query if k not in ("start", "limit", "next")
        ]
        pairs = [*kept, ("next", "true"), ("limit", str(limit))]
        pairs.append(("start", str(page.next_start)))
        links["next"] = relative_link(path, pairs)
    body = {
        "results": [render(item) for item in page.items],
        "start": start,
        "limit": limit,
        "size": len(page.items),
        "_links": links,
    }
    return json_response(200, body)


def _start(raw: str | None) -> int:
    if raw is None:
        return 0
    if not raw.isascii() or not raw.isdigit() or len(raw) > 9:
        raise bad_request(f"`start` must be a whole number from 0, not {raw!r}.")
    return int(raw)

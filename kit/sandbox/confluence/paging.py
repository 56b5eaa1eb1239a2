"""Cursors, limits and `next` links for the emulated Confluence's lists.

A cursor is opaque to clients, as Atlassian's are (facts 6.3, 6.4): URL-safe base64
of a small JSON object holding the offset of the next item and a fingerprint of the
query it belongs to. A cursor that does not decode, or that belongs to another
query, is refused with a 400; it never reaches the handlers as garbage.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import urlencode

from kit.sandbox.confluence.errors import bad_request

T = TypeVar("T")

_CURSOR_VERSION = 1


@dataclass(frozen=True)
class Window(Generic[T]):
    """One page of a list: its items, where it started, and where the next starts."""

    items: tuple[T, ...]
    start: int
    next_start: int | None


def fingerprint(pairs: Sequence[tuple[str, str]]) -> str:
    """A short digest of a query's parameters, so cursors stay with their query."""
    canonical = json.dumps(sorted(pairs), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(offset: int, query_print: str) -> str:
    """An opaque cursor for the item at `offset` of the query `query_print`."""
    payload = {"v": _CURSOR_VERSION, "o": offset, "q": query_print}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query_print: str) -> int:
    """The offset a cursor points at; a 400 if it is not one of ours for this query."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError) as exc:
        raise bad_request("The cursor is not valid.") from exc
    if not _well_formed(payload) or payload["q"] != query_print:
        raise bad_request("The cursor is not valid for this query.")
    return int(payload["o"])


def _well_formed(payload: object) -> bool:
    if not isinstance(payload, dict) or payload.get("v") != _CURSOR_VERSION:
        return False
    offset, query_print = payload.get("o"), payload.get("q")
    valid_offset = type(offset) is int and 0 <= offset <= 10**9
    return valid_offset and isinstance(query_print, str)


def parse_limit(raw: str | None, default: int, maximum: int, *, clamp: bool) -> int:
    """A `limit` parameter: an integer from 1; above `maximum` clamped or refused."""
    if raw is None:
        return default
    try:
        limit = int(raw.strip(), 10)
    except ValueError as exc:
        raise bad_request(f"`limit` must be a whole number, not {raw!r}.") from exc
    if limit < 1:
        raise bad_request("`limit` must be at least 1.")
    if limit > maximum:
        if clamp:
            return maximum
        raise bad_request(f"`limit` must be at most {maximum}.")
    return limit


def window(items: Sequence[T], start: int, limit: int) -> Window[T]:
    """The slice of `items` from `start`, and the start of the next, if any."""
    chosen = tuple(items[start : start + limit])
    following = start + limit
    return Window(chosen, start, following if following < len(items) else None)


def relative_link(path: str, pairs: Sequence[tuple[str, str]]) -> str:
    """A site-relative link such as `/wiki/api/v2/pages?limit=10&cursor=...`."""
    return f"{path}?{urlencode(list(pairs))}" if pairs else path

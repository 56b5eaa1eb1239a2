"""The sandbox's own small HTTP vocabulary: a parsed request and a response.

Every handler of the sandbox is a plain function from `Request` to `Response`, so that
the OAuth and Confluence logic can be read, and tested, without a server. `asgi.py`
turns these into ASGI messages.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

JSON_TYPE = "application/json"
HTML_TYPE = "text/html; charset=utf-8"


class BadRequestError(Exception):
    """The request cannot be read at all (bad percent-encoding, non-UTF-8 bytes)."""


@dataclass
class Request:
    """One HTTP request as the sandbox sees it.

    `query` keeps every pair in order, so that repeated parameters can be detected
    (RFC 6749 section 3.1: no parameter may appear more than once). `path` is
    percent-decoded; `raw_path` is the path as sent, when the server knows it.
    """

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    client_host: str = "127.0.0.1"
    scheme: str = "http"
    host: str = "127.0.0.1"
    raw_path: str = ""

    def header(self, name: str) -> str | None:
        """The value of a header, by case-insensitive name."""
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        """The media type of the body, lower-cased, without parameters."""
        raw = self.header("content-type") or ""
        return raw.split(";", 1)[0].strip().lower()

    @property
    def path_as_sent(self) -> str:
        """The percent-encoded path, as the client sent it (or `path` if unknown)."""
        return self.raw_path or self.path

    @property
    def origin(self) -> str:
        """The origin this request was addressed to, e.g. `http://127.0.0.1:8000`."""
        return f"{self.scheme}://{self.host}"

    def query_values(self, name: str) -> list[str]:
        """Every value given for `name` in the query string."""
        return [value for key, value in self.query if key == name]

    def query_value(self, name: str) -> str | None:
        """The first value given for `name`, or None."""
        values = self.query_values(name)
        return values[0] if values else None


@dataclass
class Response:
    """One HTTP response: status, headers in order, and the body bytes."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    def json(self) -> Any:
        """The body parsed as JSON (for tests and for reading back)."""
        return json.loads(self.body)


def parse_form(body: bytes) -> list[tuple[str, str]]:
    """Decode an `application/x-www-form-urlencoded` body into ordered pairs.

    Raises `BadRequestError` on bytes that are not UTF-8 or not valid
    percent-encoding, and on a NUL character (`%00`), which no OAuth parameter
    may hold, so that a handler can answer 400 instead of failing.
    """
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError as exc:
        raise BadRequestError("the form body must be ASCII percent-encoding") from exc
    pairs = parse_query(text)
    if any("\x00" in name or "\x00" in value for name, value in pairs):
        raise BadRequestError("a form field holds a NUL character (%00)")
    return pairs


def parse_query(text: str) -> list[tuple[str, str]]:
    """Decode a query string into ordered pairs, strictly."""
    _check_percent_escapes(text)
    try:
        return parse_qsl(
            text, keep_blank_values=True, encoding="utf-8", errors="strict"
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequestError("the query is not valid UTF-8 percent-encoding") from exc


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _check_percent_escapes(text: str) -> None:
    bad = _BAD_ESCAPE.search(text)
    if bad is not None:
        raise BadRequestError(f"bad percent-escape at position {bad.start()}")


def dump_json(payload: Any) -> bytes:
    """Serialise compactly, as Atlassian's servers do."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()


def json_response(
    status: int, payload: Any, headers: list[tuple[str, str]] | None = None
) -> Response:
    """A JSON response with the given extra headers."""
    all_headers = [("content-type", JSON_TYPE), *(headers or [])]
    return Response(status, all_headers, dump_json(payload))


def html_response(
    status: int, html: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    """An HTML response with the given extra headers."""
    all_headers = [("content-type", HTML_TYPE), *(headers or [])]
    return Response(status, all_headers, html.encode("utf-8"))

"""Reading the address a browser landed on, or the text of a page pasted in."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from urllib.parse import SplitResult, parse_qsl, urlsplit

from kit.doctor.diagnosis import Diagnosis, short
from kit.doctor.rules import Answer, first_match
from kit.redact import SECRET_FIELDS
from kit.tokens import mask

# The authorization errors a pasted page may name (RFC 6749 section 4.1.2.1).
_KNOWN_ERROR = re.compile(
    r"\b(unauthorized_client|access_denied|invalid_scope|unsupported_response_type"
    r"|invalid_request|server_error|temporarily_unavailable)\b"
)


def url_answer(text: str) -> Answer:
    parts = _address(text.strip())
    params = _params(parts.query + "&" + parts.fragment) if parts else {}
    lines = [] if parts else page_lines(text)
    said = params.get("error_description", "") if parts else " ".join(lines)
    error = params.get("error", "") if parts else _error_in(said)
    described = said if parts else _description(lines, error)
    values = {
        "error": short(error, 60) or "(none)",
        "said": short(described, 100) or "(no description)",
        "uri": short(_after(said, "client:") or "The redirect_uri", 120),
        "listed": _listed_scopes(said),
        "site": _quoted_site(said),
    }
    seen = _url_seen(parts, params) if parts else f'page text: "{short(said)}"'
    marks = frozenset(_url_marks(parts, params, error))
    return Answer("url", "authorize", 0, marks, said, seen, values)


def _address(text: str) -> SplitResult | None:
    """`text` split as a URL, or None if it reads as a page's text."""
    if re.search(r"\s", text) or not re.search(r"://|[?#]", text):
        return None
    if not re.match(r"^(\w[\w+.-]*://|[?#/])", text):
        text = "https://" + text  # an address pasted without its scheme
    return urlsplit(text)


def _params(query: str) -> dict[str, str]:
    """The first value of each name in `query`, read leniently, for display."""
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, value)
    return params


def _url_marks(
    parts: SplitResult | None, params: Mapping[str, str], error: str
) -> set[str]:
    marks = {error, "error"} if error else set()
    if "code" in params and not error:
        marks.add("code")
    if parts is not None:
        host = (parts.hostname or "").lower()
        if host.endswith("auth.atlassian.com") and parts.path.startswith("/consent"):
            marks.add("consent-page")
        if "client_id" in params and "response_type" in params:
            marks.add("authorization-url")
    return marks


def page_lines(text: str) -> list[str]:
    """A pasted page's lines of text: no styles, scripts or tags, entities read."""
    text = re.sub(r"<(style|script)\b.*?</\1\s*>", "\n", text, flags=re.S | re.I)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def _description(lines: list[str], error: str) -> str:
    """What a pasted page says after its error code, else its first line."""
    for index, line in enumerate(lines):
        if error and error in line:
            rest = line.partition(error)[2].strip(" :")
            return rest or (lines[index + 1] if index + 1 < len(lines) else "")
    return lines[0] if lines else ""


def _error_in(text: str) -> str:
    found = _KNOWN_ERROR.search(text)
    return found.group(1) if found else ""


def _after(text: str, marker: str) -> str:
    """The word after `marker` in `text`, or ""."""
    return (text.partition(marker)[2].split() or [""])[0]


def _listed_scopes(said: str) -> str:
    """The scopes an unconfigured-scope message lists, in backticks (facts 1.4)."""
    found = re.search(r"following scopes to the [^:]*:\s*(.+)", said)
    names = re.findall(r"[\w.-]+(?::[\w.-]+)+", found.group(1)) if found else []
    shown = [f"`{short(name.rstrip('.'), 60)}`" for name in names[:12]]
    return ", ".join(shown) or "the scopes the page lists"


def _quoted_site(said: str) -> str:
    found = re.search(r"for the site '([^']+)'", said)
    return f"`{short(found.group(1), 80)}`" if found else "the site"


def _url_seen(parts: SplitResult, params: Mapping[str, str]) -> str:
    shown = "&".join(
        f"{name}={mask(value) if name in SECRET_FIELDS else value}"
        for name, value in params.items()
    )
    return short(f"{parts.netloc}{parts.path}?{shown}")


def diagnose_url(url: str) -> Diagnosis:
    """What the address the browser landed on, or a page's pasted text, means.

    `code`, `state` and any other secret in it are shown masked only.
    """
    return first_match(url_answer(url))

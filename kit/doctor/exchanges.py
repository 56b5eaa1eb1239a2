"""Reading a recorded exchange: its step, status, body and headers, as the rules
see them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from kit import errors, scopes
from kit.doctor.diagnosis import Diagnosis, short, text_of
from kit.doctor.pasted import page_lines
from kit.doctor.rules import GROUPS, Answer, first_match, step_named
from kit.record import Exchange

_SOURCES = GROUPS["ANSWER"].split()
_WHERE = {"resources": "`accessible-resources`", "me": "`/me`", "api": "The API"}


def exchange_answer(exchange: Exchange, extra: Mapping[str, str]) -> Answer:
    source = _source(exchange)
    error, said, marks = _envelope(exchange.response_body or "")
    error = error or _challenge(exchange, marks)
    status = exchange.status or 0
    on_api = source in GROUPS["API"].split()
    if status == 401 and on_api and _on_site_domain(exchange, marks):
        marks.add("site-domain")
    path = re.sub(r"^/ex/confluence/[^/]*", "", urlsplit(exchange.url).path) or "/"
    values = {
        "status": str(status or "no answer"),
        "error": error or "(no error code)",
        "said": said or "(nothing)",
        "where": _WHERE.get(source, "The token endpoint"),
        "path": f"`{short(path, 80)}`",
        "operation": f"`{exchange.method} {short(path, 80)}`",
        "failure": short(exchange.failure or "reason unknown", 80),
        "retry": retry_text(exchange.header("retry-after")),
        "scopes": _scopes_for(exchange),
        "v2": _by_path(_V2_BY_PATH, path) or _V2_DEFAULT,
        **extra,
    }
    seen = _seen(status, error, said, marks, values["failure"])
    marks |= {error} if error else set()
    step = step_named(source) or "api"  # `me` is an API call
    return Answer(source, step, status, frozenset(marks), said, seen, values)


def _source(exchange: Exchange) -> str:
    """The exchange's step, or one read from its URL if the step is unknown."""
    if exchange.step in _SOURCES:
        return exchange.step
    path = urlsplit(exchange.url).path
    if path.endswith("/accessible-resources"):
        return "resources"
    if path.endswith("/oauth/token"):
        refresh = "refresh_token" in (exchange.request_body or "")
        return "refresh" if refresh else "exchange"
    return "me" if path.endswith("/me") else "api"


def _envelope(text: str) -> tuple[str, str, set[str]]:
    """The error code, the words and the marks of an answer's body (facts 6.6)."""
    body = _json(text)
    if isinstance(body, dict):
        return _dict_envelope(body)
    if body == []:
        return "", "", {"empty-list"}
    if text.lstrip().startswith("<"):
        title = re.search(r"<title>(.*?)</title>", text, re.S | re.I)
        said = title.group(1) if title else " ".join(page_lines(text))
        return "", short(said), {"html"}
    return "", short(text), {"text"} if text else set()


def _dict_envelope(body: dict[str, Any]) -> tuple[str, str, set[str]]:
    if "timestamp" in body and "path" in body:  # Spring's 404; "error" is no code
        return "", text_of(body.get("message") or body.get("error")), {"spring"}
    if isinstance(body.get("error"), str):
        return text_of(body["error"]), text_of(body.get("error_description")), {"oauth"}
    listed = body.get("errors")
    if isinstance(listed, list) and listed and isinstance(listed[0], dict):
        code, title = text_of(listed[0].get("code")), text_of(listed[0].get("title"))
        return code, title, {"v2"}
    said = text_of(body.get("message"))
    marks = {"v1"} if "statusCode" in body else {"gateway"}
    if "scope does not match" in said.lower():
        marks.add("scope-check")
    return "", said, marks


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def _challenge(exchange: Exchange, marks: set[str]) -> str:
    """The `error` of a `WWW-Authenticate: Bearer` challenge; marks the answer."""
    if "SCOPE" in (exchange.header("x-failure-category") or "").upper():
        marks.add("scope-check")
    challenge = exchange.header("www-authenticate") or ""
    if not challenge.lower().startswith("bearer"):
        return ""
    error = re.search(r'error="([^"]*)"', challenge)
    marks.add("challenge" if error else "bare-challenge")
    return short(error.group(1), 40) if error else ""


def _on_site_domain(exchange: Exchange, marks: set[str]) -> bool:
    """Whether the call went to `<site>.atlassian.net` rather than the gateway."""
    parts = urlsplit(exchange.url)
    if "/ex/" in parts.path:
        return False
    on_site = (parts.hostname or "").lower().endswith(".atlassian.net")
    return on_site or parts.path.startswith("/wiki") or "html" in marks


# What replaced a removed v1 endpoint (facts 6.1).
_V2_BY_PATH = (
    (r"/rest/api/space/[^/]+", "`GET /wiki/api/v2/spaces?keys=<key>`"),
    (r"/rest/api/space", "`GET /wiki/api/v2/spaces`"),
    (r"/rest/api/content/[^/]+", "`GET /wiki/api/v2/pages/{id}`"),
    (r"/rest/api/content", "`/wiki/api/v2/pages` (GET lists, POST creates)"),
)
SCOPES_DEFAULT = "the scopes `kit.scopes.explain_operation` lists for it"
_V2_DEFAULT = "its v2 equivalent (`/wiki/api/v2/spaces`, `/wiki/api/v2/pages`)"


def _scopes_for(exchange: Exchange) -> str:
    """The scopes a call needs: from its challenge, or from Atlassian's specs."""
    named = re.search(r'scope="([^"]+)"', exchange.header("www-authenticate") or "")
    if named:
        return " and ".join(f"`{s}`" for s in short(named.group(1), 120).split())
    path = re.sub(r"^/ex/confluence/[^/]*", "", urlsplit(exchange.url).path)
    api = "v2" if path.startswith("/wiki/api/v2") else "v1"
    api = "identity" if path.rstrip("/") == "/me" else api
    try:
        sets = scopes.find_operation((api, exchange.method, path)).scope_sets
    except errors.CatalogueError:
        sets = ()
    if not sets:
        return SCOPES_DEFAULT
    named_sets = " or ".join(scope_set(group) for group in sets[:6])
    return named_sets + (" (the User Identity API)" if api == "identity" else "")


def scope_set(scopes: Any) -> str:
    names = [scopes] if isinstance(scopes, str) else list(scopes)
    return " + ".join(f"`{short(str(name), 60)}`" for name in names[:12])


def _by_path(table: tuple[tuple[str, str], ...], path: str) -> str | None:
    return next((text for pattern, text in table if re.search(pattern, path)), None)


def retry_text(retry_after: str | None) -> str:
    if retry_after:
        return f"Wait as asked (`Retry-After: {short(retry_after, 40)}`), then retry."
    return "No `Retry-After` came: wait a few seconds, doubling it each time."


def _seen(status: int, error: str, said: str, marks: set[str], failure: str) -> str:
    if status == 0:
        return f"no answer ({failure})"
    kind = "HTML page" if "html" in marks else error
    quoted = f'"{said}"' if said else ""
    return " ".join(part for part in (str(status), kind, quoted) if part)


def diagnose_exchange(exchange: Exchange) -> Diagnosis:
    """What an HTTP answer means, read from its step, status, body and headers."""
    return first_match(exchange_answer(exchange, {}))

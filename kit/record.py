"""A record of each HTTP exchange the kit makes, with every secret masked.

Every request the kit sends (the code exchange, a refresh, an API call) leaves an
`Exchange` in `HISTORY`: the request and the answer as they went over the wire,
secrets masked, viewable `raw()` and exportable as `to_curl()` or `to_python()`,
with each masked value turned into a variable for you to fill in.
"""

from __future__ import annotations

import html
import json
import re
import shlex
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

import requests

from kit.redact import SECRET_FIELDS, remember, scrub
from kit.tokens import MASK, mask

MAX_BODY_CHARS = 20_000  # of each body kept in a record; the rest is cut
HISTORY_SIZE = 100
# Headers a copy-and-paste export leaves to curl or requests to write.
_TRANSPORT_HEADERS = frozenset(
    {"user-agent", "accept-encoding", "connection", "content-length", "host"}
)
_SECRET_HEADERS = frozenset(
    {"authorization", "cookie", "set-cookie", "proxy-authorization"}
)

Headers = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (or the failure that stopped it), masked.

    `step` says which step of the flow sent it: `exchange`, `refresh`,
    `resources`, `me` or `api`. `status` is None when no answer came; then
    `failure` says why. Bodies are text, cut at 20,000 characters.
    """

    step: str
    method: str
    url: str
    request_headers: Headers = ()
    request_body: str | None = None
    status: int | None = None
    reason: str = ""
    response_headers: Headers = ()
    response_body: str | None = None
    elapsed: float | None = None
    started_at: float = field(default_factory=time.time)
    failure: str | None = None

    @property
    def ok(self) -> bool:
        """Whether an answer came with a 2xx status."""
        return self.status is not None and 200 <= self.status < 300

    def header(self, name: str) -> str | None:
        """The answer's header `name` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.response_headers if k.lower() == wanted), None)

    def json(self) -> Any | None:
        """The answer's body read as JSON (masked), or None if it is not JSON."""
        if self.response_body is None:
            return None
        try:
            return json.loads(self.response_body)
        except ValueError:
            return None

    def summary(self) -> str:
        """One line: method, path, status and time."""
        path = urlsplit(self.url).path or "/"
        if self.status is None:
            return f"{self.method} {path} -> no answer ({self.failure})"
        took = "" if self.elapsed is None else f" in {self.elapsed * 1000:.0f} ms"
        return f"{self.method} {path} -> {self.status} {self.reason}{took}".rstrip()

    def raw(self) -> str:
        """The exchange as HTTP/1.1 text: the request, then the answer."""
        parts = urlsplit(self.url)
        target = urlunsplit(("", "", parts.path or "/", parts.query, ""))
        lines = [f"{self.method} {target} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in self.request_headers if k.lower() != "host"]
        text = "\n".join(lines) + "\n"
        if self.request_body:
            text += "\n" + self.request_body + "\n"
        if self.status is None:
            return text + f"\n(no answer: {self.failure})\n"
        answer = [f"HTTP/1.1 {self.status} {self.reason}".rstrip()]
        answer += [f"{k}: {v}" for k, v in self.response_headers]
        text += "\n" + "\n".join(answer) + "\n"
        if self.response_body:
            text += "\n" + _pretty(self.response_body) + "\n"
        return text

    def to_curl(self) -> str:
        """A curl command that sends this request again; masked values are `$VARS`."""
        method = f" -X {self.method}" if self.method != "GET" else ""
        words = [f"curl -sS{method} {_quoted(self.url)}"]
        for name, value in self._exported_headers():
            words += ["-H", _quoted(f"{name}: {value}")]
        form = self._form()
        if form is not None:
            for name, value in form:
                words += ["--data-urlencode", _quoted(f"{name}={value}")]
        elif self.request_body:
            words += ["--data-binary", _quoted(self.request_body)]
        command = " \\\n  ".join(_join_pairs(words))
        return _variables_note(self._variables(), "#") + command

    def to_python(self) -> str:
        """The request as a `requests` call; masked values come from `os.environ`."""
        headers = dict(self._exported_headers())
        lines = ["import os", "", "import requests", "", "response = requests.request("]
        lines += [f"    {self.method!r},", f"    {_python_value(self.url)},"]
        if headers:
            lines.append("    headers={")
            lines += [f"        {k!r}: {_python_value(v)}," for k, v in headers.items()]
            lines.append("    },")
        form = self._form()
        if form is not None:
            lines.append("    data={")
            lines += [f"        {k!r}: {_python_value(v)}," for k, v in form]
            lines.append("    },")
        elif self.request_body:
            lines.append(f"    data={_python_value(self.request_body)},")
        lines += ["    allow_redirects=False,", "    timeout=30,", ")"]
        lines.append("print(response.status_code, response.text[:500])")
        code = "\n".join(lines) + "\n"
        return _variables_note(self._variables(), "#") + code

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (already masked), for saving a failure for the doctor."""
        return asdict(self)

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> Exchange:
        """The inverse of `to_dict`; raises `TypeError` or `KeyError` if malformed."""
        values = dict(record)
        for name in ("request_headers", "response_headers"):
            values[name] = tuple((str(k), str(v)) for k, v in values.get(name, ()))
        return cls(**values)

    def _exported_headers(self) -> Headers:
        return tuple(
            (k, _header_variable(k, v))
            for k, v in self.request_headers
            if k.lower() not in _TRANSPORT_HEADERS
        )

    def _form(self) -> list[tuple[str, str]] | None:
        content_type = next(
            (v for k, v in self.request_headers if k.lower() == "content-type"), ""
        )
        if "x-www-form-urlencoded" not in content_type or not self.request_body:
            return None
        return [
            (name, _placeholder(name.upper()) if _is_masked(value) else value)
            for name, value in parse_qsl(self.request_body, keep_blank_values=True)
        ]

    def _variables(self) -> list[str]:
        """The variables an export needs: one per masked value."""
        texts = [v for _, v in self._exported_headers()]
        texts += [v for _, v in self._form() or ()]
        return [name for text in texts for name in _PLACEHOLDER.findall(text)]

    def __repr__(self) -> str:
        return f"<Exchange {self.step}: {self.summary()}>"

    def _repr_html_(self) -> str:
        return (
            f"<details><summary><code>{html.escape(self.summary())}</code></summary>"
            f"<pre>{html.escape(self.raw())}</pre></details>"
        )


def from_response(response: requests.Response, step: str) -> Exchange:
    """The record of a finished exchange; the body must have been read already."""
    request = response.request
    return Exchange(
        step=step,
        method=request.method or "GET",
        url=_masked_url(request.url or ""),
        request_headers=_masked_headers(request.headers.items()),
        request_body=_masked_body(request.body, request.headers.get("content-type")),
        status=response.status_code,
        reason=response.reason or "",
        response_headers=_masked_headers(response.headers.items()),
        response_body=_cut(scrub(response.text)) if response.content else None,
        elapsed=response.elapsed.total_seconds(),
        started_at=time.time() - response.elapsed.total_seconds(),
    )


def from_failure(
    request: requests.PreparedRequest, step: str, failure: str, started_at: float
) -> Exchange:
    """The record of a request that got no answer: refused, timed out, cut off."""
    return Exchange(
        step=step,
        method=request.method or "GET",
        url=_masked_url(request.url or ""),
        request_headers=_masked_headers(request.headers.items()),
        request_body=_masked_body(request.body, request.headers.get("content-type")),
        started_at=started_at,
        elapsed=time.time() - started_at,
        failure=scrub(failure),
    )


class History:
    """The newest exchanges, oldest first; widgets subscribe to follow it."""

    def __init__(self, size: int = HISTORY_SIZE) -> None:
        self._items: deque[Exchange] = deque(maxlen=size)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[Exchange], None]] = []

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self._items.append(exchange)
            listeners = list(self._listeners)
        for listener in listeners:
            listener(exchange)

    def subscribe(self, listener: Callable[[Exchange], None]) -> None:
        """Call `listener` with each exchange recorded from now on."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Exchange], None]) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    @property
    def last(self) -> Exchange | None:
        with self._lock:
            return self._items[-1] if self._items else None

    @property
    def last_failure(self) -> Exchange | None:
        """The newest exchange that got no answer or an error status."""
        with self._lock:
            return next((e for e in reversed(self._items) if not e.ok), None)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __iter__(self) -> Iterator[Exchange]:
        with self._lock:
            return iter(list(self._items))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __repr__(self) -> str:
        return f"<History of {len(self)} exchanges>"


HISTORY = History()


def _masked_url(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = "&".join(_masked_form_piece(piece) for piece in parts.query.split("&"))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def _masked_headers(items: Any) -> Headers:
    return tuple((str(name), _masked_header(str(name), str(v))) for name, v in items)


def _masked_header(name: str, value: str) -> str:
    if name.lower() not in _SECRET_HEADERS:
        return scrub(value)
    scheme, _, credential = value.partition(" ")
    if credential and name.lower().endswith("authorization"):
        remember(credential)
        return f"{scheme} {mask(credential)}"
    return mask(value)


def _masked_body(body: object, content_type: str | None) -> str | None:
    if body is None or body in {b"", ""}:
        return None
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    if content_type and "x-www-form-urlencoded" in content_type:
        text = "&".join(_masked_form_piece(piece) for piece in text.split("&"))
    return _cut(scrub(text))


def _masked_form_piece(piece: str) -> str:
    """`name=value` as sent, the value masked when the name is a secret's."""
    name, equals, value = piece.partition("=")
    if unquote_plus(name) not in SECRET_FIELDS:
        return piece
    secret = unquote_plus(value)
    remember(secret)
    return f"{name}{equals}{mask(secret)}"


def _cut(text: str) -> str:
    if len(text) <= MAX_BODY_CHARS:
        return text
    return text[:MAX_BODY_CHARS] + f"\n… ({len(text) - MAX_BODY_CHARS} more characters)"


def _pretty(body: str) -> str:
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except ValueError:
        return body


def _is_masked(value: str) -> bool:
    return value.endswith(MASK) or value == "(empty)"


def _header_variable(name: str, value: str) -> str:
    scheme, _, credential = value.partition(" ")
    if name.lower() == "authorization" and _is_masked(credential):
        variable = "ACCESS_TOKEN" if scheme.lower() == "bearer" else "CREDENTIALS"
        return f"{scheme} {_placeholder(variable)}"
    return value


# A masked value stands in an export as a placeholder that no text can hold,
# so that a literal `$HOME` in a value is never taken for a variable.
_PLACEHOLDER = re.compile("\x00([A-Z][A-Z_]*)\x00")


def _placeholder(name: str) -> str:
    return f"\x00{name}\x00"


def _quoted(text: str) -> str:
    """A shell word: single-quoted, or double-quoted with placeholders as `$NAME`."""
    if not _PLACEHOLDER.search(text):
        return shlex.quote(text)
    for special in ("\\", '"', "`", "$"):
        text = text.replace(special, "\\" + special)
    return '"' + _PLACEHOLDER.sub(r"$\1", text) + '"'


_OPTIONS_WITH_VALUES = frozenset({"-H", "--data-urlencode", "--data-binary"})


def _join_pairs(words: list[str]) -> list[str]:
    """Keep each option beside its value on one line of the command."""
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in _OPTIONS_WITH_VALUES:
            joined[-1] += " " + word
        else:
            joined.append(word)
    return joined


def _python_value(text: str) -> str:
    """`text` as a Python expression, each placeholder read from `os.environ`."""
    pieces = _PLACEHOLDER.split(text)
    terms = [
        f"os.environ[{piece!r}]" if index % 2 else repr(piece)
        for index, piece in enumerate(pieces)
        if piece or index % 2
    ]
    return " + ".join(terms) or "''"


def _variables_note(names: list[str], comment: str) -> str:
    if not names:
        return ""
    listed = ", ".join(sorted(set(names)))
    return f"{comment} Set {listed} first: the record kept only masked values.\n"

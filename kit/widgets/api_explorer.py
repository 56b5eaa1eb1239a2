"""Step 7 of the flow as a panel: call Confluence, and see which scopes it takes.

`ApiExplorer` lists operations from the scope catalogue (`kit.scopes`), shows for
the chosen one the scope sets it accepts against the token's granted scopes, and
warns before calling when the token cannot reach it. The call goes through
`kit.confluence.Confluence`; "send anyway" turns its preflight off, so that the
gateway's own 401 can be seen, and explained by the doctor.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, cast
from urllib.parse import quote

import ipywidgets as widgets

from kit.confluence import Api, Confluence, Page
from kit.errors import ConfigError, KitError
from kit.scopes import (
    FRIENDLY_NAMES,
    Operation,
    OperationRef,
    can_reach,
    explain_operation,
    find_operation,
    missing_scopes,
)
from kit.store import TokenStore
from kit.tokens import TokenSet
from kit.widgets.common import (
    AMBER,
    GREEN,
    GREY,
    RED,
    WIDE,
    Raw,
    button,
    coloured,
    heading,
    label,
    new_errors,
    prose,
    shows_errors,
    table,
)
from kit.widgets.exchange_view import ExchangeView

COLUMNS = ("id", "title", "name", "key", "type", "status")
DEFAULT_LIMIT = 5
YES, NO = "✓", "✗"
_PARAMETER = re.compile(r"\{([^/{}]+)\}")


def default_operations() -> tuple[Operation, ...]:
    """The course's Confluence operations (`FRIENDLY_NAMES`, without `/me`)."""
    found = (find_operation(name) for name in FRIENDLY_NAMES)
    return tuple(op for op in found if op.api in {"v1", "v2"})


def path_parameters(operation: Operation) -> tuple[str, ...]:
    """The names in braces in the operation's path: `id`, `spaceKey`, ..."""
    return tuple(_PARAMETER.findall(operation.path))


def takes_limit(operation: Operation) -> bool:
    """Whether the operation lists things, so that `limit` means a page size."""
    last = operation.path.rstrip("/").rsplit("/", 1)[-1]
    return not _PARAMETER.fullmatch(last) and last != "current"


def takes_cql(operation: Operation) -> bool:
    """Whether the operation is a CQL search."""
    return operation.path.endswith("/search")


def scope_sets_html(operation: Operation, granted: Iterable[str]) -> str:
    """The scope sets `operation` accepts, each scope ✓ or ✗ against `granted`."""
    held = set(granted)
    rows = []
    for number, group in enumerate(operation.scope_sets, start=1):
        marks = Raw(
            " ".join(
                str(
                    coloured(
                        f"{YES if s in held else NO} {s}", GREEN if s in held else RED
                    )
                )
                for s in group
            )
        )
        satisfied = held.issuperset(group)
        rows.append(
            (
                f"set {number}",
                marks,
                coloured(
                    YES if satisfied else NO, GREEN if satisfied else RED, bold=True
                ),
            )
        )
    if not rows:
        return str(coloured("No OAuth 2.0 scope opens this operation.", RED))
    return table(rows, ("", "scopes (any one set suffices)", "held"))


def preflight_html(operation: Operation, granted: Iterable[str]) -> str:
    """The warning shown before a call the token cannot reach; else a green line."""
    held = tuple(granted)
    rule = explain_operation(operation).explanation
    if can_reach(held, operation):
        words = f"{YES} The token's scopes reach it. {rule}"
        return f"<div style='color:{GREEN}'>{prose(words)}</div>"
    missing = " ".join(f"`{s}`" for s in missing_scopes(held, operation))
    words = (
        f"⚠ The token cannot reach it: add {missing} and consent again. {rule} "
        "The kit will refuse to send it; tick `send anyway` to see the gateway's "
        "own answer."
    )
    return (
        f"<div class='kit-preflight' style='color:{AMBER};font-weight:bold'>"
        f"{prose(words)}</div>"
    )


def result_rows(page: Page) -> list[tuple[str, ...]]:
    """One row per result (or the one object answered), over `COLUMNS` present."""
    body = page.answer.body
    items = list(page.results) or ([body] if isinstance(body, dict) else [])
    flat = [_flat(item) for item in items if isinstance(item, dict)]
    columns = [c for c in COLUMNS if any(c in item for item in flat)]
    return [tuple(columns)] + [
        tuple(str(item.get(c, "")) for c in columns) for item in flat
    ]


def _flat(item: Mapping[str, Any]) -> dict[str, Any]:
    """A result's fields, with a v1 search result's `content` lifted up."""
    content = item.get("content")
    merged = dict(content) if isinstance(content, dict) else {}
    merged.update({k: v for k, v in item.items() if not isinstance(v, dict | list)})
    return merged


class ApiExplorer(widgets.VBox):
    """Pick an operation, see its scopes against the token's, call it, page on.

    Parts: `dropdown` (values are operation keys), `scopes_html`,
    `preflight_html`, `path_id`, `limit`, `cql`, `send_anyway`, `call_button`,
    `next_button`, `status_html`, `results_html`, `exchange_view`, `errors`.
    State: `operation`, `granted`, `page` (the last `Page`). `tokens` names
    where the granted scopes are read (the Confluence's own tokens by default).
    """

    def __init__(
        self,
        confluence: Confluence,
        *,
        operations: Iterable[OperationRef] | None = None,
        tokens: TokenSet | TokenStore | None = None,
    ) -> None:
        self.confluence = confluence
        self.tokens = tokens
        chosen = default_operations() if operations is None else operations
        self.operations = {op.key: op for op in map(find_operation, chosen)}
        self.operation = next(iter(self.operations.values()))
        self.granted: tuple[str, ...] = ()
        self.page: Page | None = None
        self._pages: Iterator[Page] | None = None
        self._number = 0  # of the page shown
        self.errors = new_errors()
        self._build()
        self.dropdown.observe(lambda _: self.choose(self.dropdown.value), "value")
        self.call_button.on_click(lambda _: self.call())
        self.next_button.on_click(lambda _: self.next_page())
        self.choose(self.operation.key)

    def _build(self) -> None:
        self.dropdown = widgets.Dropdown(
            options=[(_label(op), key) for key, op in self.operations.items()],
            value=self.operation.key,
            description="Operation",
            layout=widgets.Layout(width="640px"),
        )
        self.scopes_html = widgets.HTML(value="")
        self.preflight_html = widgets.HTML(value="")
        self.path_id = widgets.Text(description="id", layout=_input("260px"))
        self.limit = widgets.BoundedIntText(
            value=DEFAULT_LIMIT, min=1, max=250, description="limit", layout=_input()
        )
        self.cql = widgets.Text(
            value="type=page", description="cql", layout=_input("360px")
        )
        self.send_anyway = widgets.Checkbox(
            value=False, description="send anyway (no preflight)", indent=False
        )
        self.call_button = button("Call", style="primary")
        self.next_button = button("Next page")
        self.next_button.disabled = True
        self.status_html = widgets.HTML(value="")
        self.results_html = widgets.HTML(value="", layout=widgets.Layout(width=WIDE))
        self.exchange_view = ExchangeView(title="The last exchange")
        super().__init__(
            children=[
                heading("Step 7: call Confluence"),
                self.dropdown,
                label("Scope sets it accepts, against the token's"),
                self.scopes_html,
                self.preflight_html,
                widgets.HBox([self.path_id, self.limit, self.cql]),
                widgets.HBox([self.send_anyway, self.call_button, self.next_button]),
                self.status_html,
                self.results_html,
                self.exchange_view,
                self.errors,
            ],
            layout=widgets.Layout(width=WIDE),
        )

    @shows_errors
    def choose(self, key: str) -> None:
        """Show `key`'s scope sets against the token's, and the inputs it takes."""
        self.operation = self.operations[key]
        self.page, self._pages = None, None
        self.next_button.disabled = True
        self.results_html.value = self.status_html.value = ""
        names = path_parameters(self.operation)
        self.path_id.description = names[0] if names else "id"
        _show(self.path_id, bool(names))
        _show(self.limit, takes_limit(self.operation))
        _show(self.cql, takes_cql(self.operation))
        self.granted = self._granted()
        self.scopes_html.value = scope_sets_html(self.operation, self.granted)
        self.preflight_html.value = preflight_html(self.operation, self.granted)

    @shows_errors
    def call(self) -> None:
        """Call the chosen operation and show its first page."""
        self.page, self._pages = None, None
        self.next_button.disabled = True
        if self.operation.api not in {"v1", "v2"}:
            raise ConfigError(NOT_CONFLUENCE.format(key=self.operation.key))
        api = cast(Api, self.operation.api)
        self._pages = self.confluence.pages_of(api, self._path(), self._params())
        self._show_next()

    @shows_errors
    def next_page(self) -> None:
        """Follow the last page's `next` link."""
        if self._pages is None:
            raise ConfigError(NO_NEXT)
        self._show_next()

    def _show_next(self) -> None:
        assert self._pages is not None  # set by call()
        try:
            with self._preflight():
                page = next(self._pages, None)
        except KitError as exc:
            self._pages = None
            self.status_html.value = str(coloured("The call failed.", RED))
            if exc.exchange is not None:
                self.exchange_view.show(exc.exchange)
            raise
        if page is None:
            self._pages = None
            self.next_button.disabled = True
            self.status_html.value = str(coloured("No more pages.", GREY))
            return
        self._show_page(page)

    def _show_page(self, page: Page) -> None:
        number = 1 if self.page is None else self._number + 1
        self.page, self._number = page, number
        rows = result_rows(page)
        self.results_html.value = table(rows[1:], rows[0]) if rows[0] else ""
        more = "a next page follows" if page.next_url else "the last page"
        self.status_html.value = html.escape(
            f"{page.answer.exchange.summary()}: page {number}, "
            f"{len(rows) - 1} result(s), {more}."
        )
        self.next_button.disabled = page.next_url is None
        self.exchange_view.show(page.answer.exchange)

    @contextmanager
    def _preflight(self) -> Iterator[None]:
        """The Confluence's preflight, turned off for the call if `send anyway`."""
        if not self.send_anyway.value:
            yield
            return
        saved = self.confluence.preflight
        self.confluence.preflight = False
        try:
            yield
        finally:
            self.confluence.preflight = saved

    def _path(self) -> str:
        names = path_parameters(self.operation)
        if len(names) > 1:
            raise ConfigError(SEVERAL_PARAMETERS.format(path=self.operation.path))
        path = self.operation.path
        if names:
            value = self.path_id.value.strip()
            if not value:
                raise ConfigError(NO_ID.format(name=names[0], path=path))
            path = path.replace(f"{{{names[0]}}}", quote(value, safe=""))
        return path

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if takes_limit(self.operation):
            params["limit"] = self.limit.value
        if takes_cql(self.operation):
            params["cql"] = self.cql.value
        return params

    def _granted(self) -> tuple[str, ...]:
        """The token's scopes, read as the Confluence's preflight reads them."""
        if isinstance(self.tokens, TokenSet):
            return self.tokens.scope
        if isinstance(self.tokens, TokenStore):
            stored = self.tokens.load()
            return () if stored is None else stored.tokens.scope
        return self.confluence.granted


def _label(operation: Operation) -> str:
    name = operation.friendly_name
    return f"{name}: {operation.key}" if name else operation.key


def _input(width: str = "160px") -> widgets.Layout:
    return widgets.Layout(width=width)


def _show(widget: widgets.Widget, shown: bool) -> None:
    widget.layout.display = "" if shown else "none"


NOT_CONFLUENCE = (
    "`{key}` is not a Confluence v1 or v2 operation, which is all this explorer "
    "calls. Choose another, or call it with the kit's own function (`kit.me`)."
)
NO_NEXT = "There is no page to follow yet. Press `Call` first."
NO_ID = "`{path}` needs a `{name}`. Type it into the box, such as `98306`."
SEVERAL_PARAMETERS = (
    "`{path}` has several path parameters; the explorer fills one. Call it with "
    "`Confluence.get_page` instead."
)

"""One recorded HTTP exchange, as the wire saw it and as curl or Python resend it.

`ExchangeView` shows a `kit.record.Exchange`: its one-line summary on top, then
tabs with the raw HTTP text, a curl command and a `requests` call. The record is
masked already; the exports turn each masked value into a variable to fill in.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from kit.record import Exchange
from kit.widgets.common import GREEN, GREY, RED, WIDE, heading, pre

TAB_TITLES = ("Raw", "curl", "Python")
TITLE = "The HTTP exchange"
NOTHING_YET = "No exchange recorded yet."


class ExchangeView(widgets.VBox):
    """A recorded exchange: summary, then Raw, curl and Python tabs.

    `title` heads it; `show(exchange)` replaces what it shows; `exchange` is
    the one shown, or None before the first. Parts: `summary`, `tabs`, and
    the tabs' `raw`, `curl` and `python` HTML widgets.
    """

    def __init__(self, exchange: Exchange | None = None, *, title: str = TITLE) -> None:
        self.exchange: Exchange | None = None
        self.summary = widgets.HTML(value="")
        self.raw = widgets.HTML(value="")
        self.curl = widgets.HTML(value="")
        self.python = widgets.HTML(value="")
        self.tabs = widgets.Tab(
            children=[self.raw, self.curl, self.python], titles=TAB_TITLES
        )
        super().__init__(
            children=[heading(title), self.summary, self.tabs],
            layout=widgets.Layout(width=WIDE),
        )
        self.show(exchange)

    def show(self, exchange: Exchange | None) -> None:
        """Show `exchange`, or say that there is none yet."""
        self.exchange = exchange
        if exchange is None:
            self.summary.value = f"<span style='color:{GREY}'>{NOTHING_YET}</span>"
            self.raw.value = self.curl.value = self.python.value = ""
            return
        colour = GREEN if exchange.ok else RED
        self.summary.value = (
            f"<code style='color:{colour}'>{html.escape(exchange.summary())}</code>"
            f" <span style='color:{GREY}'>({html.escape(exchange.step)})</span>"
        )
        self.raw.value = pre(exchange.raw())
        self.curl.value = pre(exchange.to_curl())
        self.python.value = pre(exchange.to_python())

"""What every panel shares: errors shown by the doctor, tables, colours, clocks.

Panels only wire ipywidgets to the kit's plain functions (STYLE rule 25). The
`shows_errors` decorator runs a handler and puts any failure into the panel's
`errors` widget as `kit.doctor.diagnose` explains it: never printed, never only
logged, never swallowed. Nothing here shows a secret.
"""

from __future__ import annotations

import functools
import html
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

import ipywidgets as widgets

from kit.clocks import Now
from kit.doctor import diagnose
from kit.errors import ExchangeRefusedError

if TYPE_CHECKING:
    from kit.sandbox_controls import SandboxControls

logger = logging.getLogger(__name__)

# Colours, chosen to read on JupyterLab's light and dark themes alike.
GREEN = "#1e8e3e"
AMBER = "#e37400"
RED = "#d93025"
BLUE = "#1a73e8"
GREY = "#80868b"
PALE = "#f1f3f4"
SEVERITY_COLOURS = {"error": RED, "warning": AMBER, "info": BLUE}

WIDE = "100%"

P = ParamSpec("P")
R = TypeVar("R")


class HasErrors(Protocol):
    """A panel: it has an `errors` HTML widget for the doctor's words."""

    errors: widgets.HTML


S = TypeVar("S", bound=HasErrors)


# Errors, shown -------------------------------------------------------------------


def error_html(exc: BaseException) -> str:
    """The doctor's diagnosis of `exc`, framed in red, ready for an `HTML` widget."""
    diagnosis = diagnose(exc)._repr_html_()
    return (
        f"<div class='kit-error' style='border-left:4px solid {RED};"
        f"padding:4px 8px;margin:4px 0'>"
        f"<b style='color:{RED}'>{html.escape(type(exc).__name__)}</b>"
        f"{diagnosis}</div>"
    )


def show_error(errors: widgets.HTML, exc: BaseException) -> None:
    """Put the doctor's diagnosis of `exc` into `errors`, and log its class only."""
    errors.value = error_html(exc)
    logger.info("A widget handler failed with %s.", type(exc).__name__)


def shows_errors(
    method: Callable[Concatenate[S, P], R],
) -> Callable[Concatenate[S, P], R | None]:
    """Run a panel's handler; on any exception show the doctor's words in `errors`.

    A success clears `errors`. The handler's result is returned, or None when
    it failed. Works the same for a button's click, a trait's change and a
    callback from a worker thread. A decorated handler called by another one
    of the same panel lets its exception rise to the outer one, which shows it.
    """

    @functools.wraps(method)
    def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R | None:
        active: set[int] = _inside.__dict__.setdefault("panels", set())
        if id(self) in active:
            return method(self, *args, **kwargs)
        active.add(id(self))
        try:
            result = method(self, *args, **kwargs)
        except Exception as exc:
            show_error(self.errors, exc)
            return None
        finally:
            active.discard(id(self))
        self.errors.value = ""
        return result

    return run


# The panels whose handler runs in this thread now: a nested call raises.
_inside = threading.local()


def new_errors() -> widgets.HTML:
    """The empty `errors` widget every panel has."""
    return widgets.HTML(value="", layout=widgets.Layout(width=WIDE))


# Small pieces of HTML ----------------------------------------------------------


class Raw(str):
    """Text that is HTML already: `table` puts it in a cell without escaping."""

    __slots__ = ()


def prose(text: str) -> Raw:
    """`text` escaped, each `name` in backticks shown as code (as the doctor does)."""
    return Raw(re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text)))


def cell(value: object) -> str:
    """A value for a table cell: `Raw` as it is, anything else escaped."""
    if isinstance(value, Raw):
        return str(value)
    return html.escape(str(value))


def table(
    rows: Iterable[Sequence[object]],
    header: Sequence[str] | None = None,
    *,
    css_class: str = "kit-table",
) -> str:
    """An HTML table of `rows`, each value escaped unless it is `Raw`."""
    style = "text-align:left;vertical-align:top;padding:2px 8px"
    head = ""
    if header is not None:
        head = "".join(f"<th style='{style}'>{cell(name)}</th>" for name in header)
        head = f"<thead><tr>{head}</tr></thead>"
    body = "".join(
        "<tr>" + "".join(f"<td style='{style}'>{cell(v)}</td>" for v in row) + "</tr>"
        for row in rows
    )
    return f"<table class='{css_class}'>{head}<tbody>{body}</tbody></table>"


def badge(text: str, colour: str) -> Raw:
    """A small coloured label, such as a finding's severity."""
    return Raw(
        f"<span style='background:{colour};color:white;border-radius:3px;"
        f"padding:0 5px;font-size:0.85em'>{html.escape(text)}</span>"
    )


def coloured(text: str, colour: str, *, bold: bool = False) -> Raw:
    """`text` escaped and in `colour`."""
    weight = "font-weight:bold;" if bold else ""
    return Raw(f"<span style='{weight}color:{colour}'>{html.escape(text)}</span>")


def pre(text: str) -> str:
    """Preformatted text, escaped, that wraps instead of widening the page."""
    return (
        "<pre style='white-space:pre-wrap;word-break:break-all;margin:0;"
        f"font-size:0.85em'>{html.escape(text)}</pre>"
    )


def bar(fraction: float, colour: str) -> Raw:
    """A horizontal bar filled to `fraction` (0 to 1), drawn in plain HTML."""
    percent = max(0.0, min(1.0, fraction)) * 100
    return Raw(
        f"<div style='width:100%;max-width:420px;height:10px;background:{PALE};"
        f"border-radius:5px;overflow:hidden'><div style='width:{percent:.1f}%;"
        f"height:100%;background:{colour}'></div></div>"
    )


def heading(text: str) -> widgets.HTML:
    """A panel's title line."""
    return widgets.HTML(value=f"<b style='font-size:1.15em'>{html.escape(text)}</b>")


def label(text: str) -> widgets.HTML:
    """A short label in grey, above a part of a panel."""
    return widgets.HTML(value=f"<span style='color:{GREY}'>{html.escape(text)}</span>")


def button(description: str, *, tooltip: str = "", style: str = "") -> widgets.Button:
    """A button sized to its words."""
    return widgets.Button(
        description=description,
        tooltip=tooltip or description,
        button_style=style,
        layout=widgets.Layout(width="auto"),
    )


def link(url: str, text: str) -> Raw:
    """A link that opens in a new tab, without giving that tab this page."""
    return Raw(
        f"<a href='{html.escape(url, quote=True)}' target='_blank' rel='noopener'"
        f" style='color:{BLUE};text-decoration:underline'>{html.escape(text)}</a>"
    )


# Time ----------------------------------------------------------------------------


class SkewedClock:
    """A clock that runs with `base` but may be moved forward, like the sandbox's.

    When a panel moves the sandbox's clock, it shifts its own by the same
    amount, so that its timers show the time the sandbox lives in.
    """

    def __init__(self, base: Now = time.time) -> None:
        self.base = base
        self.skew = 0.0

    def now(self) -> float:
        """The base clock's time plus every shift so far."""
        return self.base() + self.skew

    def shift(self, seconds: float) -> None:
        """Move this clock forward by `seconds`."""
        self.skew += seconds

    def advance_with(self, controls: SandboxControls | None, seconds: float) -> None:
        """Move the sandbox's clock through `controls`, then this one, by `seconds`.

        A panel without controls (not on the sandbox) is refused, saying how.
        """
        if controls is None:
            raise ExchangeRefusedError(NO_CONTROLS)
        controls.advance(seconds)
        self.shift(seconds)


NO_CONTROLS = (
    "This panel has no sandbox controls, so it cannot move the clock. Pass "
    "`controls=SandboxControls.of(config)` on the sandbox."
)


class Ticker:
    """Calls `tick` about every `interval` seconds from a daemon thread, until stopped.

    `tick` must not raise: pass a handler decorated with `shows_errors`.
    """

    def __init__(self, tick: Callable[[], Any], interval: float = 1.0) -> None:
        self.tick = tick
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self, name: str = "kit-widget-ticker") -> None:
        """Start the thread; a second call while it runs does nothing."""
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it, unless called from the thread itself."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.tick()

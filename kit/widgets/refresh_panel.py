"""Step 8 of the flow as a panel: refresh, and watch the refresh token rotate.

`RefreshPanel` refreshes through `TokenStore.refresh_with`, so that each rotated
refresh token is saved, and draws the family's lineage as a graph: one node per
refresh token, by fingerprint. A second button sends the spent refresh token
again, to show the 10-minute reuse leeway and what follows it: the whole family
revoked. On the sandbox, clock buttons jump past the leeway or the idle limit.
"""

from __future__ import annotations

import html
import time
from typing import Any

import ipywidgets as widgets

from kit.clocks import DAY, MINUTE, Now, format_duration
from kit.config import ClientConfig
from kit.errors import ExchangeRefusedError, RefreshRejectedError
from kit.exchange import refresh_access_token, refresher
from kit.sandbox_controls import SandboxControls
from kit.store import TokenStore
from kit.tokens import Lineage, TokenSet
from kit.widgets.common import (
    AMBER,
    BLUE,
    GREEN,
    GREY,
    PALE,
    RED,
    WIDE,
    SkewedClock,
    button,
    heading,
    label,
    new_errors,
    prose,
    shows_errors,
)
from kit.widgets.token_dashboard import TokenDashboard

CLOCK_STEPS = {"+11 min": 11 * MINUTE, "+91 days": 91 * DAY}
NODE_WIDTH, NODE_HEIGHT, GAP, PAD, ARC_ROOM = 120, 40, 36, 8, 26


def lineage_svg(lineage: Lineage | None, *, revoked: bool = False) -> str:
    """The refresh-token family as an inline SVG: nodes, rotation arrows, marks.

    One node per refresh token of `lineage.chain`, named by its fingerprint
    (never the token): the current one in blue, the spent ones grey, all red
    when the family is `revoked`. An arrow runs from each spent token to the
    one its refresh returned.
    """
    if lineage is None:
        return _empty_svg("No refresh token, so no lineage: ask for offline_access.")
    chain = list(dict.fromkeys(lineage.chain))
    where = {fingerprint: index for index, fingerprint in enumerate(chain)}
    width = 2 * PAD + len(chain) * NODE_WIDTH + (len(chain) - 1) * GAP
    height = ARC_ROOM + NODE_HEIGHT + 2 * PAD + 16 + (16 if revoked else 0)
    arrows = "".join(
        _arrow(where[r.parent], where[r.child])
        for r in lineage.rotations
        if r.parent in where and r.child in where
    )
    nodes = "".join(
        _node(index, fingerprint, fingerprint == lineage.current, revoked)
        for index, fingerprint in enumerate(chain)
    )
    caption = ""
    if revoked:
        caption = _text(PAD, height - 6, "family revoked: sign in again", RED, "start")
    return (
        f"<div style='overflow-x:auto'><svg xmlns='http://www.w3.org/2000/svg' "
        f"class='kit-lineage' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' font-family='monospace' font-size='12'>"
        f"{arrows}{nodes}{caption}</svg></div>"
    )


def _node(index: int, fingerprint: str, current: bool, revoked: bool) -> str:
    x, y = _x(index), ARC_ROOM + PAD
    kind = "revoked" if revoked else "current" if current else "spent"
    stroke = {"revoked": RED, "current": BLUE, "spent": GREY}[kind]
    fill = "#e8f0fe" if kind == "current" else PALE
    ink = "#202124" if kind == "current" else GREY
    dash = " stroke-dasharray='4 3'" if revoked else ""
    width = 2.5 if current else 1
    role = "from consent" if index == 0 else f"refresh {index}"
    word = f"{kind}, current" if revoked and current else kind
    middle = x + NODE_WIDTH / 2
    return (
        f"<g class='kit-node {kind}'>"
        f"<rect x='{x}' y='{y}' width='{NODE_WIDTH}' height='{NODE_HEIGHT}' rx='6' "
        f"fill='{fill}' stroke='{stroke}' stroke-width='{width}'{dash}/>"
        f"{_text(middle, y + 17, fingerprint, ink, bold=current)}"
        f"{_text(middle, y + 32, role, GREY)}"
        f"{_text(middle, y + NODE_HEIGHT + 14, word, stroke)}</g>"
    )


def _arrow(parent: int, child: int) -> str:
    y = ARC_ROOM + PAD + NODE_HEIGHT / 2
    if child == parent + 1:
        start, end = _x(parent) + NODE_WIDTH, _x(child)
        return (
            f"<g class='kit-rotation'><line x1='{start}' y1='{y}' x2='{end - 6}' "
            f"y2='{y}' stroke='{GREY}' stroke-width='1.5'/>"
            f"<polygon points='{end},{y} {end - 7},{y - 4} {end - 7},{y + 4}' "
            f"fill='{GREY}'/></g>"
        )
    top = ARC_ROOM + PAD
    start, end = _x(parent) + NODE_WIDTH / 2, _x(child) + NODE_WIDTH / 2
    return (
        f"<g class='kit-rotation'><path d='M {start} {top} Q {(start + end) / 2} "
        f"{top - 2 * ARC_ROOM} {end} {top - 6}' fill='none' stroke='{GREY}' "
        f"stroke-width='1.5'/><polygon points='{end},{top} {end - 4},{top - 7} "
        f"{end + 4},{top - 7}' fill='{GREY}'/></g>"
    )


def _x(index: int) -> float:
    return PAD + index * (NODE_WIDTH + GAP)


def _text(
    x: float,
    y: float,
    words: str,
    colour: str,
    anchor: str = "middle",
    *,
    bold: bool = False,
) -> str:
    weight = " font-weight='bold'" if bold else ""
    return (
        f"<text x='{x}' y='{y}' fill='{colour}' text-anchor='{anchor}'{weight}>"
        f"{html.escape(words)}</text>"
    )


def _empty_svg(words: str) -> str:
    return (
        "<svg xmlns='http://www.w3.org/2000/svg' class='kit-lineage' width='480' "
        f"height='24' font-size='12'>{_text(4, 16, words, GREY, 'start')}</svg>"
    )


class RefreshPanel(widgets.VBox):
    """Refresh now, see the rotation, and try the spent refresh token again.

    Parts: `refresh_button`, `reuse_button`, `clock_buttons` (by label, when
    `controls` is given), `graph` (the lineage's SVG), `outcome` (what the
    last press did), `dashboard` (a `TokenDashboard` on the panel's clock),
    `errors`. State: `previous` (the tokens whose refresh token was spent
    last, kept in memory only), `lineage`, `revoked`.
    """

    def __init__(
        self,
        config: ClientConfig,
        store: TokenStore,
        *,
        controls: SandboxControls | None = None,
        now: Now = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.controls = controls
        self.clock = SkewedClock(now)
        self.previous: TokenSet | None = None
        self.lineage: Lineage | None = None
        self._revoked_root: str | None = None
        self.errors = new_errors()
        self.refresh_button = button("Refresh now", style="primary")
        self.reuse_button = button("Reuse the previous refresh token", style="warning")
        self.reuse_button.disabled = True
        self.clock_buttons = {
            text: button(text, tooltip=f"Move the sandbox's clock {text}")
            for text in (CLOCK_STEPS if controls is not None else {})
        }
        self.graph = widgets.HTML(value="", layout=widgets.Layout(width=WIDE))
        self.outcome = widgets.HTML(value="")
        self.dashboard = TokenDashboard(store, now=self.clock.now)

        self.refresh_button.on_click(lambda _: self.refresh())
        self.reuse_button.on_click(lambda _: self.reuse())
        for text, clock_button in self.clock_buttons.items():
            clock_button.on_click(lambda _, s=CLOCK_STEPS[text]: self.advance(s))
        super().__init__(children=self._layout(), layout=widgets.Layout(width=WIDE))
        self.redraw()

    def _layout(self) -> list[Any]:
        parts: list[Any] = [
            heading("Step 8: refresh, and the rotating refresh token"),
            widgets.HBox([self.refresh_button, self.reuse_button]),
        ]
        if self.clock_buttons:
            parts.append(
                widgets.HBox([label("Sandbox clock"), *self.clock_buttons.values()])
            )
        return [
            *parts,
            self.outcome,
            label("The refresh-token family"),
            self.graph,
            self.dashboard,
            self.errors,
        ]

    @property
    def revoked(self) -> bool:
        """Whether this family was seen revoked (a new sign-in starts another)."""
        return self.lineage is not None and self.lineage.root == self._revoked_root

    @shows_errors
    def refresh(self) -> None:
        """Refresh through the store, which saves the rotated refresh token."""
        stored = self.store.load()
        received = self.store.refresh_with(refresher(self.config, now=self.clock.now))
        if stored is not None:
            self.previous = stored.tokens
        spent = self._fingerprint(self.previous)
        fresh = self._fingerprint(received)
        self._say(
            GREEN,
            f"Refreshed: refresh token {spent} is spent, {fresh} is current. For "
            "10 minutes the spent one may be sent again (the reuse leeway).",
        )
        self.redraw()

    @shows_errors
    def reuse(self) -> None:
        """Send the spent refresh token again: accepted in the leeway, else revoked."""
        if self.previous is None:
            raise ExchangeRefusedError(NO_PREVIOUS)
        spent = self._fingerprint(self.previous)
        try:
            received = refresh_access_token(
                self.config, self.previous, retry_on_timeout=False, now=self.clock.now
            )
        except RefreshRejectedError:
            self._revoked_root = self.lineage.root if self.lineage else None
            self._say(RED, REVOKED.format(spent=spent, since=self._since_rotation()))
            self.redraw()
            raise
        self._say(
            AMBER,
            f"Accepted: {self._since_rotation()} after its first use, inside the "
            f"leeway, the spent refresh token {spent} still works; the server sent "
            f"new tokens (access token {received.access_token.fingerprint}). The "
            "panel does not save them: the store keeps its newest tokens.",
        )

    @shows_errors
    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock and this panel's by `seconds`."""
        self.clock.advance_with(self.controls, seconds)
        self.redraw()

    @shows_errors
    def redraw(self) -> None:
        """Read the store again; draw the lineage and the clocks."""
        stored = self.store.load()
        self.lineage = None if stored is None else stored.lineage
        self.graph.value = lineage_svg(self.lineage, revoked=self.revoked)
        self.reuse_button.disabled = self.previous is None
        self.dashboard.refresh_view()

    def _say(self, colour: str, words: str) -> None:
        self.outcome.value = f"<div style='color:{colour}'>{prose(words)}</div>"

    def _since_rotation(self) -> str:
        at = None if self.lineage is None else self.lineage.last_rotated_at
        return (
            "an unknown time" if at is None else format_duration(self.clock.now() - at)
        )

    @staticmethod
    def _fingerprint(tokens: TokenSet | None) -> str:
        refresh = None if tokens is None else tokens.refresh_token
        return "(none)" if refresh is None else f"`{refresh.fingerprint}`"

    def stop(self) -> None:
        """Stop the dashboard's ticker; the panel stays shown."""
        dashboard = getattr(self, "dashboard", None)
        if dashboard is not None:
            dashboard.stop()

    def close(self) -> None:
        """`stop()`, then close the widget itself (it disappears)."""
        self.stop()
        dashboard = getattr(self, "dashboard", None)
        if dashboard is not None:
            dashboard.close()
        super().close()


NO_PREVIOUS = (
    "No refresh token has been spent in this panel yet. Press `Refresh now` "
    "first; then the refresh token it spent can be sent again."
)
REVOKED = (
    "Refused: the spent refresh token {spent} came back {since} after its first "
    "use. Sent outside the reuse leeway (Atlassian's 10 minutes; none at all in "
    "the `rfc` profile), a spent refresh token makes the server revoke its whole "
    "family: the saved refresh token is dead too. Sign in again."
)

"""After step 5 of the flow: the tokens' clocks, as bars with a sentence each.

`TokenDashboard` shows the access token's life (`kit.clocks.AccessTokenClock`)
and the refresh token's three clocks (`kit.tokens.Lineage.policy()`: the reuse
leeway, 90 days idle, 365 days in all), with the tokens' fingerprints and the
granted scopes. Tokens show masked; nothing here reveals one.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass

import ipywidgets as widgets

from kit.clocks import Countdown, Now, format_duration
from kit.store import TokenStore
from kit.tokens import Lineage, Secret, TokenSet
from kit.widgets.common import (
    AMBER,
    GREEN,
    GREY,
    RED,
    WIDE,
    Ticker,
    bar,
    button,
    heading,
    new_errors,
    prose,
    shows_errors,
    table,
)

CLOCKS = ("access", "leeway", "idle", "absolute")
LOW = 0.1  # a clock with less than a tenth left turns amber
WITHOUT_OFFLINE_ACCESS = (
    "No refresh token: the authorization did not ask for `offline_access`, so "
    "after the access token expires the person must consent again."
)
NO_TOKENS = "No tokens saved yet: sign in first."


@dataclass(frozen=True)
class ClockBar:
    """One clock as the dashboard draws it: the share left, a colour, words."""

    name: str
    fraction: float
    colour: str
    left: str
    sentence: str


def access_bar(tokens: TokenSet, now: Now) -> ClockBar:
    """The access token's clock: green, amber inside the refresh leeway, red dead."""
    clock = tokens.clock(now)
    remaining, lifetime = clock.remaining(), tokens.expires_in
    if remaining is None or not lifetime:
        return ClockBar("Access token", 0.0, GREY, "expiry unknown", clock.sentence())
    colour = GREEN
    if clock.is_expired():
        colour = RED
    elif clock.refresh_due():
        colour = AMBER
    left = f"{format_duration(remaining)} left" if remaining else "expired"
    if clock.refresh_at is not None and not clock.refresh_due():
        left += f", refresh due in {format_duration(clock.refresh_at - now())}"
    elif remaining:
        left += ", refresh due now"
    return ClockBar(
        "Access token", remaining / lifetime, colour, left, clock.sentence()
    )


def refresh_bars(lineage: Lineage | None, now: Now) -> tuple[ClockBar, ...]:
    """The refresh token's three clocks: reuse leeway, idle and absolute limits."""
    names = ("Reuse leeway", "Idle (90 days)", "Absolute (365 days)")
    if lineage is None:
        return tuple(
            ClockBar(n, 0.0, GREY, "none", WITHOUT_OFFLINE_ACCESS) for n in names
        )
    policy = lineage.policy(now)
    leeway = policy.reuse_leeway()
    if leeway is None:
        first = ClockBar(names[0], 0.0, GREY, "no refresh yet", "")
    elif leeway.is_over():
        first = ClockBar(names[0], 0.0, GREY, "ended", "")
    else:
        share = leeway.remaining() / leeway.length
        left = f"{format_duration(leeway.remaining())} left"
        first = ClockBar(names[0], share, AMBER, left, "")
    sentences = policy.sentences()
    return (
        ClockBar(first.name, first.fraction, first.colour, first.left, sentences[0]),
        _limit_bar(names[1], policy.idle(), sentences[1]),
        _limit_bar(names[2], policy.absolute(), sentences[2]),
    )


def _limit_bar(name: str, countdown: Countdown, sentence: str) -> ClockBar:
    if countdown.is_over():
        return ClockBar(name, 0.0, RED, "over", sentence)
    share = countdown.remaining() / countdown.length
    left = f"{format_duration(countdown.remaining())} left"
    return ClockBar(name, share, AMBER if share < LOW else GREEN, left, sentence)


def clock_bars(
    tokens: TokenSet, lineage: Lineage | None, now: Now
) -> dict[str, ClockBar]:
    """All four clocks, by the keys of `CLOCKS`."""
    bars = (access_bar(tokens, now), *refresh_bars(lineage, now))
    return dict(zip(CLOCKS, bars, strict=True))


def bar_html(clock: ClockBar) -> str:
    """One clock as HTML: its name and time left, the bar, the sentence."""
    return (
        f"<div style='margin:2px 0 6px 0'><b>{html.escape(clock.name)}</b> "
        f"<span style='color:{clock.colour}'>{html.escape(clock.left)}</span>"
        f"{bar(clock.fraction, clock.colour)}<div style='color:{GREY};"
        f"font-size:0.9em'>{prose(clock.sentence)}</div></div>"
    )


def tokens_table(tokens: TokenSet) -> str:
    """The tokens as fingerprints and masks, with the granted scopes."""
    return table(
        [
            ("access token", _shown(tokens.access_token)),
            ("refresh token", _shown(tokens.refresh_token)),
            ("granted scopes", " ".join(tokens.scope) or "(none)"),
        ]
    )


def _shown(secret: Secret | None) -> str:
    if secret is None:
        return "none"
    return f"{secret} (fingerprint {secret.fingerprint})"


class TokenDashboard(widgets.VBox):
    """The saved tokens' four clocks, with their fingerprints and scopes.

    `store_or_tokens` is a `TokenStore`, read again by `refresh_view()` (and
    the Re-read button), or a `TokenSet`. `now` is the clock the bars read;
    `live=True` re-reads about once a second until `close()`. Parts:
    `tokens_html`, `clocks` (an `HTML` per key of `CLOCKS`), `reread_button`,
    `errors`; state: `tokens`, `lineage`, `bars`.
    """

    def __init__(
        self,
        store_or_tokens: TokenStore | TokenSet,
        *,
        now: Now = time.time,
        live: bool = False,
        tick_interval: float = 1.0,
    ) -> None:
        self.ticker = Ticker(self.refresh_view, tick_interval)
        self.source = store_or_tokens
        self.now = now
        self.tokens: TokenSet | None = None
        self.lineage: Lineage | None = None
        self.bars: dict[str, ClockBar] = {}
        self.errors = new_errors()
        self.tokens_html = widgets.HTML(value="")
        self.clocks = {key: widgets.HTML(value="") for key in CLOCKS}
        self.reread_button = button("Re-read", tooltip="Read the tokens again")
        self.reread_button.on_click(lambda _: self.refresh_view())
        super().__init__(
            children=[
                heading("The tokens' clocks"),
                self.tokens_html,
                *self.clocks.values(),
                self.reread_button,
                self.errors,
            ],
            layout=widgets.Layout(width=WIDE),
        )
        self.refresh_view()
        if live:
            self.ticker.start("kit-token-dashboard")

    @shows_errors
    def refresh_view(self) -> None:
        """Read the tokens again (from the store) and redraw every clock."""
        self._read()
        if self.tokens is None:
            self.tokens_html.value = html.escape(NO_TOKENS)
            for clock in self.clocks.values():
                clock.value = ""
            self.bars = {}
            return
        self.tokens_html.value = tokens_table(self.tokens)
        self.bars = clock_bars(self.tokens, self.lineage, self.now)
        for key, clock in self.bars.items():
            self.clocks[key].value = bar_html(clock)

    def _read(self) -> None:
        if isinstance(self.source, TokenSet):
            self.tokens, self.lineage = self.source, Lineage.begin(self.source)
            return
        stored = self.source.load()
        self.tokens = None if stored is None else stored.tokens
        self.lineage = None if stored is None else stored.lineage

    def start_ticker(self) -> None:
        """Re-read and redraw about once a second, until `close()`."""
        self.ticker.start("kit-token-dashboard")

    def stop(self) -> None:
        """Stop the ticker; the dashboard stays shown, as last drawn."""
        ticker = getattr(self, "ticker", None)
        if ticker is not None:
            ticker.stop()

    def close(self) -> None:
        """`stop()`, then close the widget itself (it disappears)."""
        self.stop()
        super().close()

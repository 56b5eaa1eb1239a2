"""Steps 3 to 5 of the flow as a panel: consent, the callback, the code's timer.

`CallbackPanel` listens with a `kit.callback.CallbackCatcher`, offers the link
to consent (or the robot, on the sandbox), and once the code arrives counts down
its `kit.clocks.CodeWindow` beside an Exchange button that calls
`kit.exchange.exchange_code`. On the sandbox, buttons move its clock forward so
that a learner can watch a code go stale in seconds. On a hub (`kit.hub`), a
line beside the link says whether the browser can follow it.
"""

from __future__ import annotations

import html
import threading
import time
from dataclasses import dataclass
from typing import Any

import ipywidgets as widgets

from kit.authorize import AuthorizationRequest
from kit.callback import CallbackCatcher, CallbackResult, CatcherStatus, Outcome
from kit.clocks import CodeWindow, Now, format_duration
from kit.config import ClientConfig
from kit.course import Course
from kit.course.robot import Decision, press
from kit.errors import ConfigError, ExchangeRefusedError, KitError
from kit.exchange import exchange_code
from kit.hub import Hub, detect, proxy_route
from kit.record import HISTORY
from kit.sandbox_controls import SandboxControls
from kit.store import TokenStore
from kit.tokens import TokenSet
from kit.widgets.common import (
    AMBER,
    GREEN,
    GREY,
    RED,
    WIDE,
    SkewedClock,
    Ticker,
    bar,
    button,
    heading,
    label,
    link,
    new_errors,
    shows_errors,
)
from kit.widgets.exchange_view import ExchangeView
from kit.widgets.token_dashboard import TokenDashboard

ROBOT_WAIT = 5.0  # seconds the robot's button waits for the catcher's verdict
RED_WITHIN = 60.0  # the timer turns red this close to the upper bound
CLOCK_STEPS = {"+1 min": 60.0, "+5 min": 300.0, "+11 min": 660.0}
PHASE_COLOURS = {"fresh": GREEN, "hurry": AMBER, "likely expired": RED}
WAITING = "The code's timer starts when the code arrives."
PHASE_WORDS = {
    "not started": "Not listening yet",
    "listening": "Listening",
    "caught": "Code received",
    "failed": "Sign-in failed",
    "timed out": "Timed out",
    "stopped": "Stopped",
}


@dataclass(frozen=True)
class TimerReading:
    """What the code's timer shows now: phase, seconds left, colour and words.

    `fraction` is the share of the upper bound still left (1 when the code
    arrived, 0 once the bound has passed).
    """

    phase: str
    remaining: float
    fraction: float
    colour: str
    text: str
    sentence: str


def read_timer(window: CodeWindow, *, red_within: float = RED_WITHIN) -> TimerReading:
    """The code window as the timer shows it: green, then amber, then red.

    Green while fresh, amber after `hurry_after`, red from `red_within`
    seconds before the upper bound on.
    """
    phase, remaining = window.phase(), window.remaining()
    colour = PHASE_COLOURS[phase]
    if remaining <= red_within:
        colour = RED
    if phase == "likely expired":
        late = format_duration(window.elapsed() - window.upper_bound)
        text = f"Likely expired: {late} past the upper bound"
    elif phase == "hurry":
        text = f"Hurry: at most {format_duration(remaining)} left"
    else:
        text = f"Fresh: at most {format_duration(remaining)} left"
    fraction = remaining / window.upper_bound if window.upper_bound > 0 else 0.0
    return TimerReading(phase, remaining, fraction, colour, text, window.sentence())


def timer_html(reading: TimerReading) -> str:
    """A timer reading as HTML: the words in its colour, a bar, the sentence."""
    return (
        f"<div style='color:{reading.colour};font-weight:bold;font-size:1.2em'>"
        f"{html.escape(reading.text)}</div>{bar(reading.fraction, reading.colour)}"
        f"<div style='color:{GREY};font-size:0.9em'>"
        f"{html.escape(reading.sentence)}</div>"
    )


def hub_note(hub: Hub | None, redirect_uri: str, *, sandbox: bool) -> str:
    """What to say beside the consent link on a hub; nothing on your own machine."""
    if hub is None:
        return ""
    if proxy_route(redirect_uri) is not None:
        return (
            f"On {hub.kind}, this link and the callback go through "
            "jupyter-server-proxy."
        )
    unreachable = (
        f"On {hub.kind}, your browser cannot reach this kernel's 127.0.0.1, so "
        "this link will not open"
    )
    if sandbox:
        return (
            f"{unreachable}: press Play the browser (sandbox), which needs "
            "nothing from your browser."
        )
    return (
        f"{unreachable}: register the callback URL that the setup check shows, or "
        "open `request.url` yourself and paste the address you land on into "
        "`panel.catcher.submit_redirected_url(...)`."
    )


def status_text(status: CatcherStatus, url: str) -> str:
    """The catcher's status in one line: phase, address, time left, turned away."""
    words = PHASE_WORDS.get(status.phase, status.phase)
    text = words
    if status.phase == "listening":
        text += f" at {url}, {format_duration(status.seconds_left)} left"
    if status.rejected:
        text += f"; turned away {status.rejected} callback(s)"
        if status.last_rejection:
            text += f": {status.last_rejection}"
    return text + "."


class CallbackPanel(widgets.VBox):
    """Listen for the callback, consent, watch the code's timer, exchange the code.

    `course_or_config` is a `kit.course.Course` (its store and controls are
    used unless given) or a `ClientConfig`. `now` is the base clock;
    `clock.now()` adds the shifts of the clock buttons. Parts for tests and
    notebooks: `listen_button`, `status_html`, `link_html`, `hub_html`, `play_button`,
    `cancel_button`, `robot_html`, `timer_html`, `exchange_button`,
    `clock_buttons` (by label, on the sandbox only), `tokens_html`,
    `exchange_view`, `errors`. State: `catcher`, `result`, `window`, `tokens`.
    `wait()` blocks until the sign-in ended; `close()` stops the catcher and
    the ticker.
    """

    def __init__(
        self,
        course_or_config: Course | ClientConfig,
        request: AuthorizationRequest,
        *,
        controls: SandboxControls | None = None,
        store: TokenStore | None = None,
        now: Now = time.time,
        timeout: float = 300.0,
        tick_interval: float = 1.0,
    ) -> None:
        self.closed = False
        self.ticker = Ticker(self.tick, tick_interval)
        self.catcher: CallbackCatcher | None = None
        self.result: CallbackResult | None = None
        self.window: CodeWindow | None = None
        self.tokens: TokenSet | None = None
        self.exchanged = False
        self.ended = threading.Event()
        if isinstance(course_or_config, Course):
            controls = controls or course_or_config.controls
            store = store or course_or_config.store
            course_or_config = course_or_config.config
        self.config = course_or_config
        self.request = request
        self.controls = controls
        self.store = store
        self.clock = SkewedClock(now)
        self.timeout = timeout
        self._build()
        self.listen()

    def _build(self) -> None:
        self.errors = new_errors()
        self.listen_button = button("Listen", tooltip="Start the callback catcher")
        self.status_html = widgets.HTML(value="")
        self.link_html = widgets.HTML(
            value=f"<span style='color:{GREY}'>{NO_LINK}</span>"
        )
        self.hub_html = widgets.HTML(value=self._hub_note())
        self.play_button = button("Play the browser (sandbox)", style="info")
        self.cancel_button = button("Press Cancel (sandbox)")
        self.robot_html = widgets.HTML(value="")
        self.timer_html = widgets.HTML(
            value=f"<span style='color:{GREY}'>{WAITING}</span>",
            layout=widgets.Layout(width="60%"),
        )
        self.exchange_button = button("Exchange", style="success")
        self.exchange_button.disabled = True
        self.clock_buttons = {
            text: button(text, tooltip=f"Move the sandbox's clock {text}")
            for text in (CLOCK_STEPS if self.controls is not None else {})
        }
        self.tokens_html = widgets.HTML(value="")
        self.clocks_box = widgets.VBox()
        self.exchange_view = ExchangeView()

        self.listen_button.on_click(lambda _: self.listen())
        self.play_button.on_click(lambda _: self.play("accept"))
        self.cancel_button.on_click(lambda _: self.play("cancel"))
        self.exchange_button.on_click(lambda _: self.exchange())
        for text, clock_button in self.clock_buttons.items():
            clock_button.on_click(lambda _, s=CLOCK_STEPS[text]: self.advance(s))
        super().__init__(children=self._layout(), layout=widgets.Layout(width=WIDE))

    def _layout(self) -> list[Any]:
        parts: list[Any] = [
            heading("Steps 3 to 5: consent, callback, exchange"),
            widgets.HBox([self.listen_button, self.status_html]),
            label("Consent in your browser, or let the robot play it"),
            widgets.HBox([self.link_html, self.play_button, self.cancel_button]),
            self.hub_html,
            self.robot_html,
            label("The code"),
            widgets.HBox([self.timer_html, self.exchange_button]),
        ]
        if self.clock_buttons:
            parts.append(
                widgets.HBox([label("Sandbox clock"), *self.clock_buttons.values()])
            )
        return [
            *parts,
            self.tokens_html,
            self.clocks_box,
            self.exchange_view,
            self.errors,
        ]

    # Handlers ------------------------------------------------------------------

    @shows_errors
    def listen(self) -> None:
        """Start the catcher for the request's `state` (once; a state works once)."""
        if self.catcher is not None and self.catcher.status.phase != "not started":
            if self.catcher.status.phase == "listening":
                return
            raise ExchangeRefusedError(ENDED)
        if self.catcher is None:
            self.catcher = CallbackCatcher(
                self.config.redirect_uri,
                self.request.state,
                timeout=self.timeout,
                now=self.clock.now,
                authorization_url=self.request.url,
            )
        self.catcher.start()
        # The catcher's `/start` forwards to the authorization URL, so the link,
        # and the widget state a notebook may save, never hold the `state`.
        start_url = self.catcher.start_url or ""
        self.link_html.value = str(link(start_url, LINK_TEXT))
        self.catcher.on_result(self._arrived)
        self.listen_button.disabled = True
        self.ticker.start("kit-callback-panel")
        self._show_status()

    @shows_errors
    def play(self, decision: Decision) -> None:
        """The robot in the browser's place: Accept or Cancel on the sandbox.

        Returns once the catcher has taken the callback, so that a decline
        shows here as the doctor explains it.
        """
        landing = press(self.request.url, decision)
        self.robot_html.value = html.escape(
            f"The robot pressed {decision}; the browser landed on {landing.url}."
        )
        self.ended.wait(ROBOT_WAIT)
        if self.catcher is not None and self.catcher.error is not None:
            raise self.catcher.error

    @shows_errors
    def exchange(self) -> None:
        """Exchange the code for tokens, save them, show them masked."""
        if self.result is None:
            raise ExchangeRefusedError(NO_CODE)
        self.exchanged = True
        self.exchange_button.disabled = True
        self.ticker.stop()
        self._show_timer()
        try:
            tokens = exchange_code(
                self.config, self.result, request=self.request, now=self.clock.now
            )
        except KitError as exc:
            if exc.exchange is not None:
                self.exchange_view.show(exc.exchange)
            raise
        last = HISTORY.last
        if last is not None and last.step == "exchange":
            self.exchange_view.show(last)
        if self.store is not None:
            self.store.save(tokens)
        self.tokens = tokens
        saved = "" if self.store is None else f" Saved to {self.store.path}."
        self.tokens_html.value = (
            f"<b style='color:{GREEN}'>Tokens received.</b>{html.escape(saved)}"
            f"{tokens._repr_html_()}"
        )
        # The tokens' three clocks, on this panel's clock (the sandbox's time).
        source = self.store if self.store is not None else tokens
        self.clocks_box.children = (TokenDashboard(source, now=self.clock.now),)

    @shows_errors
    def advance(self, seconds: float) -> None:
        """Move the sandbox's clock and this panel's by `seconds`."""
        self.clock.advance_with(self.controls, seconds)
        self._show_timer()

    @shows_errors
    def tick(self) -> None:
        """Update the status line and the timer; the ticker calls this each second."""
        self._show_status()
        self._show_timer()
        if self.exchanged or (self.ended.is_set() and self.result is None):
            self.ticker.stop()

    @shows_errors
    def _arrived(self, outcome: Outcome) -> None:
        """The catcher's `on_result`, from its worker thread."""
        try:
            if self.closed:
                return
            self.link_html.value = f"<span style='color:{GREY}'>{LINK_USED}</span>"
            self._show_status()
            if not isinstance(outcome, CallbackResult):
                raise outcome
            self.result = outcome
            self.window = CodeWindow(started_at=outcome.received_at, now=self.clock.now)
            self.exchange_button.disabled = False
            self._show_timer()
        finally:
            self.ended.set()

    # Showing -------------------------------------------------------------------

    def _hub_note(self) -> str:
        try:
            hub = detect()
        except ConfigError as exc:
            return f"<span style='color:{RED}'>{html.escape(exc.message)}</span>"
        sandbox = self.controls is not None or self.config.is_sandbox
        note = hub_note(hub, self.config.redirect_uri, sandbox=sandbox)
        return f"<span style='color:{AMBER}'>{html.escape(note)}</span>" if note else ""

    def _show_status(self) -> None:
        if self.catcher is not None:
            text = status_text(self.catcher.status, self.catcher.url)
            self.status_html.value = html.escape(text)

    def _show_timer(self) -> None:
        if self.window is None:
            return
        reading = read_timer(self.window)
        if self.exchanged:
            sent = format_duration(self.window.elapsed())
            self.timer_html.value = (
                f"<span style='color:{GREY}'>Code sent {sent} after it arrived; "
                "a code works once.</span>"
            )
            return
        self.timer_html.value = timer_html(reading)

    # Life ----------------------------------------------------------------------

    def wait(self, timeout: float = 10.0) -> bool:
        """Block until the sign-in ended (code or error) and was shown; or time out."""
        return self.ended.wait(timeout)

    def stop(self) -> None:
        """Stop the ticker and the catcher, freeing the port; the panel stays shown."""
        self.closed = True
        ticker = getattr(self, "ticker", None)
        if ticker is not None:
            ticker.stop()
        catcher = getattr(self, "catcher", None)
        if catcher is not None:
            catcher.stop()

    def close(self) -> None:
        """`stop()`, then close the widget itself (it disappears)."""
        self.stop()
        super().close()


LINK_TEXT = "Open the consent page"
LINK_USED = "The sign-in has ended; this link's state is spent."
NO_LINK = "The link to consent appears once the catcher listens."
NO_CODE = (
    "No code has arrived yet, so there is nothing to exchange. Consent first: "
    "open the link, or press `Play the browser (sandbox)`."
)
ENDED = (
    "This sign-in has ended and its `state` is spent, so the catcher cannot "
    "listen again. Build a new request (`course.new_request()`) and a new panel."
)

"""Step 1 of the flow as a panel: tick scopes, watch the authorization URL change.

`AuthorizationUrlBuilder` builds the URL with `kit.authorize`, explains each of
its parameters (`explain`) and lints it (`lint`) at every change, so that a
learner sees at once what dropping `offline_access` or `audience` costs.
"""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, urlencode

import ipywidgets as widgets

from kit.authorize import (
    AuthorizationRequest,
    Finding,
    ParameterNote,
    explain,
    lint,
    masked_url,
    new_authorization_request,
)
from kit.config import ClientConfig
from kit.course import COURSE_SCOPES
from kit.errors import ConfigError
from kit.scopes import OperationRef, Scope, all_scopes
from kit.widgets.common import (
    GREEN,
    GREY,
    SEVERITY_COLOURS,
    WIDE,
    Raw,
    badge,
    button,
    coloured,
    heading,
    label,
    new_errors,
    prose,
    shows_errors,
    table,
)

OTHER_SCOPES = ("offline_access", "read:me")
TAB_TITLES = ("Classic", "Granular")
TAB_FAMILIES = ("classic", "granular")
NO_URL = "No URL yet: tick at least one scope."
NO_SCOPE = (
    "No scope is ticked, and `scope` may not be empty. Tick at least one "
    "scope, such as `read:page:confluence`, and `offline_access`."
)


class AuthorizationUrlBuilder(widgets.VBox):
    """Scope checkboxes and toggles; the URL, its explanation and its lint, live.

    `checkboxes` maps each scope to its checkbox (Confluence's classic and
    granular ones in `tabs`, the others in a row of their own);
    `offline_access`, `audience` and `prompt` are the toggles. `request` is the
    current `AuthorizationRequest`, which keeps its `state` while you edit
    (`new_state_button` makes a fresh one); `url` is the URL shown, without
    `audience` or `prompt` when those are unticked. `notes` and `findings` are
    what `explain` and `lint` said of it.
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        scopes: Iterable[str] = COURSE_SCOPES,
        registered_redirect_uri: str | None = None,
        operations: Iterable[OperationRef] = (),
    ) -> None:
        self.config = config
        self.registered_redirect_uri = registered_redirect_uri
        self.operations = tuple(operations)
        chosen = tuple(dict.fromkeys(scopes))
        self.request: AuthorizationRequest | None = None
        self.url = ""
        self.notes: list[ParameterNote] = []
        self.findings: list[Finding] = []
        self.errors = new_errors()

        self.checkboxes = _checkboxes(chosen)
        self.offline_access = self.checkboxes["offline_access"]
        self.audience = _toggle("audience=api.atlassian.com")
        self.prompt = _toggle("prompt=consent")
        self.tabs = _scope_tabs(self.checkboxes)
        self.new_state_button = button("New state", tooltip="A fresh random state")
        self.url_html = widgets.HTML(value="", layout=widgets.Layout(width=WIDE))
        self.explanation_html = widgets.HTML(value="")
        self.lint_html = widgets.HTML(value="")

        super().__init__(children=self._layout(), layout=widgets.Layout(width=WIDE))
        for box in (*self.checkboxes.values(), self.audience, self.prompt):
            box.observe(self._changed, names="value")
        self.new_state_button.on_click(lambda _: self.new_state())
        self.new_state()

    def _layout(self) -> list[Any]:
        families = {s.name: s.family for s in all_scopes()}
        others = [
            box
            for name, box in self.checkboxes.items()
            if families.get(name) not in TAB_FAMILIES
        ]
        return [
            heading("Step 1: the authorization URL"),
            label("Confluence scopes"),
            self.tabs,
            label("Other scopes and parameters"),
            widgets.HBox([*others, self.audience, self.prompt]),
            widgets.HBox([self.new_state_button]),
            self.url_html,
            label("What each parameter does"),
            self.explanation_html,
            label("Checks"),
            self.lint_html,
            self.errors,
        ]

    @property
    def scopes(self) -> tuple[str, ...]:
        """The ticked scopes, in the catalogue's order."""
        return tuple(name for name, box in self.checkboxes.items() if box.value)

    @shows_errors
    def new_state(self) -> None:
        """A fresh request: a new random `state` (and the ticked scopes)."""
        self.request = new_authorization_request(
            self.config.client_id,
            self.config.redirect_uri,
            self.scopes or COURSE_SCOPES,
            auth_url=self.config.hosts.auth_url,
            allow_plain_http=not self.config.hosts.is_atlassian,
        )
        self.update()

    @shows_errors
    def update(self) -> None:
        """Build the URL from the toggles, then explain and lint it."""
        if not self.scopes or self.request is None:
            self._clear()
            raise ConfigError(NO_SCOPE)
        self.request = dataclasses.replace(self.request, scopes=self.scopes)
        self.url = _url(self.request, self.audience.value, self.prompt.value)
        self.notes = explain(self.url)
        self.findings = lint(
            self.url,
            registered_redirect_uri=self.registered_redirect_uri,
            operations=self.operations,
        )
        # Shown with `state` masked, and not as a link: the callback panel
        # (step 3) opens it, after its catcher listens, through the catcher's
        # `/start`, so that no widget state a notebook saves holds the state.
        shown = html.escape(masked_url(self.url))
        self.url_html.value = (
            f"<code style='word-break:break-all'>{shown}</code><br>"
            f"<span style='color:{GREY}'>{OPEN_LATER}</span>"
        )
        self.explanation_html.value = _notes_html(self.notes)
        self.lint_html.value = _findings_html(self.findings)

    def _changed(self, change: dict[str, Any]) -> None:
        self.update()

    def _clear(self) -> None:
        self.url = ""
        self.notes, self.findings = [], []
        self.url_html.value = f"<span style='color:{GREY}'>{NO_URL}</span>"
        self.explanation_html.value = self.lint_html.value = ""


def _checkboxes(chosen: tuple[str, ...]) -> dict[str, widgets.Checkbox]:
    """One checkbox per catalogue scope, then any chosen scope it lacks."""
    known = list(all_scopes())
    names = [s.name for s in known if s.family in TAB_FAMILIES]
    names += [name for name in OTHER_SCOPES if name not in names]
    names += [name for name in chosen if name not in names]
    descriptions = {s.name: s for s in known}
    return {
        name: _scope_box(name, name in chosen, descriptions.get(name)) for name in names
    }


def _scope_box(name: str, ticked: bool, scope: Scope | None) -> widgets.Checkbox:
    return widgets.Checkbox(
        value=ticked,
        description=name,
        indent=False,
        tooltip=scope.description if scope is not None else name,
        layout=widgets.Layout(width="auto", margin="0 12px 0 0"),
    )


def _toggle(description: str) -> widgets.Checkbox:
    return widgets.Checkbox(
        value=True,
        description=description,
        indent=False,
        layout=widgets.Layout(width="auto", margin="0 12px 0 0"),
    )


def _scope_tabs(checkboxes: dict[str, widgets.Checkbox]) -> widgets.Tab:
    families = {s.name: s.family for s in all_scopes()}
    pages = []
    for family in TAB_FAMILIES:
        boxes = [
            box for name, box in checkboxes.items() if families.get(name) == family
        ]
        pages.append(
            widgets.GridBox(
                boxes,
                layout=widgets.Layout(
                    grid_template_columns="repeat(auto-fill, minmax(260px, 1fr))",
                    max_height="16em",
                    overflow="auto",
                ),
            )
        )
    return widgets.Tab(children=pages, titles=TAB_TITLES)


def _url(request: AuthorizationRequest, audience: bool, prompt: bool) -> str:
    """The request's URL, without `audience` or `prompt` when they are unticked.

    Encoded as `AuthorizationRequest.url` encodes it (`%20` between scopes).
    """
    dropped = {
        n for n, keep in (("audience", audience), ("prompt", prompt)) if not keep
    }
    params = {k: v for k, v in request.params.items() if k not in dropped}
    return f"{request.endpoint}?{urlencode(params, quote_via=quote, safe=':/')}"


OPEN_LATER = (
    "To consent, pass <code>builder.request</code> to <code>CallbackPanel</code>: "
    "it listens for the answer first, then shows the link."
)


def _notes_html(notes: list[ParameterNote]) -> str:
    rows = [
        (
            Raw(f"<code>{prose(note.name)}</code>"),
            coloured("(missing)", GREY) if note.value is None else note.value,
            prose(note.meaning),
        )
        for note in notes
    ]
    return table(rows, ("parameter", "value", "what it does"))


def _findings_html(findings: list[Finding]) -> str:
    if not findings:
        return str(coloured("No problems found.", GREEN, bold=True))
    rows = [
        (
            badge(finding.severity, SEVERITY_COLOURS[finding.severity]),
            Raw(f"<code>{prose(finding.code)}</code>"),
            prose(finding.message),
            prose(finding.fix),
        )
        for finding in findings
    ]
    return table(rows, ("", "check", "what", "fix"))

"""A stand-in for the learner's browser on the sandbox's consent page.

`press` opens an authorization URL, chooses a site, presses Accept or Cancel,
and follows the redirect to the callback, as a person's browser would, so that
a notebook can run top to bottom without one (in tests, or when the browser
cannot reach the kernel). It presses buttons on the sandbox only: on Atlassian a
person consents, and nobody else may.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Literal
from urllib.parse import urljoin, urlsplit

import requests

from kit.config import is_loopback
from kit.errors import AuthorizationError, ExchangeRefusedError
from kit.hub import proxy_route
from kit.tokens import mask

Decision = Literal["accept", "cancel"]
TIMEOUT = (5.0, 10.0)
SANDBOX_MARK = "Atlassian 3LO sandbox"  # the sandbox's pages say so at the bottom


@dataclass(frozen=True)
class Landing:
    """Where the browser landed after consent, with secrets masked."""

    url: str
    status: int
    decision: Decision
    site: str


def press(
    authorization_url: str,
    decision: Decision = "accept",
    *,
    site: str | None = None,
) -> Landing:
    """Consent on the sandbox's page as a browser would, and land on the callback.

    `site` is the site's cloud id or name; the first offered one by default.
    Raises `AuthorizationError` with the page's own words when the sandbox
    shows an error page instead of the consent form.
    """
    _refuse_atlassian(authorization_url)
    with requests.Session() as browser:
        page = browser.get(authorization_url, timeout=TIMEOUT, allow_redirects=False)
        form = _consent_form(page)
        chosen = _choose(form, site) if decision == "accept" else ""
        fields = {**form.hidden, "decision": decision}
        if decision == "accept":
            fields["site"] = chosen
        action = urljoin(authorization_url, form.action)
        answer = browser.post(
            action, data=fields, timeout=TIMEOUT, allow_redirects=False
        )
        location = answer.headers.get("location", "")
        if answer.status_code not in {302, 303} or not location:
            raise AuthorizationError(_refused(answer))
        landed = _follow(browser, location)
    return Landing(_masked(location), landed, decision, chosen)


def _refuse_atlassian(url: str) -> None:
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith("atlassian.com") or host.endswith("atlassian.net"):
        raise ExchangeRefusedError(
            "The robot presses buttons on the sandbox only. On Atlassian, open the "
            "authorization URL in your browser and consent yourself."
        )


def _follow(browser: requests.Session, location: str) -> int:
    """GET the callback, if it is on this machine, as the browser would.

    A callback behind jupyter-server-proxy is taken straight to the catcher's
    port of `127.0.0.1`: the robot, in the kernel, is not signed in to the hub.
    """
    target, _, query = location.partition("?")
    route = proxy_route(target)
    if route is not None:
        location = route.loopback_uri + (f"?{query}" if query else "")
    if not is_loopback(location):
        return 0  # a callback elsewhere is not the kit's to visit
    try:
        return browser.get(location, timeout=TIMEOUT, allow_redirects=False).status_code
    except requests.ConnectionError:
        raise AuthorizationError(
            "Consent went through, but nothing listens at the callback URL "
            f"{_masked(location).split('?')[0]}. Start the callback catcher first "
            "(`CallbackCatcher(...).start()`), then authorize again."
        ) from None


@dataclass
class _Form:
    action: str = ""
    hidden: dict[str, str] = field(default_factory=dict)
    sites: list[tuple[str, str]] = field(default_factory=list)  # (value, label)


class _ConsentParser(HTMLParser):
    """Reads the consent form: its action, hidden fields and site choices."""

    def __init__(self) -> None:
        super().__init__()
        self.form: _Form | None = None
        self.text: list[str] = []
        self._label_for: str | None = None
        self._hidden_text = 0  # inside <style> or <script>, which are no words

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag in {"style", "script"}:
            self._hidden_text += 1
        elif tag == "form":
            self.form = _Form(action=values.get("action", ""))
        elif tag == "input" and self.form is not None:
            kind, name = values.get("type"), values.get("name", "")
            if kind == "hidden":
                self.form.hidden[name] = values.get("value", "")
            elif kind == "radio" and name == "site":
                self.form.sites.append((values.get("value", ""), ""))
                self._label_for = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"style", "script"} and self._hidden_text:
            self._hidden_text -= 1

    def handle_data(self, data: str) -> None:
        if self._hidden_text:
            return
        if data.strip():
            self.text.append(" ".join(data.split()))
        if self._label_for is not None and self.form and data.strip():
            value, _ = self.form.sites[-1]
            self.form.sites[-1] = (value, data.strip())
            self._label_for = None


def _consent_form(page: requests.Response) -> _Form:
    parser = _ConsentParser()
    parser.feed(page.text)
    if SANDBOX_MARK not in page.text:
        raise ExchangeRefusedError(
            "This is not the sandbox's page; the robot presses buttons there only."
        )
    if parser.form is None or "consent_id" not in parser.form.hidden:
        said = " ".join(parser.text)[:400]
        raise AuthorizationError(
            f"The sandbox showed an error page instead of the consent form "
            f"({page.status_code}): {said} `kit.diagnose(page_text)` explains it."
        )
    return parser.form


def _choose(form: _Form, site: str | None) -> str:
    if not form.sites:
        raise AuthorizationError(
            "The consent page offers no site for these scopes. Ask for scopes of "
            "a product the sites have (Confluence)."
        )
    if site is None:
        return form.sites[0][0]
    for value, label in form.sites:
        if site in {value, label} or site in label:
            return value
    offered = ", ".join(label or value for value, label in form.sites)
    raise AuthorizationError(
        f"No site {site!r} on the consent page; it offers {offered}."
    )


def _refused(answer: requests.Response) -> str:
    return (
        f"The sandbox did not take the consent ({answer.status_code}): "
        f"{answer.text[:200]}. Authorize again from a fresh URL."
    )


def _masked(url: str) -> str:
    parts = urlsplit(url)
    if not parts.query:
        return url
    shown = "&".join(
        f"{k}={mask(v)}" if k in {"code", "state"} else f"{k}={v}"
        for k, _, v in (piece.partition("=") for piece in parts.query.split("&"))
    )
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{shown}"

"""Helpers for the authorization endpoint's tests: apps, an HTML reader, assertions.

The apps are registered on top of the kit's own; the HTML reader uses the standard
library's `html.parser`; the assertions spell out "error page" and "redirect error"
as security-cases.md defines them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import requests
from sandbox_driver import DEFAULT_SCOPES, START_TIME, Flow

from kit.sandbox import App, Clock, Sandbox

# RFC 6749 section 4.1.2.1: error and error_description use %x20-21 / %x23-5B /
# %x5D-7E only.
ERROR_TEXT = re.compile(r"[\x20\x21\x23-\x5b\x5d-\x7e]*")

# What the extra apps configured: the driver's default scopes, bar offline_access.
APP_SCOPES = frozenset(DEFAULT_SCOPES.split()) - {"offline_access"}
WEB_APP = App(
    client_id="web-app",
    client_secret="web-app-secret",
    name="Web App",
    redirect_uris=("https://app.example.com/cb",),
    scopes=APP_SCOPES,
)
QUERY_APP = App(
    client_id="query-app",
    client_secret="query-app-secret",
    name="Query App",
    redirect_uris=("https://app.example.com/cb?tenant=7",),
    scopes=APP_SCOPES,
)
TWO_URI_APP = App(
    client_id="two-uri-app",
    client_secret="two-uri-app-secret",
    name="Two URI App",
    redirect_uris=("https://app.example.com/one", "https://app.example.com/two"),
    scopes=APP_SCOPES,
)
PORTLESS_LOOPBACK_APP = App(
    client_id="portless-loopback-app",
    client_secret="portless-secret",
    name="Portless Loopback App",
    redirect_uris=("http://127.0.0.1/cb",),
    scopes=APP_SCOPES,
)
PUBLIC_APP = App(
    client_id="public-app",
    client_secret="",
    name="Public App",
    redirect_uris=("http://127.0.0.1:8765/callback",),
    scopes=APP_SCOPES,
)
JIRA_APP = App(
    client_id="jira-app",
    client_secret="jira-app-secret",
    name="Jira App",
    redirect_uris=("https://app.example.com/cb",),
    scopes=frozenset({"read:jira-work"}),
)
HOSTILE_NAME = "<script>alert('name')</script> & \"Co\" <foo>bar</foo>"
HOSTILE_APP = App(
    client_id="hostile-app",
    client_secret="hostile-app-secret",
    name=HOSTILE_NAME,
    redirect_uris=("https://app.example.com/cb",),
    scopes=APP_SCOPES,
)
EXTRA_APPS = (
    WEB_APP,
    QUERY_APP,
    TWO_URI_APP,
    PORTLESS_LOOPBACK_APP,
    PUBLIC_APP,
    JIRA_APP,
    HOSTILE_APP,
)

# Every element the sandbox's own pages use; an injected tag would add another.
PAGE_TAGS = frozenset(
    {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "main",
        "h1",
        "p",
        "ul",
        "li",
        "code",
        "strong",
        "div",
        "form",
        "fieldset",
        "legend",
        "label",
        "input",
        "br",
        "button",
    }
)
_VOID = frozenset({"meta", "input", "br", "img", "link", "hr"})


class SandboxPool:
    """One running sandbox per profile for a test module, started on first use."""

    def __init__(self, apps: tuple[App, ...] = EXTRA_APPS) -> None:
        self._apps = apps
        self._running: dict[str, Sandbox] = {}

    def get(self, profile: str) -> Sandbox:
        """The module's sandbox of this profile, with the extra apps registered."""
        if profile not in self._running:
            server = Sandbox(profile, clock=Clock(frozen_at=START_TIME)).start()
            for app in self._apps:
                server.register_app(app)
            self._running[profile] = server
        return self._running[profile]

    def stop_all(self) -> None:
        """Stop every sandbox this pool started."""
        for server in self._running.values():
            server.stop()
        self._running.clear()


@dataclass
class Element:
    """One element of a parsed page: its tag, attributes, text and form."""

    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    form: int | None = None


class Page(HTMLParser):
    """An HTML page read with `html.parser`, its elements in document order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[tuple[Element, list[str]]] = []
        self._forms = 0
        self._in_form: int | None = None
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "form":
            self._in_form = self._forms
            self._forms += 1
        element = Element(tag, dict(attrs), form=self._in_form)
        self.elements.append(element)
        if tag not in _VOID:
            self._open.append((element, []))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = None
        while self._open:
            element, parts = self._open.pop()
            element.text = "".join(parts)
            if element.tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for _, parts in self._open:
            parts.append(data)

    def all(self, tag: str, **attrs: str) -> list[Element]:
        """Every element with this tag whose attributes include `attrs`."""
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag: str, **attrs: str) -> Element:
        """The single element with this tag and attributes."""
        found = self.all(tag, **attrs)
        assert len(found) == 1, f"{len(found)} <{tag}> elements match {attrs}"
        return found[0]

    @property
    def tags(self) -> set[str]:
        """The names of every element on the page."""
        return {e.tag for e in self.elements}

    @property
    def text(self) -> str:
        """The page's visible text (the body's)."""
        return self.one("body").text


def read_page(response: requests.Response) -> Page:
    """The page of an HTML response, parsed."""
    assert response.headers["content-type"].startswith("text/html")
    return Page(response.text)


def consent_id_of(page: Page) -> str:
    """The consent form's hidden single-use id (its CSRF token)."""
    value = page.one("input", name="consent_id").attrs["value"]
    assert value
    return value


def assert_page_headers(response: requests.Response) -> None:
    """The headers of security-cases 22: no framing, referrer, caching or CORS."""
    headers = response.headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["referrer-policy"] == "no-referrer"
    assert "no-store" in headers["cache-control"]
    assert not [name for name in headers if name.lower().startswith("access-control")]


def assert_error_page(response: requests.Response, *phrases: str) -> Page:
    """A 400 HTML page, no redirect, every phrase in its text as written."""
    assert response.status_code == 400, response.text[:300]
    assert "location" not in response.headers
    assert_page_headers(response)
    page = read_page(response)
    assert page.tags <= PAGE_TAGS
    for phrase in phrases:
        assert phrase in page.text
    return page


def query_pairs(response: requests.Response) -> list[tuple[str, str]]:
    """Every pair of the redirect's query, in order, decoded strictly."""
    query = urlsplit(response.headers["location"]).query
    return parse_qsl(query, keep_blank_values=True, errors="strict")


def assert_redirect_to(
    response: requests.Response, redirect_uri: str
) -> dict[str, str]:
    """A 302 to `redirect_uri` with unique parameters; they are returned."""
    assert response.status_code == 302, response.text[:300]
    location = response.headers["location"]
    assert location.startswith(redirect_uri + ("&" if "?" in redirect_uri else "?"))
    assert location.isascii() and location.isprintable() and " " not in location
    pairs = query_pairs(response)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"repeated parameters: {names}"
    return dict(pairs)


def assert_iss(params: dict[str, str], sandbox: Sandbox) -> None:
    """`iss` is the issuer in the rfc profile (RFC 9207) and absent on Atlassian."""
    if sandbox.settings.profile == "rfc":
        assert params["iss"] == sandbox.url
    else:
        assert "iss" not in params


def assert_redirect_error(
    flow: Flow,
    response: requests.Response,
    error: str,
    state: str | None = "state-1234",
    redirect_uri: str = "http://127.0.0.1:8765/callback",
) -> dict[str, str]:
    """A redirect error (security-cases section 2): `error`, exact `state`, no code."""
    params = assert_redirect_to(response, redirect_uri)
    assert params["error"] == error
    assert ERROR_TEXT.fullmatch(params.get("error_description", ""))
    assert "code" not in params
    assert params.get("state") == state
    assert_iss(params, flow.sandbox)
    return params

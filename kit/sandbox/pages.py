"""The HTML the sandbox shows a person: the consent page and error pages.

Everything echoed from a request is HTML-escaped, and every page carries the headers of
security-cases 22: no framing (RFC 9700 section 4.16), no referrer, no caching, and no
CORS. The pages load nothing from elsewhere.
"""

from __future__ import annotations

import functools
import json
from html import escape
from importlib import resources

from kit.sandbox.http import Response, html_response
from kit.sandbox.scenario import OFFLINE_ACCESS, App, Site

PAGE_HEADERS = [
    ("x-frame-options", "DENY"),
    (
        "content-security-policy",
        "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
        "base-uri 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
    ("pragma", "no-cache"),
    ("x-content-type-options", "nosniff"),
]

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#172b4d;margin:0}
main{max-width:34rem;margin:3rem auto;background:#fff;padding:2rem;
border-radius:8px;box-shadow:0 1px 3px rgba(9,30,66,.25)}
h1{font-size:1.3rem}ul{padding-left:1.2rem}li{margin:.3rem 0}
code{background:#f4f5f7;padding:0 .2rem}.sandbox{color:#6b778c;font-size:.85rem}
fieldset{border:1px solid #dfe1e6;border-radius:4px;margin:1rem 0}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:4px;
border:1px solid #0052cc;cursor:pointer}
.accept{background:#0052cc;color:#fff}.cancel{background:#fff;color:#0052cc}
.error{border-left:4px solid #de350b;padding-left:1rem}
"""


@functools.cache
def scope_descriptions() -> dict[str, str]:
    """Plain-words descriptions of Confluence scopes, extracted from the specs."""
    data = resources.files("kit.sandbox").joinpath("data/scopes.json").read_text()
    loaded = json.loads(data)
    table = loaded.get("scopes", loaded)
    return {str(k): str(v) for k, v in table.items()}


_OTHER_SCOPES = {
    OFFLINE_ACCESS: "Stay connected: keep access when you are not using the app "
    "(a refresh token).",
    "read:me": "View your profile: your name, email address and avatar.",
    "read:account": "View your account's public details.",
    "read:jira-work": "Read Jira project and issue data.",
    "read:jira-user": "View user information in Jira.",
}


def describe_scope(scope: str) -> str:
    """What a scope lets the app do, in plain words."""
    return _OTHER_SCOPES.get(scope) or scope_descriptions().get(scope) or scope


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}"
        "<p class='sandbox'>Atlassian 3LO sandbox: an offline emulator, not "
        "Atlassian.</p></main></body></html>"
    )


FIX_THE_URL = (
    "The app was not told about this error. Fix the authorization URL and start again."
)
GO_BACK = "Nothing was sent to the app. Go back to the consent page and try again."


def error_page(
    status: int, error: str, description: str, hint: str = FIX_THE_URL
) -> Response:
    """A page that stops the flow here: nothing is sent back to the app."""
    body = (
        "<h1>Something went wrong</h1><div class='error'>"
        f"<p><strong>{escape(error)}</strong></p><p>{escape(description)}</p></div>"
        f"<p>{escape(hint)}</p>"
    )
    return html_response(status, _page("Error", body), PAGE_HEADERS)


def consent_page(
    app: App, scopes: frozenset[str], sites: list[Site], consent_id: str
) -> Response:
    """The consent screen: the app, what it asks for, a site, Accept or Cancel."""
    items = "".join(
        f"<li><code>{escape(s)}</code>: {escape(describe_scope(s))}</li>"
        for s in sorted(scopes)
    )
    choices = "".join(
        "<label><input type='radio' name='site' required "
        f"value='{escape(site.cloud_id)}'> {escape(site.url)}</label><br>"
        for site in sites
    )
    body = (
        f"<h1>{escape(app.name)} is requesting access to your Atlassian account</h1>"
        f"<p>It would be allowed to:</p><ul id='scopes'>{items}</ul>"
        "<form method='post' action='/authorize/consent'>"
        f"<input type='hidden' name='consent_id' value='{escape(consent_id)}'>"
        f"<fieldset><legend>Choose a site</legend>{choices}</fieldset>"
        "<button class='accept' type='submit' name='decision' value='accept'>"
        "Accept</button>"
        "<button class='cancel' type='submit' name='decision' value='cancel' "
        "formnovalidate>Cancel</button></form>"
    )
    return html_response(200, _page(f"Authorize {app.name}", body), PAGE_HEADERS)

"""The small page the callback catcher shows in the browser after consent.

Step 3 of the flow, the browser's side: the page says what happened and sends the
person back to the notebook. It loads nothing from anywhere (RFC 6749 section
3.1.2.5), never shows the code, and asks the browser to keep no copy of it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from http import HTTPStatus

# Every answer of the catcher carries these (security cases 92 and 93): no
# Referer leaves this page, nothing is cached, nothing loads, nothing frames it.
PAGE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/html; charset=utf-8"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
    ("Referrer-Policy", "no-referrer"),
    (
        "Content-Security-Policy",
        "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
        "form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Connection", "close"),
)

GO_BACK = "Go back to the notebook to continue."


@dataclass(frozen=True)
class Page:
    """One answer of the catcher: its status, a title and a few sentences."""

    status: int
    title: str
    lines: tuple[str, ...]

    def render(self) -> bytes:
        """The page as UTF-8 HTML; every line is HTML-escaped."""
        paragraphs = "\n".join(f"<p>{html.escape(line)}</p>" for line in self.lines)
        return _TEMPLATE.format(
            title=html.escape(self.title), paragraphs=paragraphs
        ).encode("utf-8")

    @property
    def reason(self) -> str:
        """The status line's reason phrase, such as `Not Found`."""
        return HTTPStatus(self.status).phrase


_TEMPLATE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 36em; margin: 4em auto;
       padding: 0 1em; line-height: 1.5; color: #172b4d; }}
h1 {{ font-size: 1.4em; }}
</style>
</head>
<body>
<h1>{title}</h1>
{paragraphs}
</body>
</html>
"""


def caught_page() -> Page:
    """The code arrived: the person goes back to the notebook."""
    return Page(
        200,
        "Done: go back to the notebook",
        (
            "The notebook received the answer from the consent page.",
            "You can close this tab and go back to the notebook.",
        ),
    )


def declined_page(description: str | None) -> Page:
    """The person pressed Cancel (`error=access_denied`)."""
    lines = ["You declined, so the app was given no access."]
    if description:
        lines.append(f"The authorization server said: {description}")
    lines.append("Go back to the notebook: you can start again from there.")
    return Page(200, "You declined", tuple(lines))


def error_page(error: str, description: str | None, error_uri: str | None) -> Page:
    """The authorization server answered with another OAuth error."""
    lines = [f"The authorization server answered with the error {error}."]
    if description:
        lines.append(f"It said: {description}")
    if error_uri:
        lines.append(f"It points to more information at: {error_uri}")
    lines.append(GO_BACK)
    return Page(200, "The sign-in did not complete", tuple(lines))


def already_page() -> Page:
    """A second hit of a sign-in that already finished (a reload, say)."""
    return Page(
        200,
        "Already completed",
        (
            "This sign-in already finished; loading the page again changes nothing.",
            "You can close this tab and go back to the notebook.",
        ),
    )


def rejected_page(reason: str) -> Page:
    """A callback the catcher turned away: wrong `state`, unreadable query."""
    return Page(
        400,
        "This is not the answer the notebook is waiting for",
        (
            reason,
            "Nothing was sent to the authorization server.",
            "Go back to the notebook and open the newest authorization link.",
        ),
    )


def issuer_page() -> Page:
    """The answer names another authorization server (RFC 9207)."""
    return Page(
        400,
        "Unexpected authorization server",
        (
            "This answer says it comes from another authorization server than "
            "the one the notebook used (its iss parameter).",
            "The notebook stopped this sign-in and sent nothing anywhere.",
            "Go back to the notebook and start again.",
        ),
    )


def status_page(status: int, explanation: str) -> Page:
    """A plain HTTP error (404, 405, 400, 414...) with one explanation."""
    return Page(status, HTTPStatus(status).phrase, (explanation, GO_BACK))

"""The check of `02-authorization-url`: a URL that draws nothing from `kit.lint`."""

from __future__ import annotations

from typing import Any

from kit.authorize import lint, parse_authorization_url
from kit.config import ClientConfig
from kit.course.checks import Result, is_done, not_done, result
from kit.errors import ConfigError

TITLE = "Exercise: a clean authorization URL"
OPERATIONS = ("v2 pages", "v1 search")


def clean(my_url: Any, config: ClientConfig) -> Result:
    """Whether `my_url` is the app's URL, reaches both calls, and lints clean."""
    if not is_done(my_url):
        return not_done(TITLE, "my_url")
    if not isinstance(my_url, str):
        hint = "`my_url` is the URL itself, a string: `request.url`."
        return result(TITLE, [(False, hint)])
    findings = lint(
        my_url, registered_redirect_uri=config.redirect_uri, operations=OPERATIONS
    )
    try:
        params = parse_authorization_url(my_url)
    except ConfigError as exc:
        return result(TITLE, [(False, f"`my_url` cannot be read: {exc}")])
    scopes = " ".join(params.get("scope", [""])).split()
    serious = [f for f in findings if f.severity in {"error", "warning"}]
    points = [
        (
            params.get("client_id") == [config.client_id],
            "It names the course's app in `client_id`.",
        ),
        ("offline_access" in scopes, "It asks for `offline_access`: a refresh token."),
        (
            not any(f.code == "scopes-cannot-reach" for f in findings),
            "Its scopes reach v2 `pages` and v1 `search`.",
        ),
        (
            not serious,
            "`kit.lint` finds no error or warning"
            + ("." if not serious else ": " + "; ".join(f.code for f in serious)),
        ),
    ]
    return result(TITLE, points)

"""The check of `01-register-an-app`: settings that put the kit in live mode."""

from __future__ import annotations

from typing import Any

from kit import config as settings
from kit.course.checks import Result, is_done, not_done, result
from kit.errors import ConfigError

TITLE = "Exercise: your app's settings"
CALLBACK = "http://localhost:8765/callback"


def live(my_settings: Any) -> Result:
    """Whether `my_settings` (a dict of variables) gives a live-mode config."""
    if not is_done(my_settings):
        return not_done(TITLE, "my_settings")
    if not isinstance(my_settings, dict):
        hint = "`my_settings` is a dict: variable names to values."
        return result(TITLE, [(False, hint)])
    names = set(settings.CLIENT_VARIABLES)
    try:
        config = settings.load(env_file=None, environ=my_settings)
    except ConfigError as exc:
        return result(TITLE, [(False, f"`kit.config.load` refuses them: {exc}")])
    return result(
        TITLE,
        [
            (names <= set(my_settings), "All three variables are there."),
            (config.mode == "live", "They put the kit in live mode."),
            (
                config.redirect_uri == CALLBACK,
                f"The callback URL is exactly `{CALLBACK}`.",
            ),
        ],
    )

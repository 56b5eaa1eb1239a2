"""An offline Atlassian: `auth.atlassian.com`, `api.atlassian.com` and Confluence.

`Sandbox` runs it in a background thread on `127.0.0.1` and a free port;
`python -m kit.sandbox` runs it in the foreground, for a workshop room. It shares no
code with the kit's client side, so that each can catch the other's mistakes.
"""

from __future__ import annotations

from kit.sandbox.clock import Clock
from kit.sandbox.scenario import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    App,
)
from kit.sandbox.server import Sandbox
from kit.sandbox.settings import PROFILES, Settings

__all__ = [
    "PROFILES",
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_REDIRECT_URI",
    "App",
    "Clock",
    "Sandbox",
    "Settings",
]

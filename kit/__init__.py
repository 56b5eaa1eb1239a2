"""A small library for learning Atlassian Cloud's OAuth 2.0 (3LO) flow.

The names below are what a learner types, step by step: `load_config`, then
`new_authorization_request`, `CallbackCatcher`, `exchange_code`, `TokenStore`,
`accessible_resources` and `Confluence`, `refresh_access_token`, and `diagnose`
when something fails. `kit.sandbox` is the offline Atlassian. Importing `kit`
stays light: each name loads its module on first use, and nothing imports
Jupyter, widgets or the sandbox's server until they are used.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING, Any

from kit.redact import protect_library_logs

if TYPE_CHECKING:
    from kit.authorize import (
        AuthorizationRequest,
        build_authorization_url,
        explain,
        lint,
        new_authorization_request,
    )
    from kit.callback import CallbackCatcher, parse_redirected_url
    from kit.config import load as load_config
    from kit.confluence import Confluence, accessible_resources, me, pick_site
    from kit.doctor import diagnose
    from kit.errors import KitError
    from kit.exchange import exchange_code, refresh_access_token
    from kit.record import HISTORY
    from kit.sandbox import Sandbox
    from kit.scopes import explain_operation, scopes_for
    from kit.store import TokenStore
    from kit.tokens import Secret, TokenSet

__version__ = "0.1.0"

# Each public name and the module it lives in, loaded on first use (PEP 562).
_EXPORTS: dict[str, tuple[str, str]] = {
    "load_config": ("kit.config", "load"),
    "AuthorizationRequest": ("kit.authorize", "AuthorizationRequest"),
    "new_authorization_request": ("kit.authorize", "new_authorization_request"),
    "build_authorization_url": ("kit.authorize", "build_authorization_url"),
    "explain": ("kit.authorize", "explain"),
    "lint": ("kit.authorize", "lint"),
    "CallbackCatcher": ("kit.callback", "CallbackCatcher"),
    "parse_redirected_url": ("kit.callback", "parse_redirected_url"),
    "exchange_code": ("kit.exchange", "exchange_code"),
    "refresh_access_token": ("kit.exchange", "refresh_access_token"),
    "TokenSet": ("kit.tokens", "TokenSet"),
    "Secret": ("kit.tokens", "Secret"),
    "TokenStore": ("kit.store", "TokenStore"),
    "accessible_resources": ("kit.confluence", "accessible_resources"),
    "pick_site": ("kit.confluence", "pick_site"),
    "me": ("kit.confluence", "me"),
    "Confluence": ("kit.confluence", "Confluence"),
    "scopes_for": ("kit.scopes", "scopes_for"),
    "explain_operation": ("kit.scopes", "explain_operation"),
    "diagnose": ("kit.doctor", "diagnose"),
    "HISTORY": ("kit.record", "HISTORY"),
    "KitError": ("kit.errors", "KitError"),
    "Sandbox": ("kit.sandbox", "Sandbox"),
}

__all__ = [
    "HISTORY",
    "AuthorizationRequest",
    "CallbackCatcher",
    "Confluence",
    "KitError",
    "Sandbox",
    "Secret",
    "TokenSet",
    "TokenStore",
    "__version__",
    "accessible_resources",
    "build_authorization_url",
    "diagnose",
    "exchange_code",
    "explain",
    "explain_operation",
    "lint",
    "load_config",
    "me",
    "new_authorization_request",
    "parse_redirected_url",
    "pick_site",
    "refresh_access_token",
    "scopes_for",
]

logging.getLogger(__name__).addHandler(logging.NullHandler())

# From the first import on, the DEBUG lines of requests-oauthlib, oauthlib and
# urllib3 show secrets masked (case 103). No library is imported for it.
protect_library_logs()


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        return _submodule(name)
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value
    return value


def _submodule(name: str) -> Any:
    """`kit.tracebacks`, `kit.scopes`...: a part of the kit, imported when named."""
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as missing:
        if missing.name != f"{__name__}.{name}":
            raise
        raise AttributeError(f"module 'kit' has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})

"""The check of `05-exchange`: were tokens that can be refreshed saved, owner-only?

It reads the token file the way the kit does, after looking at its mode (a load
would quietly fix a file readable by others), and shows only fingerprints.
"""

from __future__ import annotations

import stat
from typing import Any

from kit.authorize import AuthorizationRequest
from kit.course.checks import Result, is_done, not_done, result
from kit.errors import KitError
from kit.store import FILE_MODE, TokenStore
from kit.tokens import TokenSet

TITLE = "Exercise: tokens that can be refreshed"
OFFLINE_ACCESS = "offline_access"


def saved(
    my_tokens: Any, my_request: AuthorizationRequest, store: TokenStore
) -> Result:
    """Whether `my_tokens` answer `my_request`, hold a refresh token, and are saved."""
    if not is_done(my_tokens):
        return not_done(TITLE, "my_tokens")
    if not isinstance(my_tokens, TokenSet):
        kind = type(my_tokens).__name__
        hint = f"`my_tokens` is a {kind}; keep what `kit.exchange_code` returns."
        return result(TITLE, [(False, hint)])
    mode = _mode(store)
    try:
        stored = store.load()
    except KitError as exc:
        return result(TITLE, [(False, f"The token file cannot be read: {exc}")])
    on_file = None if stored is None else stored.tokens
    return result(
        TITLE,
        [
            (True, "`my_tokens` is a `TokenSet`: the exchange worked."),
            _asked_offline(my_request),
            _refreshable(my_tokens),
            _same(my_tokens, on_file, store),
            _owner_only(mode),
            _scopes(my_request, on_file),
        ],
    )


def _mode(store: TokenStore) -> int | None:
    try:
        return stat.S_IMODE(store.path.stat().st_mode)
    except OSError:
        return None


def _asked_offline(request: AuthorizationRequest) -> tuple[bool, str]:
    if OFFLINE_ACCESS in request.scopes:
        return True, "`my_request` asks for `offline_access`."
    return False, "Add `offline_access` to the scopes of `my_request`."


def _refreshable(tokens: TokenSet) -> tuple[bool, str]:
    if tokens.refresh_token is not None:
        return True, "A refresh token came with them."
    return False, (
        "No refresh token came: the code must answer a request with "
        "`offline_access`. Consent again with `my_request`."
    )


def _same(
    tokens: TokenSet, on_file: TokenSet | None, store: TokenStore
) -> tuple[bool, str]:
    if on_file is None:
        return False, f"Nothing is saved at {store.path}: call `course.store.save`."
    if on_file.access_token == tokens.access_token:
        return True, "The token file holds `my_tokens`."
    return False, (
        "The token file holds other tokens: save `my_tokens` with "
        "`course.store.save(my_tokens)`, after the exchange."
    )


def _owner_only(mode: int | None) -> tuple[bool, str]:
    if mode == FILE_MODE:
        return True, "Only you may read the file (mode 0o600)."
    shown = "missing" if mode is None else oct(mode)
    return False, (
        f"The token file's mode is {shown}, not 0o600: save with `TokenStore`, "
        "which writes the file owner-only."
    )


def _scopes(
    request: AuthorizationRequest, on_file: TokenSet | None
) -> tuple[bool, str]:
    saved_scopes = set() if on_file is None else set(on_file.scope)
    missing = [s for s in request.scopes if s not in saved_scopes]
    if not missing:
        return True, "The saved tokens hold every scope `my_request` asked for."
    listed = ", ".join(f"`{s}`" for s in missing)
    return False, f"The saved tokens lack {listed}: save the tokens of `my_request`."

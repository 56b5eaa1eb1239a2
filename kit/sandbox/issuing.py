"""Issuing an access token, and a refresh token when `offline_access` was granted.

Called with the store's lock held, by the code exchange (which starts a refresh-token
family) and by a refresh (which continues one). The token response is the one facts 2.2
describes: `access_token`, `expires_in`, `token_type`, `scope`, and `refresh_token`
only with `offline_access`.
"""

from __future__ import annotations

from typing import Any

from kit.sandbox.context import Context
from kit.sandbox.scenario import OFFLINE_ACCESS
from kit.sandbox.store import AccessRecord, Family, Grant, RefreshRecord


def issue_tokens(
    ctx: Context,
    client_id: str,
    grant: Grant,
    scopes: frozenset[str],
    family: Family | None,
) -> tuple[dict[str, Any], list[str], Family | None]:
    """Mint and record new tokens; return the body, their hashes and the family."""
    store, now, settings = ctx.store, ctx.now(), ctx.settings
    lifetime = settings.access_token_lifetime
    access_token = ctx.minter.access_token(
        client_id, grant.account_id, scopes, now, lifetime
    )
    access_hash = store.digest(access_token)
    body: dict[str, Any] = {
        "access_token": access_token,
        "expires_in": int(lifetime),
        "token_type": "Bearer",
        "scope": " ".join(sorted(scopes)),
    }
    if family is None and OFFLINE_ACCESS in scopes:
        family = _start_family(ctx, client_id, grant, scopes, now)
    store.access[access_hash] = AccessRecord(
        grant_id=grant.grant_id,
        client_id=client_id,
        scopes=scopes,
        expires_at=now + lifetime,
        family_id=family.family_id if family else None,
    )
    hashes = [access_hash]
    if family is not None:
        refresh_token = ctx.minter.refresh_token(client_id, grant.account_id, now)
        refresh_hash = store.digest(refresh_token)
        store.refresh[refresh_hash] = RefreshRecord(family.family_id, issued_at=now)
        family.refresh_hashes.append(refresh_hash)
        family.access_hashes.append(access_hash)
        body["refresh_token"] = refresh_token
        hashes.append(refresh_hash)
    return body, hashes, family


def _start_family(
    ctx: Context, client_id: str, grant: Grant, scopes: frozenset[str], now: float
) -> Family:
    family = Family(
        family_id=ctx.minter.opaque(),
        grant_id=grant.grant_id,
        client_id=client_id,
        scopes=scopes,
        created_at=now,
    )
    ctx.store.families[family.family_id] = family
    return family

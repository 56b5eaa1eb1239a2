"""Everything the sandbox remembers: apps, grants, codes, tokens and their families.

Codes and tokens are kept only as keyed hashes (HMAC-SHA256), as a real authorization
server should (RFC 6819 section 5.1.4.1.3): the store can check a presented value but
never give one back. Used codes stay as consumed records, so that a reuse can revoke
what the first exchange issued. One lock guards every change, so that twenty clients
redeeming one code at once see exactly one success.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field, replace

from kit.sandbox.scenario import App


def new_key() -> bytes:
    """A fresh 256-bit key for hashing and signing."""
    return secrets.token_bytes(32)


@dataclass
class Grant:
    """One user's consent to one app: the sites chosen and the scopes last agreed."""

    grant_id: str
    client_id: str
    account_id: str
    scopes: frozenset[str]
    cloud_ids: list[str]
    created_at: float
    revoked: bool = False


@dataclass
class PendingConsent:
    """An authorization request waiting for the user to press Accept or Cancel."""

    consent_id: str
    client_id: str
    redirect_uri: str
    scopes: frozenset[str]
    state: str | None
    code_challenge: str | None
    expires_at: float
    used: bool = False


@dataclass
class CodeRecord:
    """An authorization code, known only by its hash, bound to client and URI."""

    client_id: str
    redirect_uri: str
    grant_id: str
    scopes: frozenset[str]
    code_challenge: str | None
    issued_at: float
    expires_at: float
    consumed_at: float | None = None
    issued_token_hashes: list[str] = field(default_factory=list)
    family_id: str | None = None


@dataclass
class AccessRecord:
    """An access token's hash, with what it may reach and until when."""

    grant_id: str
    client_id: str
    scopes: frozenset[str]
    expires_at: float
    family_id: str | None = None
    revoked: bool = False


@dataclass
class RefreshRecord:
    """One refresh token of a rotating family."""

    family_id: str
    issued_at: float
    used_at: float | None = None


@dataclass
class Family:
    """The chain of refresh tokens that one code exchange started (facts 3)."""

    family_id: str
    grant_id: str
    client_id: str
    scopes: frozenset[str]
    created_at: float
    refresh_hashes: list[str] = field(default_factory=list)
    access_hashes: list[str] = field(default_factory=list)
    revoked: bool = False
    revoked_reason: str = ""


class Store:
    """The sandbox's state, guarded by one re-entrant lock (`store.lock`)."""

    def __init__(self, key: bytes | None = None) -> None:
        self.lock = threading.RLock()
        self._key = key or new_key()
        self.apps: dict[str, App] = {}
        self.secret_digests: dict[str, str] = {}
        self.grants: dict[tuple[str, str], Grant] = {}
        self.consents: dict[str, PendingConsent] = {}
        self.codes: dict[str, CodeRecord] = {}
        self.access: dict[str, AccessRecord] = {}
        self.refresh: dict[str, RefreshRecord] = {}
        self.families: dict[str, Family] = {}
        self.failed_auth: dict[str, deque[float]] = {}
        self.api_calls: dict[str, deque[float]] = {}

    def digest(self, value: str) -> str:
        """The keyed hash under which a code or token is stored."""
        mac = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), "sha256")
        return mac.hexdigest()

    def register_app(self, app: App) -> None:
        """Add or replace an app, as the developer console would.

        Only a hash of the client secret is kept; the app record loses it.
        """
        with self.lock:
            self.secret_digests[app.client_id] = self.digest(app.client_secret)
            self.apps[app.client_id] = replace(app, client_secret="")

    def check_secret(self, client_id: str, presented: str) -> bool:
        """Whether `presented` is this client's secret, compared in constant time."""
        expected = self.secret_digests.get(client_id, "")
        return hmac.compare_digest(expected, self.digest(presented)) and bool(expected)

    def grant_by_id(self, grant_id: str) -> Grant | None:
        """The grant with this id, or None."""
        for grant in self.grants.values():
            if grant.grant_id == grant_id:
                return grant
        return None

    def revoke_family(self, family_id: str, reason: str, *, access: bool) -> None:
        """Disable every refresh token of a family, and its access tokens if asked."""
        with self.lock:
            family = self.families.get(family_id)
            if family is None:
                return
            family.revoked = True
            family.revoked_reason = family.revoked_reason or reason
            if access:
                for token_hash in family.access_hashes:
                    record = self.access.get(token_hash)
                    if record is not None:
                        record.revoked = True

    def revoke_grant(self, client_id: str, account_id: str) -> bool:
        """The user removes the app from Connected apps: every token dies."""
        with self.lock:
            grant = self.grants.pop((client_id, account_id), None)
            if grant is None:
                return False
            grant.revoked = True
            for record in self.access.values():
                if record.grant_id == grant.grant_id:
                    record.revoked = True
            for family in self.families.values():
                if family.grant_id == grant.grant_id:
                    family.revoked = True
                    family.revoked_reason = "the user revoked the app"
            return True

    def sweep(self, now: float, keep_consumed_for: float) -> int:
        """Forget records that can no longer matter; return how many went.

        A consumed code is kept for `keep_consumed_for` seconds after it expired, so
        that a late reuse is still recognised; expired access tokens and dead
        families go once nothing can present them successfully.
        """
        removed = 0
        with self.lock:
            for key in [
                k
                for k, c in self.codes.items()
                if c.expires_at + keep_consumed_for < now
            ]:
                del self.codes[key]
                removed += 1
            for key in [k for k, c in self.consents.items() if c.expires_at < now]:
                del self.consents[key]
                removed += 1
            for key in [k for k, a in self.access.items() if a.expires_at < now]:
                del self.access[key]
                removed += 1
            removed += self._sweep_families(now)
        return removed

    def _sweep_families(self, now: float) -> int:
        removed = 0
        dead = [f for f in self.families.values() if f.revoked and not f.access_hashes]
        for family in dead:
            for token_hash in family.refresh_hashes:
                self.refresh.pop(token_hash, None)
            del self.families[family.family_id]
            removed += 1
        for family in self.families.values():
            family.access_hashes = [h for h in family.access_hashes if h in self.access]
        return removed

"""Everything the sandbox remembers: apps, grants, codes, tokens and their families.

Codes and tokens are kept only as keyed hashes (HMAC-SHA256), as a real authorization
server should (RFC 6819 section 5.1.4.1.3): the store can check a presented value but
never give one back. Used codes stay as consumed records, so that a reuse can revoke
what the first exchange issued. One lock guards every change, so that twenty clients
redeeming one code at once see exactly one success. `sweep` forgets what can no
longer matter, so that memory stays bounded however long a workshop runs.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TypeVar

from kit.sandbox.scenario import App

_Record = TypeVar("_Record")


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
    state: str | None = field(repr=False)  # the client's CSRF value: never shown
    code_challenge: str | None
    expires_at: float
    used: bool = False
    redirect_uri_sent: bool = True  # False when the rfc profile filled it in


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
    redirect_uri_sent: bool = True  # RFC 6749 4.1.3: then the exchange may omit it


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


@dataclass(frozen=True)
class Retention:
    """How long `Store.sweep` keeps records that no longer work.

    `margin` seconds after a code, a consent or an access token stops working, it
    goes (a consumed code stays while anything it issued is still kept, so that a
    late reuse can revoke it). A refresh-token family, revoked or not, stays until
    `family_margin` seconds after its absolute limit, so that its tokens keep the
    answer of a dead token rather than that of one never issued.
    """

    refresh_absolute_limit: float
    margin: float = 3600.0
    family_margin: float = 30 * 86400.0


# A sweep runs once the store has grown to twice its size after the last sweep (and
# at least this size), or once the clock has moved a minute past the last sweep.
SWEEP_MIN_SIZE = 1024
SWEEP_EVERY = 60.0
# While serving, a sweep goes a few records per request (`sweep_step`), so that no
# request waits for a sweep of the whole store: its cost is spread, not saved.
SWEEP_STEP = 256
# Failed client authentications (token.py) are counted over a sliding minute, and
# so are API calls (gateway.py): a window whose last entry is older is empty.
FAILURE_WINDOW = 60.0


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
        self._swept_at: float | None = None
        self._size_after_sweep = 0
        # A sweep under way: each kind of record with the keys still to look at.
        self._pending: deque[tuple[str, list[str]]] = deque()

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

    def size(self) -> int:
        """How many records of passing things (codes, tokens...) the store holds."""
        return (
            len(self.consents)
            + len(self.codes)
            + len(self.access)
            + len(self.refresh)
            + len(self.families)
            + len(self.failed_auth)
            + len(self.api_calls)
        )

    def sweep_due(self, now: float) -> bool:
        """Whether the store doubled, or the clock moved a minute, since a sweep.

        Cheap enough to ask on every request: a doubling schedule keeps the cost of
        sweeping proportional to the number of writes.
        """
        if self._swept_at is None or now - self._swept_at >= SWEEP_EVERY:
            return True
        return self.size() >= max(SWEEP_MIN_SIZE, 2 * self._size_after_sweep)

    def sweep(self, now: float, retention: Retention) -> int:
        """Forget records that can no longer matter; return how many went.

        See `Retention` for how long each kind of record is kept once it stops
        working. Grants and apps are never swept.
        """
        with self.lock:
            margin = retention.margin
            removed = self._sweep_families(now, retention)
            removed += _drop(self.access, now, lambda a: a.expires_at + margin)
            self._prune_family_access()
            removed += _drop(self.consents, now, lambda c: c.expires_at + margin)
            removed += _drop(
                self.codes, now, lambda c: self._code_kept_until(c, retention)
            )
            removed += _drop_windows(self.failed_auth, now - FAILURE_WINDOW)
            removed += _drop_windows(self.api_calls, now - FAILURE_WINDOW)
            self._swept_at = now
            self._size_after_sweep = self.size()
            self._pending.clear()
        return removed

    def sweep_step(
        self, now: float, retention: Retention, budget: int = SWEEP_STEP
    ) -> int:
        """Go on with a sweep, or start one when due, looking at `budget` records.

        Forgets what `sweep` would forget, a few records at a time: the keys
        are taken when the sweep starts, and each is judged when its turn comes.
        Returns how many records went in this step.
        """
        with self.lock:
            if not self._pending:
                if not self.sweep_due(now):
                    return 0
                self._start_sweep(now)
            removed = 0
            while budget > 0 and self._pending:
                kind, keys = self._pending[0]
                while budget > 0 and keys:
                    removed += self._judge(kind, keys.pop(), now, retention)
                    budget -= 1
                if not keys:
                    self._pending.popleft()
            if not self._pending:
                self._size_after_sweep = self.size()
            return removed

    def _start_sweep(self, now: float) -> None:
        self._swept_at = now
        self._pending = deque(
            (kind, list(records))
            for kind, records in (
                ("families", self.families),
                ("access", self.access),
                ("consents", self.consents),
                ("codes", self.codes),
                ("failed_auth", self.failed_auth),
                ("api_calls", self.api_calls),
            )
            if records
        )

    def _judge(self, kind: str, key: str, now: float, retention: Retention) -> int:
        """Forget one record if `sweep` would; 1 if it went, else 0."""
        if kind == "families":
            return self._judge_family(key, now, retention)
        if kind == "failed_auth":
            return _judge_window(self.failed_auth, key, now)
        if kind == "api_calls":
            return _judge_window(self.api_calls, key, now)
        if kind == "codes":
            code = self.codes.get(key)
            kept = None if code is None else self._code_kept_until(code, retention)
            return _judge_record(self.codes, key, kept, now)
        if kind == "access":
            token = self.access.get(key)
            kept = None if token is None else token.expires_at + retention.margin
            return _judge_record(self.access, key, kept, now)
        consent = self.consents.get(key)
        kept = None if consent is None else consent.expires_at + retention.margin
        return _judge_record(self.consents, key, kept, now)

    def _judge_family(self, key: str, now: float, retention: Retention) -> int:
        family = self.families.get(key)
        if family is None:
            return 0
        limit = retention.refresh_absolute_limit + retention.family_margin
        if family.created_at + limit < now:
            for token_hash in family.refresh_hashes:
                self.refresh.pop(token_hash, None)
            del self.families[key]
            return 1
        family.access_hashes = [h for h in family.access_hashes if h in self.access]
        return 0

    def _code_kept_until(self, code: CodeRecord, retention: Retention) -> float:
        """A code goes after its expiry, unless what it issued is still kept."""
        issued_kept = (
            code.family_id is not None and code.family_id in self.families
        ) or any(h in self.access for h in code.issued_token_hashes)
        return float("inf") if issued_kept else code.expires_at + retention.margin

    def _sweep_families(self, now: float, retention: Retention) -> int:
        limit = retention.refresh_absolute_limit + retention.family_margin
        gone = [f for f in self.families.values() if f.created_at + limit < now]
        for family in gone:
            for token_hash in family.refresh_hashes:
                self.refresh.pop(token_hash, None)
            del self.families[family.family_id]
        return len(gone)

    def _prune_family_access(self) -> None:
        for family in self.families.values():
            family.access_hashes = [h for h in family.access_hashes if h in self.access]


def _drop(
    records: dict[str, _Record], now: float, kept_until: Callable[[_Record], float]
) -> int:
    """Delete the records whose `kept_until` time has passed; return how many."""
    gone = [key for key, record in records.items() if kept_until(record) < now]
    for key in gone:
        del records[key]
    return len(gone)


def _judge_record(
    records: dict[str, _Record], key: str, kept_until: float | None, now: float
) -> int:
    if kept_until is None or kept_until >= now:
        return 0
    del records[key]
    return 1


def _judge_window(windows: dict[str, deque[float]], key: str, now: float) -> int:
    times = windows.get(key)
    if times is None or (times and times[-1] > now - FAILURE_WINDOW):
        return 0
    del windows[key]
    return 1


def _drop_windows(windows: dict[str, deque[float]], cutoff: float) -> int:
    """Delete the sliding windows whose every entry is at or before `cutoff`."""
    gone = [key for key, times in windows.items() if not times or times[-1] <= cutoff]
    for key in gone:
        del windows[key]
    return len(gone)

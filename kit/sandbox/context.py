"""What every handler of the sandbox can reach: the store, the clock, the settings.

One `Context` lives as long as one sandbox. Settings are swapped whole (they are
frozen), so a handler always reads one consistent set even while a lesson changes them.
Reading the time is also the store's heartbeat: `now()` sweeps it when a sweep is due.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from kit.sandbox.clock import Clock
from kit.sandbox.confluence import ConfluenceApi
from kit.sandbox.minting import Minter
from kit.sandbox.scenario import SITES, USER, App, Site, User
from kit.sandbox.settings import Settings
from kit.sandbox.store import Retention, Store, new_key

logger = logging.getLogger("kit.sandbox")

# The issuer used when the sandbox does not know its own address yet.
DEFAULT_ISSUER = "http://127.0.0.1"


@dataclass
class Context:
    """The sandbox's state and collaborators, shared by all handlers."""

    settings: Settings
    clock: Clock
    store: Store
    minter: Minter
    user: User = USER
    sites: tuple[Site, ...] = SITES
    allow_remote_admin: bool = False
    _confluence: ConfluenceApi | None = field(default=None, repr=False)
    # The clock's offset at the last sweep: an `advance()` makes a sweep due.
    _offset_swept: float = field(default=0.0, repr=False)

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        clock: Clock | None = None,
        apps: tuple[App, ...] = (),
        issuer: str = DEFAULT_ISSUER,
    ) -> Context:
        """A fresh sandbox state with the given apps registered.

        The store's hashing key and the minter's signing key are distinct, so that
        neither use can help an attack on the other.
        """
        store = Store(new_key())
        for app in apps:
            store.register_app(app)
        return cls(
            settings=settings or Settings(),
            clock=clock or Clock(),
            store=store,
            minter=Minter(new_key(), issuer),
        )

    @property
    def issuer(self) -> str:
        """The authorization server's issuer identifier (RFC 9207)."""
        return self.minter.issuer

    @property
    def confluence(self) -> ConfluenceApi:
        """The emulated Confluence, built on first use (its content takes a moment)."""
        if self._confluence is None:
            self._confluence = ConfluenceApi(self.sites, self.user)
        return self._confluence

    def site(self, cloud_id: str) -> Site | None:
        """The site with this cloud id, or None."""
        for site in self.sites:
            if site.cloud_id == cloud_id:
                return site
        return None

    def now(self) -> float:
        """The sandbox's current time; sweeps the store first when one is due.

        Every handler that writes reads the time first, so this is where the store
        learns that the clock was advanced (a whole sweep, at once), or that a
        minute passed or that it grew (`Store.sweep_due`: a sweep a few records
        per request, `Store.sweep_step`). A sweep only forgets records that
        stopped working a margin ago (see `Retention`), so it cannot change the
        answer to a request in flight.
        """
        now = self.clock.now()
        if self.clock.offset != self._offset_swept:
            self.sweep(now)  # the clock jumped: forget the newly dead at once
        else:
            retention = Retention(self.settings.refresh_absolute_limit)
            self.store.sweep_step(now, retention)
        return now

    def sweep(self, now: float | None = None) -> int:
        """Forget what can no longer matter, under the settings in force now."""
        self._offset_swept = self.clock.offset
        when = self.clock.now() if now is None else now
        retention = Retention(self.settings.refresh_absolute_limit)
        return self.store.sweep(when, retention)

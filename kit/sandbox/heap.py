"""Keeping the standalone sandbox's pauses short while its store grows.

A room's sandbox holds many thousands of small records; Python's cyclic garbage
collector walks all of them in each full collection, a pause that grows with the
store and lands on whichever request is in flight. The records hold no cycles
and die by reference counting, so the server moves what survived into the
collector's permanent generation every few seconds (`gc.freeze`), and once in a
while collects everything, to reclaim any cycle frozen meanwhile. Only
`python -m kit.sandbox` does this: a sandbox inside a notebook's kernel leaves the
kernel's collector alone.
"""

from __future__ import annotations

import gc
import threading
import time

FREEZE_EVERY = 2.0  # seconds between freezes of what survived
COLLECT_EVERY = 600.0  # seconds between full collections of everything


class Freezer:
    """A daemon thread that freezes the heap, and collects it all now and then."""

    def __init__(
        self, freeze_every: float = FREEZE_EVERY, collect_every: float = COLLECT_EVERY
    ) -> None:
        self.freeze_every = freeze_every
        self.collect_every = collect_every
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name="kit-sandbox-freezer", daemon=True
        )

    def start(self) -> Freezer:
        gc.freeze()  # what the start made (the site's content) is never garbage
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        collected_at = time.monotonic()
        while not self._stop.wait(self.freeze_every):
            if time.monotonic() - collected_at >= self.collect_every:
                gc.unfreeze()
                gc.collect()
                collected_at = time.monotonic()
            gc.freeze()

"""The standalone sandbox's collector settings: what survives is frozen, and now and
then everything is collected, so that a large store does not lengthen pauses.
"""

from __future__ import annotations

import gc
import time

from kit.sandbox.heap import Freezer


def test_the_freezer_freezes_survivors_and_collects_everything_now_and_then() -> None:
    kept = [object() for _ in range(1000)]
    full_collections: list[int] = []

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "stop" and info["generation"] == 2:
            full_collections.append(info["collected"])

    gc.callbacks.append(watch)
    freezer = Freezer(freeze_every=0.05, collect_every=0.2)
    try:
        freezer.start()
        frozen = gc.get_freeze_count()
        time.sleep(0.5)
    finally:
        freezer.stop()
        gc.callbacks.remove(watch)
        gc.unfreeze()

    assert frozen >= len(kept)
    assert full_collections, "a full collection ran while the freezer worked"


def test_a_sandbox_in_a_thread_leaves_the_collector_alone() -> None:
    from kit.sandbox import Sandbox  # noqa: PLC0415

    gc.unfreeze()
    sandbox = Sandbox().start()
    try:
        assert gc.get_freeze_count() == 0
    finally:
        sandbox.stop()

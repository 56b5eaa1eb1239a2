"""The token store: owner-only files (97), crash-safe writes (98), no symlinks (99),
one refresh at a time across threads and processes against a real sandbox (100).
"""

from __future__ import annotations

import json
import logging
import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_driver import START_TIME, Flow, advance_clock, kit_frames_text

from kit.errors import TokenStoreError
from kit.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from kit.store import StoredTokens, TokenStore
from kit.tokens import Lineage, Secret, TokenSet

CANARY_AT = "CANARY-ACCESS-0123456789abcdefghijklmnopqrstuvwxyz"
CANARY_RT = "CANARY-REFRESH-0123456789abcdefghijklmnopqrstuvwxyz"
T0 = 1_800_000_000.0


def token_set(access: str = CANARY_AT, refresh: str | None = CANARY_RT) -> TokenSet:
    body: dict[str, Any] = {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read:me offline_access",
    }
    if refresh is not None:
        body["refresh_token"] = refresh
    return TokenSet.from_response(body, now=lambda: T0)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / "tokens" / "atlassian.token.json")


@pytest.fixture
def umask_000() -> Iterator[None]:
    previous = os.umask(0)
    yield
    os.umask(previous)


def test_saved_tokens_load_back_with_a_new_lineage(store: TokenStore) -> None:
    tokens = token_set()

    store.save(tokens)
    loaded = store.load()

    assert loaded is not None
    assert loaded.tokens == tokens
    assert loaded.lineage == Lineage.begin(tokens)


def test_there_is_nothing_to_load_before_the_first_save(store: TokenStore) -> None:
    assert store.load() is None


@pytest.mark.usefixtures("umask_000")
def test_with_umask_000_the_file_is_0600_and_its_directory_0700(
    tmp_path: Path,
) -> None:
    store = TokenStore(tmp_path / "a" / "b" / "atlassian.token.json")

    store.save(token_set())

    assert mode(store.path) == 0o600
    assert mode(store.path.parent) == 0o700
    assert mode(tmp_path / "a") == 0o700
    assert mode(store.lock_path) == 0o600


def test_an_existing_0644_file_is_fixed_to_0600_when_loaded(store: TokenStore) -> None:
    store.save(token_set())
    os.chmod(store.path, 0o644)

    store.load()

    assert mode(store.path) == 0o600


def test_saving_over_a_0644_file_leaves_a_0600_file(store: TokenStore) -> None:
    store.save(token_set())
    os.chmod(store.path, 0o644)

    store.save(token_set(access="second-access-0123456789"))

    assert mode(store.path) == 0o600


def test_a_directory_other_users_may_write_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)  # noqa: S103 - the unsafe directory under test
    store = TokenStore(shared / "atlassian.token.json")

    with pytest.raises(TokenStoreError, match="writable by other users"):
        store.save(token_set())

    assert not store.path.exists()


def test_a_symlinked_token_path_is_refused_and_its_target_untouched(
    tmp_path: Path,
) -> None:
    target = tmp_path / "elsewhere.json"
    target.write_text("precious")
    link = tmp_path / "tokens.json"
    link.symlink_to(target)
    store = TokenStore(link)

    with pytest.raises(TokenStoreError, match="symbolic link"):
        store.save(token_set())
    with pytest.raises(TokenStoreError, match="symbolic link"):
        store.load()

    assert target.read_text() == "precious"
    assert link.is_symlink()


def test_a_symlinked_lock_file_is_refused(store: TokenStore, tmp_path: Path) -> None:
    store.path.parent.mkdir(mode=0o700)
    store.lock_path.symlink_to(tmp_path / "other.lock")

    with pytest.raises(TokenStoreError, match="no symlink"):
        store.save(token_set())

    assert not (tmp_path / "other.lock").exists()


def test_a_file_the_kit_did_not_write_gets_an_error_without_its_content(
    store: TokenStore,
) -> None:
    store.save(token_set())
    store.path.write_text(f'{{"format": "other", "token": "{CANARY_AT}"}}')

    with pytest.raises(TokenStoreError, match="Delete it and run") as caught:
        store.load()

    assert CANARY_AT not in str(caught.value)
    assert caught.value.__cause__ is None
    assert CANARY_AT not in kit_frames_text(caught.value)


def test_delete_forgets_the_tokens(store: TokenStore) -> None:
    store.save(token_set())

    store.delete()

    assert store.load() is None


# --- Case 98: a crash at any step of a save leaves the old file whole ----------


def fail_at(
    monkeypatch: pytest.MonkeyPatch, module: Any, name: str, call: int = 1
) -> None:
    """Make `module.name` raise on its `call`-th use, as a crash there would."""
    real = getattr(module, name)
    calls = {"n": 0}

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == call:
            raise OSError(28, "No space left on device")
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, failing)


def half_written_dump(obj: Any, handle: Any, **kwargs: Any) -> None:
    """`json.dump` that writes half the document, then fails, as a full disk would."""
    text = json.dumps(obj, **kwargs)
    handle.write(text[: len(text) // 2])
    raise OSError(28, "No space left on device")


@pytest.mark.parametrize(
    ("module", "name", "call"),
    [
        (tempfile, "mkstemp", 1),
        (os, "fchmod", 1),
        (json, "dump", 1),
        (os, "fsync", 1),
        (os, "replace", 1),
    ],
    ids=["mkstemp", "fchmod", "json.dump", "fsync of the file", "os.replace"],
)
def test_a_save_interrupted_before_the_rename_leaves_the_old_file_whole(
    store: TokenStore,
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
    call: int,
) -> None:
    old = token_set()
    store.save(old)
    fail_at(monkeypatch, module, name, call)

    with pytest.raises(TokenStoreError, match="the previous file is left whole"):
        store.save(token_set(access="new-access-0123456789abcdef"))

    loaded = store.load()
    assert loaded is not None
    assert loaded.tokens == old
    assert leftovers(store.path.parent) == []


def test_a_half_written_document_never_replaces_the_old_file(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = token_set()
    store.save(old)
    monkeypatch.setattr(json, "dump", half_written_dump)

    with pytest.raises(TokenStoreError, match="No space left on device"):
        store.save(token_set(access="new-access-0123456789abcdef"))

    loaded = store.load()
    assert loaded is not None
    assert loaded.tokens == old
    assert leftovers(store.path.parent) == []


def test_a_failed_directory_fsync_is_reported_with_the_new_file_in_place(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(token_set())
    new = token_set(access="new-access-0123456789abcdef")
    fail_at(monkeypatch, os, "fsync", call=2)

    with pytest.raises(TokenStoreError, match="could not be synced"):
        store.save(new)

    loaded = store.load()
    assert loaded is not None
    assert loaded.tokens == new
    assert leftovers(store.path.parent) == []


def test_a_first_save_that_fails_leaves_no_file_at_all(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_at(monkeypatch, os, "replace")

    with pytest.raises(TokenStoreError):
        store.save(token_set())

    assert store.load() is None
    assert leftovers(store.path.parent) == []


def test_a_failed_save_leaves_no_token_in_the_error_or_the_kit_frames(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(json, "dump", half_written_dump)

    with pytest.raises(TokenStoreError) as caught:
        store.save(token_set())

    assert CANARY_AT not in str(caught.value)
    assert CANARY_AT not in kit_frames_text(caught.value)
    assert CANARY_RT not in kit_frames_text(caught.value)


KILLED_WRITER = """
import os, signal, sys
from kit.store import TokenStore
from kit.tokens import TokenSet
os.replace = lambda *args: os.kill(os.getpid(), signal.SIGKILL)
tokens = TokenSet.from_response({"access_token": "killed-0123456789abcdef"})
TokenStore(sys.argv[1]).save(tokens)
"""


def test_a_writer_killed_before_the_rename_leaves_the_old_file_and_a_stray_temp(
    store: TokenStore,
) -> None:
    old = token_set()
    store.save(old)

    # A child process is killed between writing its temp file and renaming it.
    child = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", KILLED_WRITER, str(store.path)], check=False
    )
    stray = leftovers(store.path.parent)
    loaded = store.load()
    # The next save, under the lock, sweeps the stray temp file away.
    store.save(old)

    assert child.returncode == -signal.SIGKILL
    assert len(stray) == 1
    assert loaded is not None
    assert loaded.tokens == old
    assert leftovers(store.path.parent) == []


# --- Refreshing: one at a time, the rotated refresh token always saved --------


def test_refresh_with_saves_the_rotated_token_and_extends_the_lineage(
    store: TokenStore,
) -> None:
    old = token_set()
    store.save(old)
    new = token_set(access="access-2-0123456789abcdef", refresh="refresh-2-0123456789")

    returned = store.refresh_with(lambda current: new)

    stored = store.load()
    assert returned == new
    assert stored is not None
    assert stored.tokens == new
    assert stored.lineage is not None
    assert stored.lineage.chain == (
        Secret(CANARY_RT).fingerprint,
        Secret("refresh-2-0123456789").fingerprint,
    )


def test_a_refresh_without_a_new_refresh_token_keeps_the_old_one(
    store: TokenStore,
) -> None:
    store.save(token_set())
    new = token_set(access="access-2-0123456789abcdef", refresh=None)

    returned = store.refresh_with(lambda current: new)

    assert returned.refresh_token == Secret(CANARY_RT)
    stored = store.load()
    assert stored is not None
    assert stored.tokens.refresh_token == Secret(CANARY_RT)
    assert stored.lineage is not None
    assert stored.lineage.rotations == ()


def test_a_caller_holding_stale_tokens_gets_the_newer_ones_without_refreshing(
    store: TokenStore,
) -> None:
    stale = token_set()
    store.save(stale)
    store.refresh_with(lambda current: token_set(access="access-2-0123456789abc"))
    calls: list[TokenSet] = []

    def refresh(current: TokenSet) -> TokenSet:
        calls.append(current)
        return token_set(access="access-3-0123456789abc")

    returned = store.refresh_with(refresh, stale=stale)

    assert calls == []
    assert returned.access_token.reveal() == "access-2-0123456789abc"


def test_a_failing_refresh_leaves_the_file_and_releases_the_lock(
    store: TokenStore,
) -> None:
    old = token_set()
    store.save(old)

    def broken(current: TokenSet) -> TokenSet:
        raise ConnectionError("the sandbox is down")

    with pytest.raises(ConnectionError):
        store.refresh_with(broken)
    returned = store.refresh_with(
        lambda current: token_set(access="after-0123456789ab")
    )

    assert returned.access_token.reveal() == "after-0123456789ab"


def test_refresh_with_nothing_saved_says_to_run_the_flow(store: TokenStore) -> None:
    with pytest.raises(TokenStoreError, match="no token file"):
        store.refresh_with(lambda current: current)


def test_refresh_without_a_refresh_token_says_to_ask_for_offline_access(
    store: TokenStore,
) -> None:
    store.save(token_set(refresh=None))

    with pytest.raises(TokenStoreError, match="`offline_access`"):
        store.refresh_with(lambda current: current)


def test_a_refresh_whose_save_fails_says_the_leeway_still_holds(
    store: TokenStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.save(token_set())
    fail_at(monkeypatch, os, "replace")

    with pytest.raises(TokenStoreError, match="reuse leeway"):
        store.refresh_with(lambda current: token_set(access="lost-0123456789abcdef"))


def test_store_logs_at_debug_hold_no_token(
    store: TokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="kit")

    store.save(token_set())
    store.load()
    store.refresh_with(lambda current: token_set(access="access-2-0123456789abc"))

    assert Secret(CANARY_AT).fingerprint in caplog.text
    assert CANARY_AT not in caplog.text
    assert CANARY_RT not in caplog.text
    assert "access-2-0123456789abc" not in caplog.text


def test_the_store_and_what_it_holds_display_masked(store: TokenStore) -> None:
    store.save(token_set())

    loaded = store.load()

    shown = f"{store!r} {loaded!r} {loaded}"
    assert CANARY_AT not in shown
    assert CANARY_RT not in shown
    assert isinstance(loaded, StoredTokens)


# --- Case 100: concurrent refreshes against a running sandbox ------------------


def sandbox_refresh(
    flow: Flow, calls: list[str], now: Callable[[], float] = time.time
) -> Callable[[TokenSet], TokenSet]:
    """A refresh function posting to the sandbox's token endpoint, counting calls."""

    def refresh(current: TokenSet) -> TokenSet:
        assert current.refresh_token is not None
        calls.append(threading.current_thread().name)
        answer = flow.refresh(current.refresh_token.reveal())
        assert answer.status_code == 200, answer.text
        return TokenSet.from_response(answer.json(), now=now)

    return refresh


def test_threads_finding_the_same_expired_token_refresh_exactly_once(
    flow: Flow, store: TokenStore
) -> None:
    initial = TokenSet.from_response(flow.tokens())
    store.save(initial)
    calls: list[str] = []
    refresh = sandbox_refresh(flow, calls)
    barrier = threading.Barrier(8)
    results: list[TokenSet] = []

    def worker() -> None:
        barrier.wait()
        results.append(store.refresh_with(refresh, stale=initial))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    stored = store.load()

    assert len(calls) == 1
    assert len(results) == 8
    assert len({tokens.access_token for tokens in results}) == 1
    assert stored is not None
    assert stored.tokens == results[0]
    assert stored.lineage is not None
    assert len(stored.lineage.rotations) == 1
    assert stored.tokens.refresh_token is not None
    # The newest refresh token is alive: no second refresh revoked the family.
    assert flow.refresh(stored.tokens.refresh_token.reveal()).status_code == 200


REFRESHING_PROCESS = """
import json, pathlib, sys, time
import requests
from kit.store import TokenStore
from kit.tokens import TokenSet

path, url, client_id, secret, as_json, go = sys.argv[1:]
store = TokenStore(path)
stored = store.load()
calls = 0

def refresh(current):
    global calls
    calls += 1
    body = {"grant_type": "refresh_token", "client_id": client_id,
            "client_secret": secret,
            "refresh_token": current.refresh_token.reveal()}
    send = {"json": body} if as_json == "1" else {"data": body}
    answer = requests.post(url + "/oauth/token", timeout=10, **send)
    answer.raise_for_status()
    time.sleep(0.2)  # hold the lock a moment, so the other process queues on it
    return TokenSet.from_response(answer.json())

while not pathlib.Path(go).exists():
    time.sleep(0.01)
new = store.refresh_with(refresh, stale=stored.tokens)
print(json.dumps({"calls": calls, "access": new.access_token.fingerprint}))
"""


def test_two_processes_finding_the_same_expired_token_refresh_exactly_once(
    flow: Flow, store: TokenStore, tmp_path: Path
) -> None:
    store.save(TokenSet.from_response(flow.tokens()))
    go = tmp_path / "go"
    as_json = "1" if flow.sandbox.settings.accept_json_token_requests else "0"
    argv = [store.path, flow.url, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, as_json, go]
    command = [sys.executable, "-c", REFRESHING_PROCESS, *map(str, argv)]

    # Both processes load the same tokens, then refresh at the same signal.
    children = [
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True)  # noqa: S603
        for _ in range(2)
    ]
    go.touch()
    outputs = [json.loads(child.communicate(timeout=60)[0]) for child in children]
    stored = store.load()

    assert sum(output["calls"] for output in outputs) == 1
    assert stored is not None
    assert {output["access"] for output in outputs} == {
        stored.tokens.access_token.fingerprint
    }
    assert stored.lineage is not None
    assert len(stored.lineage.rotations) == 1
    assert stored.tokens.refresh_token is not None
    assert flow.refresh(stored.tokens.refresh_token.reveal()).status_code == 200


def test_fresh_refreshes_once_when_the_access_token_is_due(
    atlassian_flow: Flow, store: TokenStore
) -> None:
    local = {"now": START_TIME}
    initial = TokenSet.from_response(atlassian_flow.tokens(), now=lambda: local["now"])
    store.save(initial)
    calls: list[str] = []
    refresh = sandbox_refresh(atlassian_flow, calls, now=lambda: local["now"])

    # Well before expiry, the saved tokens come back as they are.
    local["now"] = START_TIME + 3600 - 61
    early = store.fresh(refresh, now=lambda: local["now"])
    # Within the 60 s leeway, one refresh happens, and only one.
    local["now"] = START_TIME + 3600 - 60
    advance_clock(atlassian_flow, 3600 - 60)
    due = store.fresh(refresh, now=lambda: local["now"])
    again = store.fresh(refresh, now=lambda: local["now"])

    assert early == initial
    assert due.access_token != initial.access_token
    assert again == due
    assert len(calls) == 1


def test_fresh_with_nothing_saved_says_to_run_the_flow(store: TokenStore) -> None:
    with pytest.raises(TokenStoreError, match="no token file"):
        store.fresh(lambda current: current)

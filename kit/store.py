"""Step 6 of the flow, keeping the tokens: a JSON file only its owner can read.

`TokenStore` writes `0600` in a `0700` directory, atomically (a crash mid-write
leaves the old file whole), refuses a symbolic link, and runs one refresh at a time
across threads and processes, saving the rotated refresh token before it lets go.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kit.errors import TokenStoreError, hide_in_notebooks
from kit.tokens import Lineage, TokenSet

logger = logging.getLogger(__name__)

DEFAULT_PATH = Path(".tokens") / "atlassian.token.json"
FORMAT = "kit.tokens/1"
FILE_MODE = 0o600
DIR_MODE = 0o700
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

_thread_locks: dict[str, threading.RLock] = {}
_thread_locks_guard = threading.Lock()
_held = threading.local()


@dataclass(frozen=True)
class StoredTokens:
    """What the token file holds: the newest tokens and their rotation lineage."""

    tokens: TokenSet
    lineage: Lineage | None


class TokenStore:
    """The token file at `path`: owner-only, written atomically, one refresh at a time.

    Keep it in a directory of its own (the default is `.tokens/`, which git ignores).
    A lock file beside it, `<name>.lock`, serialises writers across processes.
    """

    def __init__(self, path: str | os.PathLike[str] = DEFAULT_PATH) -> None:
        self.path = Path(path).absolute()
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def load(self) -> StoredTokens | None:
        """The saved tokens, or `None` when there is no file yet.

        A file readable by others (`0644`) is fixed to `0600` on the way.
        """
        text = self._read_text()
        if text is None:
            return None
        parsed = _parse(text)
        del text  # no local holds the file's tokens in clear past here (case 101)
        if isinstance(parsed, StoredTokens):
            return parsed
        message = (
            f"The token file {self.path} is not one the kit wrote ({parsed}). "
            "Delete it and run the authorization flow again."
        )
        raise TokenStoreError(message)

    def save(self, tokens: TokenSet, lineage: Lineage | None = None) -> None:
        """Write `tokens`; without `lineage`, they begin a new refresh-token family.

        Call it after a code exchange. Refreshes go through `refresh_with`, which
        keeps the lineage.
        """
        if lineage is None:
            lineage = Lineage.begin(tokens)
        with self.locked():
            self._write(StoredTokens(tokens, lineage))

    def delete(self) -> None:
        """Forget the tokens: remove the file (the lock file stays)."""
        with self.locked():
            self._refuse_symlink()
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        logger.info("Deleted the token file %s.", self.path)

    def fresh(
        self,
        refresh: Callable[[TokenSet], TokenSet],
        *,
        now: Callable[[], float] = time.time,
    ) -> TokenSet:
        """The saved tokens, refreshed first if the access token is due (60 s leeway).

        The refresh goes through `refresh_with`, so that callers racing on the
        same expired token refresh once between them (case 100).
        """
        __tracebackhide__ = hide_in_notebooks
        stored = self.load()
        if stored is None:
            message = (
                f"There is no token file at {self.path}. Run the authorization "
                "flow, then save its tokens with `TokenStore.save`."
            )
            raise TokenStoreError(message)
        if not stored.tokens.needs_refresh(now):
            return stored.tokens
        return self.refresh_with(refresh, stale=stored.tokens)

    def refresh_with(
        self,
        refresh: Callable[[TokenSet], TokenSet],
        *,
        stale: TokenSet | None = None,
    ) -> TokenSet:
        """Refresh once under the lock, unless another caller already did.

        Under the lock the file is read again. If `stale` (the tokens the caller
        found expired or refused) is given and the file now holds another access
        token, someone refreshed meanwhile: that token is returned and `refresh`
        is not called. Otherwise `refresh(current)` runs, and its tokens, with the
        rotated refresh token and the lineage, are saved before the lock is
        released (RFC 6749 section 6; RFC 9700 section 4.14).
        """
        __tracebackhide__ = hide_in_notebooks
        with self.locked():
            current = self._load_for_refresh()
            if stale is not None and current.tokens.access_token != stale.access_token:
                logger.debug(
                    "Another caller refreshed already; using access token %s.",
                    current.tokens.access_token.fingerprint,
                )
                return current.tokens
            received = refresh(current.tokens).with_refresh_token_of(current.tokens)
            self._save_refreshed(
                StoredTokens(received, _next_lineage(current, received))
            )
        logger.debug("Refreshed and saved: %s.", received.describe())
        return received

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the store's lock: a thread lock, then `flock` on the lock file.

        Re-entrant within one thread. Without `fcntl` (Windows) only threads of
        this process are serialised.
        """
        thread_lock = _thread_lock(self.lock_path)
        with thread_lock:
            depth: dict[str, int] = _held.__dict__.setdefault("depth", {})
            key = str(self.lock_path)
            if depth.get(key):
                depth[key] += 1
                try:
                    yield
                finally:
                    depth[key] -= 1
                return
            with self._file_lock():
                depth[key] = 1
                try:
                    yield
                finally:
                    depth[key] = 0

    @contextlib.contextmanager
    def _file_lock(self) -> Iterator[None]:
        self._ensure_directory()
        flags = os.O_RDWR | os.O_CREAT | _NOFOLLOW
        try:
            fd = os.open(self.lock_path, flags, FILE_MODE)
        except OSError as exc:
            message = (
                f"Cannot open the lock file {self.lock_path} ({exc.strerror}). "
                "Check that the directory is yours and that the path is no symlink."
            )
            raise TokenStoreError(message) from exc
        try:
            _flock(fd, exclusive=True)
            try:
                yield
            finally:
                _flock(fd, exclusive=False)
        finally:
            os.close(fd)

    def _save_refreshed(self, stored: StoredTokens) -> None:
        try:
            self._write(stored)
        except TokenStoreError as exc:
            message = (
                f"The refresh succeeded, but saving its tokens failed: {exc.message} "
                "On Atlassian the previous refresh token stays usable for 10 "
                "minutes (the reuse leeway): fix the problem and refresh again."
            )
            raise TokenStoreError(message) from exc

    def _load_for_refresh(self) -> StoredTokens:
        stored = self.load()
        if stored is None or stored.tokens.refresh_token is None:
            what = "no token file" if stored is None else "no refresh token"
            message = (
                f"There is {what} at {self.path} to refresh with. Run the "
                "authorization flow with the `offline_access` scope, then save "
                "its tokens with `TokenStore.save`."
            )
            raise TokenStoreError(message)
        return stored

    def _read_text(self) -> str | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | _NOFOLLOW)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._open_error(exc) from exc
        with os.fdopen(fd, encoding="utf-8") as handle:
            self._fix_mode(handle.fileno())
            return handle.read()

    def _fix_mode(self, fd: int) -> None:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            message = f"{self.path} is not a regular file. Remove it, or choose a path."
            raise TokenStoreError(message)
        if stat.S_IMODE(info.st_mode) != FILE_MODE:
            os.fchmod(fd, FILE_MODE)
            logger.info(
                "The token file %s was mode %o; it is now 0600 (owner only).",
                self.path,
                stat.S_IMODE(info.st_mode),
            )

    def _open_error(self, exc: OSError) -> TokenStoreError:
        if self.path.is_symlink():
            return _symlink_error(self.path)
        message = (
            f"Cannot read the token file {self.path} ({exc.strerror}). Check its "
            "owner and permissions, or delete it and run the flow again."
        )
        return TokenStoreError(message)

    def _refuse_symlink(self) -> None:
        if self.path.is_symlink():
            raise _symlink_error(self.path)

    def _ensure_directory(self) -> None:
        directory = self.path.parent
        missing = [p for p in (directory, *directory.parents) if not p.exists()]
        for part in reversed(missing):
            with contextlib.suppress(FileExistsError):
                part.mkdir(mode=DIR_MODE)
                os.chmod(part, DIR_MODE)  # mkdir's mode is filtered by the umask
        info = os.stat(directory)
        if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            message = (
                f"The directory {directory} is writable by other users, who could "
                "swap the token file. Keep the tokens in a directory of your own, "
                f"or run `chmod 700 {directory}`."
            )
            raise TokenStoreError(message)

    def _write(self, stored: StoredTokens) -> None:
        self._ensure_directory()
        self._refuse_symlink()
        _remove_stale_temporaries(self.path)
        _atomic_write(self.path, stored)
        logger.debug("Saved tokens to %s: %s.", self.path, stored.tokens.describe())


def _atomic_write(path: Path, stored: StoredTokens) -> None:
    """Temp file in the same directory, fsync, `os.replace`, fsync the directory."""
    temporary: str | None = None
    try:
        fd, temporary = tempfile.mkstemp(
            prefix=_temporary_prefix(path), suffix=".tmp", dir=path.parent
        )
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            json.dump(_document(stored), handle, indent=2)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as exc:
        if temporary is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
        if not isinstance(exc, Exception):
            raise
        cause = exc.strerror if isinstance(exc, OSError) else None
        message = (
            f"Saving the tokens to {path} failed ({type(exc).__name__}"
            f"{'' if cause is None else ': ' + cause}); the previous file is left "
            "whole. Check the disk and the directory's permissions, then save again."
        )
        # Not chained: the cause's frames (json.dump's) hold the tokens in clear.
        raise TokenStoreError(message) from None
    _fsync_directory(path)


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temp files a killed writer left; every writer holds the lock."""
    for leftover in path.parent.glob(_temporary_prefix(path) + "*.tmp"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
            logger.info("Removed %s, left by an interrupted save.", leftover.name)


def _fsync_directory(path: Path) -> None:
    if sys.platform == "win32":
        return
    try:
        fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        message = (
            f"The tokens were written to {path}, but its directory could not be "
            f"synced ({exc.strerror}): a power cut now could lose them. Check the "
            "disk, then save again."
        )
        raise TokenStoreError(message) from exc


def _document(stored: StoredTokens) -> dict[str, Any]:
    lineage = stored.lineage
    return {
        "format": FORMAT,
        "tokens": stored.tokens.to_record(),
        "lineage": None if lineage is None else lineage.to_record(),
    }


def _parse(text: str) -> StoredTokens | str:
    """The file's tokens, or the name of what was wrong with it; never raises.

    Returning instead of raising keeps the file's text out of every frame of
    the error the caller raises, and out of its chained cause.
    """
    try:
        document = json.loads(text)
        if document.get("format") != FORMAT:
            return f"its format is not {FORMAT}"
        tokens = TokenSet.from_record(document["tokens"])
        lineage = document["lineage"]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return type(exc).__name__
    if lineage is None:
        return StoredTokens(tokens, None)
    try:
        return StoredTokens(tokens, Lineage.from_record(lineage))
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return type(exc).__name__


def _next_lineage(current: StoredTokens, received: TokenSet) -> Lineage | None:
    spent = current.tokens.refresh_token
    new = received.refresh_token
    if spent is None or new is None:
        return current.lineage
    lineage = current.lineage or Lineage.begin(current.tokens)
    assert lineage is not None  # the current tokens hold a refresh token
    return lineage.rotated(spent, new, received.received_at)


def _symlink_error(path: Path) -> TokenStoreError:
    message = (
        f"The token path {path} is a symbolic link; the kit will not follow it, "
        "since it could point the tokens at someone else's file. Remove the link "
        "or choose another path."
    )
    return TokenStoreError(message)


def _thread_lock(lock_path: Path) -> threading.RLock:
    key = os.path.realpath(lock_path)
    with _thread_locks_guard:
        return _thread_locks.setdefault(key, threading.RLock())


def _flock(fd: int, *, exclusive: bool) -> None:
    if sys.platform == "win32":
        return
    import fcntl  # noqa: PLC0415 - POSIX only

    fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_UN)

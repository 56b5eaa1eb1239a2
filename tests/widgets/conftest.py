"""Fixtures of the widget tests: a course on a fresh sandbox, its token file apart.

The panels are plain ipywidgets objects, driven with `.click()` and `.value`, with
no kernel and no browser. Every panel a test makes is closed in teardown.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kit.config import ClientConfig, load
from kit.course import Course
from kit.sandbox import Sandbox
from kit.sandbox_controls import SandboxControls
from kit.store import TokenStore

# Threads a panel starts: its ticker and its callback catcher.
PANEL_THREADS = ("kit-callback", "kit-token-dashboard")


@pytest.fixture(autouse=True)
def _no_panel_thread_outlives_its_test() -> Iterator[None]:
    """Each test closes the panels it made, and with them their threads."""
    yield
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        left = [
            t.name for t in threading.enumerate() if t.name.startswith(PANEL_THREADS)
        ]
        if not left:
            return
        time.sleep(0.01)
    pytest.fail(f"threads left running: {left}")


@pytest.fixture
def config(atlassian_sandbox: Sandbox) -> ClientConfig:
    """The sandbox app's settings, pointed at the test's sandbox."""
    return load(env_file=None, environ={}, sandbox_url=atlassian_sandbox.url)


@pytest.fixture
def course(
    config: ClientConfig, atlassian_sandbox: Sandbox, tmp_path: Path
) -> Iterator[Course]:
    """A course on the test's sandbox, with a token file of its own."""
    controls = SandboxControls(atlassian_sandbox.url)
    store = TokenStore(tmp_path / "tokens" / "atlassian.token.json")
    yield Course(config, store, "sandbox of the test", atlassian_sandbox, controls)
    controls.close()

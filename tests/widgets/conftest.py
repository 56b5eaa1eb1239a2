"""Fixtures of the widget tests: a course on a fresh sandbox, its token file apart.

The panels are plain ipywidgets objects, driven with `.click()` and `.value`, with
no kernel and no browser. Every panel a test makes is closed in teardown.

The sandbox app's callback port, 8765, is shared by every process on this
machine (a notebook's kernel, another test run), so these sandboxes register
the app with a callback on a free port of the test's own instead.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sandbox_driver import START_TIME

from kit.config import ClientConfig, load
from kit.course import Course
from kit.sandbox import Clock, Sandbox
from kit.sandbox.scenario import sandbox_app
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
def callback_uri() -> str:
    """A loopback callback URL on a port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/callback"


def start_course(profile: str, callback_uri: str, tmp_path: Path) -> Course:
    """A course on a fresh sandbox of `profile` whose app calls back at the URI."""
    sandbox = Sandbox(
        profile, clock=Clock(frozen_at=START_TIME), apps=(sandbox_app(callback_uri),)
    ).start()
    config = load(env_file=None, environ={}, sandbox_url=sandbox.url)
    config = dataclasses.replace(config, redirect_uri=callback_uri)
    store = TokenStore(tmp_path / profile / "atlassian.token.json")
    controls = SandboxControls(sandbox.url)
    return Course(config, store, f"{profile} sandbox of the test", sandbox, controls)


@pytest.fixture
def course(callback_uri: str, tmp_path: Path) -> Iterator[Course]:
    """A course on a fresh `atlassian` sandbox, with a token file of its own."""
    course = start_course("atlassian", callback_uri, tmp_path)
    course.started.append(course.sandbox)
    yield course
    course.stop()


@pytest.fixture
def rfc_course(callback_uri: str, tmp_path: Path) -> Iterator[Course]:
    """The same on an `rfc` sandbox."""
    course = start_course("rfc", callback_uri, tmp_path)
    course.started.append(course.sandbox)
    yield course
    course.stop()


@pytest.fixture
def config(course: Course) -> ClientConfig:
    """The sandbox app's settings, pointed at the test's sandbox."""
    return course.config

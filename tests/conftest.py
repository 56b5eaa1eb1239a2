"""Fixtures shared by every test: a clean environment and running sandboxes.

The sandbox runs for real, on `127.0.0.1` and a free port, with a frozen clock that
tests move by hand; `flow` drives it (see `sandbox_driver.py`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from ports import free_port
from sandbox_driver import START_TIME, Flow

import kit.config
from kit.course import Course
from kit.sandbox import App, Clock, Sandbox
from kit.sandbox.scenario import SANDBOX_APP_SCOPES
from kit.sandbox_controls import SandboxControls
from kit.store import TokenStore


@pytest.fixture(autouse=True)
def _hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No `ATLASSIAN_*` or `OAUTHLIB_*` variable of the developer leaks into a test,
    nor a hub's (`JUPYTERHUB_*`, `BINDER_*`, `KIT_PUBLIC_URL`) when tests run on one.
    """
    for name in list(os.environ):
        if name.startswith(("ATLASSIAN_", "OAUTHLIB_", "JUPYTERHUB_", "BINDER_")):
            monkeypatch.delenv(name)
    monkeypatch.delenv("KIT_PUBLIC_URL", raising=False)


def _start(profile: str, **settings: Any) -> Sandbox:
    return Sandbox(profile, clock=Clock(frozen_at=START_TIME), **settings).start()


@pytest.fixture(params=["atlassian", "rfc"])
def profile(request: pytest.FixtureRequest) -> str:
    """Each test that takes it runs once per profile."""
    return str(request.param)


@pytest.fixture
def sandbox(profile: str) -> Iterator[Sandbox]:
    """A fresh sandbox of the test's profile, with a frozen clock."""
    server = _start(profile)
    yield server
    server.stop()


@pytest.fixture
def atlassian_sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox in the `atlassian` profile."""
    server = _start("atlassian")
    yield server
    server.stop()


@pytest.fixture
def rfc_sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox in the `rfc` profile."""
    server = _start("rfc")
    yield server
    server.stop()


@pytest.fixture
def flow(sandbox: Sandbox) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(sandbox, http)


@pytest.fixture
def atlassian_flow(atlassian_sandbox: Sandbox) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(atlassian_sandbox, http)


@pytest.fixture
def rfc_flow(rfc_sandbox: Sandbox) -> Iterator[Flow]:
    with requests.Session() as http:
        yield Flow(rfc_sandbox, http)


@pytest.fixture
def free_port_course(atlassian_sandbox: Sandbox, tmp_path: Path) -> Iterator[Course]:
    """A course on the Atlassian sandbox whose app's callback is a free port, not the
    shared 8765, with a token store of its own and the sandbox's controls.
    """
    client_id, secret = "free-port-course", "free-port-course-secret-0123456789"
    redirect_uri = f"http://127.0.0.1:{free_port()}/callback"
    atlassian_sandbox.register_app(
        App(client_id, secret, "Check tests", (redirect_uri,), SANDBOX_APP_SCOPES)
    )
    config = kit.config.load(
        env_file=None,
        environ={
            "ATLASSIAN_CLIENT_ID": client_id,
            "ATLASSIAN_CLIENT_SECRET": secret,
            "ATLASSIAN_REDIRECT_URI": redirect_uri,
            "ATLASSIAN_AUTH_URL": atlassian_sandbox.url,
            "ATLASSIAN_API_URL": atlassian_sandbox.url,
        },
    )
    controls = SandboxControls(atlassian_sandbox.url)
    yield Course(config, TokenStore(tmp_path / "t.json"), "tests", None, controls)
    controls.close()

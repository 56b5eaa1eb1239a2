"""`python -m kit.course.lab` (what `make lab` runs): the sandbox beside JupyterLab,
named to every kernel, reused when one runs already, and stopped when Lab ends.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from ports import free_port

from kit.course import lab
from kit.sandbox import Sandbox
from kit.sandbox_controls import SandboxControls


class FakeLab:
    """Stands in for JupyterLab: keeps the command and checks the sandbox."""

    def __init__(self) -> None:
        self.command: list[str] = []
        self.environ: dict[str, str] = {}
        self.sandbox_was_up = False

    def __call__(self, command: list[str], env: dict[str, str], **_: Any) -> int:
        self.command = command
        self.environ = env
        url = env.get("ATLASSIAN_AUTH_URL")
        self.sandbox_was_up = bool(url) and SandboxControls(url).is_up()
        return 0


@pytest.fixture(autouse=True)
def _no_env_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_lab_gets_a_running_sandbox_named_in_its_environment() -> None:
    fake = FakeLab()
    port = free_port()

    status = lab.main(
        ["--sandbox-port", str(port), "--allow-root", "nb.ipynb"], run=fake
    )

    assert status == 0
    assert fake.command[1:] == ["-m", "jupyterlab", "--allow-root", "nb.ipynb"]
    assert fake.environ["ATLASSIAN_AUTH_URL"] == f"http://127.0.0.1:{port}"
    assert fake.environ["ATLASSIAN_API_URL"] == f"http://127.0.0.1:{port}"
    assert fake.sandbox_was_up
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=2)


def test_a_sandbox_already_running_on_the_port_is_reused_and_left_running() -> None:
    running = Sandbox(port=free_port()).start()
    fake = FakeLab()
    try:
        lab.main(["--sandbox-port", str(running.port)], run=fake)

        assert fake.environ["ATLASSIAN_AUTH_URL"] == running.url
        assert SandboxControls(running.url).is_up()
    finally:
        running.stop()


def test_a_port_taken_by_something_else_moves_the_sandbox_to_a_free_one() -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        fake = FakeLab()

        lab.main(["--sandbox-port", str(taken)], run=fake)

    assert fake.sandbox_was_up
    assert fake.environ["ATLASSIAN_AUTH_URL"] != f"http://127.0.0.1:{taken}"


def test_with_your_app_in_env_no_sandbox_starts(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "ATLASSIAN_CLIENT_ID=pinecone-reader-live\n"
        "ATLASSIAN_CLIENT_SECRET=CANARY-SECRET-0123456789abcdef\n"
        "ATLASSIAN_REDIRECT_URI=http://localhost:8765/callback\n"
    )
    fake = FakeLab()

    lab.main(["--sandbox-port", str(free_port())], run=fake)

    assert "ATLASSIAN_AUTH_URL" not in fake.environ
    assert not fake.sandbox_was_up


def test_a_workshops_sandbox_named_by_the_environment_is_used_as_it_is(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    room = Sandbox(port=free_port()).start()
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", room.url)
    monkeypatch.setenv("ATLASSIAN_API_URL", room.url)
    fake = FakeLab()
    try:
        lab.main(["--sandbox-port", str(free_port())], run=fake)
    finally:
        room.stop()

    assert fake.environ["ATLASSIAN_AUTH_URL"] == room.url
    assert fake.sandbox_was_up

"""The course in a real browser: JupyterLab, started as `make lab` starts it, driven
by Playwright in Debian's Chromium. Screenshots of each step go to
`artifacts/browser/` (git-ignored), for a person to look at.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from lab_driver import Lab, Notebook

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "The browser tests need Debian's Chromium: `sudo apt-get install chromium` "
    "(`.ci/run` installs it in CI). Playwright drives it; no browser download."
)
LAB_START_TIMEOUT = 90.0


def chromium() -> str:
    """Chromium's path; in CI a missing Chromium fails, elsewhere it skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is missing in CI. {INSTALL_HINT}")
    pytest.skip(INSTALL_HINT)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def lab_environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """Jupyter's folders under `home`, no news toast, the kit's token file there."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("ATLASSIAN_", "KIT_"))
    }
    for name in ("config", "runtime", "settings", "workspaces"):
        (home / name).mkdir(parents=True, exist_ok=True)
    notices = home / "settings" / "@jupyterlab" / "apputils-extension"
    notices.mkdir(parents=True, exist_ok=True)
    (notices / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env.update(
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        KIT_TOKEN_STORE=str(home / "tokens" / "atlassian.token.json"),
        **extra,
    )
    return env


def start_lab(home: Path, *, extra_env: dict[str, str] | None = None) -> Lab:
    """`python -m kit.course.lab` on a copy of the notebooks, as `make lab` runs it.

    A copy, because Lab autosaves: the committed notebooks must stay as they are.
    """
    root = home / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    port, token = free_port(), "browser-test-token"
    command = [
        sys.executable,
        "-m",
        "kit.course.lab",
        "--sandbox-port",
        str(free_port()),
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--port-retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    with (home / "lab.log").open("w") as log:  # the child keeps its own copy
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            command,
            env=lab_environment(home, extra_env or {}),
            cwd=root,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, for a clean Ctrl-C
        )
    lab = Lab(f"http://127.0.0.1:{port}", token, root, process, home / "lab.log")
    _wait_until_up(lab)
    return lab


def _wait_until_up(lab: Lab) -> None:
    deadline = time.monotonic() + LAB_START_TIMEOUT
    while time.monotonic() < deadline:
        if lab.process.poll() is not None:
            raise RuntimeError(f"JupyterLab ended at start:\n{lab.log.read_text()}")
        try:
            if requests.get(lab.api("status"), timeout=2).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.3)
    stop_lab(lab)
    raise RuntimeError(f"JupyterLab did not answer in time:\n{lab.log.read_text()}")


def stop_lab(lab: Lab) -> None:
    """Ctrl-C twice, as a person would: Lab shuts its kernels down, then the sandbox."""
    with_group = os.getpgid(lab.process.pid)
    for _ in range(2):
        if lab.process.poll() is None:
            os.killpg(with_group, signal.SIGINT)
            time.sleep(0.5)
    try:
        lab.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(with_group, signal.SIGKILL)
        lab.process.wait()


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return chromium()


@pytest.fixture(scope="session")
def lab(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    running = start_lab(tmp_path_factory.mktemp("lab"))
    yield running
    stop_lab(running)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def notebook(
    lab: Lab, browser: object, request: pytest.FixtureRequest
) -> Iterator[Notebook]:
    """A fresh page, no kernel left from the test before, screenshots kept."""
    lab.delete_sessions()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    driver = Notebook(lab, context, shots)
    yield driver
    driver.screenshot("last")
    context.close()
    lab.delete_sessions()

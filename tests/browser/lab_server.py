"""JupyterLab for the browser tests, started as `make lab` starts it: the course's
launcher (`python -m kit.course.lab`) on a copy of the notebooks, with Jupyter's
folders and the kit's token file under a test's own home; stopped with Ctrl-C.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from lab_driver import Lab
from ports import free_port

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "browser"
LAB_START_TIMEOUT = 90.0


# The developer's settings, and a hub's when the tests run on one, stay out of Lab.
FOREIGN_VARIABLES = ("ATLASSIAN_", "KIT_", "JUPYTERHUB_", "BINDER_")


def lab_environment(home: Path, extra: dict[str, str]) -> dict[str, str]:
    """Jupyter's folders under `home`, no news toast, every cell attached, the
    kit's token file there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(FOREIGN_VARIABLES)}
    for name in ("config", "runtime", "settings", "workspaces"):
        (home / name).mkdir(parents=True, exist_ok=True)
    notices = home / "settings" / "@jupyterlab" / "apputils-extension"
    notices.mkdir(parents=True, exist_ok=True)
    (notices / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    # Every cell in the DOM: with Lab's default windowing a cell scrolled out of
    # view can be detached, and a panel the test reads then has no text at all.
    tracker = home / "settings" / "@jupyterlab" / "notebook-extension"
    tracker.mkdir(parents=True, exist_ok=True)
    (tracker / "tracker.jupyterlab-settings").write_text(
        json.dumps({"windowingMode": "none"})
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


def start_lab(
    home: Path,
    *,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
    base_url: str = "/",
) -> Lab:
    """`python -m kit.course.lab` on a copy of the notebooks, as `make lab` runs it.

    A copy, because Lab autosaves: the committed notebooks must stay as they are.
    `port` (a free one by default) and `base_url` (`/user/ada/` as on a hub) let
    a test name Lab's own URLs before it starts.
    """
    root = home / "root"
    shutil.copytree(ROOT / "notebooks", root / "notebooks")
    port, token = port or free_port(), "browser-test-token"
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
        f"--ServerApp.base_url={base_url}",
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
    url = f"http://127.0.0.1:{port}{base_url}".rstrip("/")
    lab = Lab(url, token, root, process, home / "lab.log")
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

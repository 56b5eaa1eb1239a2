"""`python -m kit.course.lab`: JupyterLab on the course, with one sandbox beside it.

`make lab` runs this. Unless the settings name your own app or a workshop's
sandbox, it starts a sandbox (on port 8000, or a free one if that is taken),
points every kernel at it with `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`, so
that the notebooks share one sandbox and one token file, and stops it when
JupyterLab ends.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kit import config as settings
from kit.errors import NoSandboxError
from kit.sandbox_controls import SandboxControls

if TYPE_CHECKING:
    from kit.sandbox import Sandbox

DEFAULT_PORT = 8000


Runner = Callable[..., int]


def run_lab(command: list[str], env: dict[str, str]) -> int:
    """Run JupyterLab until it ends; Ctrl-C is Lab's to answer, not ours.

    Lab asks for confirmation on the first Ctrl-C and quits on the second, and
    it shuts its kernels down; the launcher waits for that instead of killing it.
    """
    with subprocess.Popen(command, env=env) as process:  # noqa: S603 - our own Lab
        while True:
            try:
                return process.wait()
            except KeyboardInterrupt:
                continue


def main(argv: Sequence[str] | None = None, *, run: Runner = run_lab) -> int:
    """Start the sandbox if needed, run JupyterLab, stop the sandbox; Lab's status.

    `run` runs the Lab command (`subprocess.call`); a test passes its own.
    """
    parser = argparse.ArgumentParser(
        prog="python -m kit.course.lab",
        description="JupyterLab on the course, with a sandbox beside it.",
    )
    parser.add_argument("--sandbox-port", type=int, default=DEFAULT_PORT)
    options, lab_args = parser.parse_known_args(argv)
    environ = dict(os.environ)
    sandbox = None
    try:
        config = settings.load()
    except NoSandboxError:  # no app, no sandbox named: start one beside Lab
        url, sandbox = _sandbox(options.sandbox_port)
        environ.update(settings.Hosts(url, url).as_environ())
        print(f"The course's sandbox serves at {url}.", flush=True)
    else:
        where = "Atlassian" if config.hosts.is_atlassian else config.hosts.auth_url
        print(f"The settings name {where}: the course talks to it.", flush=True)
    try:
        command = [sys.executable, "-m", "jupyterlab", *lab_args]
        return run(command, env=environ)
    finally:
        if sandbox is not None:
            sandbox.stop()


def _sandbox(port: int) -> tuple[str, Sandbox | None]:
    """The URL of a sandbox on `port`: one already running, or one started here."""
    existing = f"http://127.0.0.1:{port}"
    if SandboxControls(existing).is_up():
        print(f"A sandbox already answers at {existing}; the course uses it.")
        return existing, None
    from kit.sandbox import Sandbox  # noqa: PLC0415 - only when none is running

    try:
        sandbox = Sandbox(port=port).start()
    except OSError:
        sandbox = Sandbox(port=0).start()
        print(f"Port {port} is taken; the sandbox uses {sandbox.port} instead.")
    return sandbox.url, sandbox


if __name__ == "__main__":
    raise SystemExit(main())

"""The servers under load, each in a process of its own on 127.0.0.1.

The sandbox as `python -m kit.sandbox` runs it for a workshop; the floor; the
Authlib peer on waitress; and `oauth2-mock-server` from the npm registry,
installed by the bench into `bench/.npm/` (git-ignored). Each gives its URL, the
load target for it, and its memory (RSS) read from `/proc`.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import recording
import requests
from loadgen import Target

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NPM_DIR = BENCH / ".npm"
NPM_PACKAGE = "oauth2-mock-server@8.2.3"
NPM_SERVER = NPM_DIR / "node_modules" / "oauth2-mock-server" / "dist"
CLIENT_ID = "pinecone-reader-sandbox"
CLIENT_SECRET = "sandbox-secret-not-for-production"
REDIRECT_URI = "http://127.0.0.1:8765/callback"


class PeerUnavailableError(Exception):
    """A peer could not be installed or started; the bench reports the rest."""


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    url: str
    target: Target
    kinds: tuple[str, ...]
    files: tuple[Path, ...] = ()  # removed when the server stops

    def rss_mb(self) -> float:
        return _status_kb(self.process.pid, "VmRSS") / 1024

    def peak_mb(self) -> float:
        return _status_kb(self.process.pid, "VmHWM") / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for path in self.files:
            path.unlink(missing_ok=True)


def _status_kb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return float("nan")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(name: str, command: list[str], health: str, **target: object) -> Server:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in command]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(BENCH)},
    )
    url = f"http://127.0.0.1:{port}"
    _wait(process, url + health, name)
    kinds = tuple(target.pop("kinds", ("flow", "refresh")))  # type: ignore[arg-type]
    base = Target(url, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, **target)  # type: ignore[arg-type]
    return Server(name, process, url, base, kinds)


def _wait(process: subprocess.Popen[bytes], url: str, name: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerUnavailableError(f"{name} ended at start ({process.returncode})")
        try:
            requests.get(url, timeout=1)
            return
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise PeerUnavailableError(f"{name} did not answer at {url} within 30 s")


def sandbox() -> Server:
    return _start(
        "sandbox",
        [
            sys.executable,
            "-m",
            "kit.sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        "/_sandbox/health",
        kinds=("flow", "refresh", "pages"),
    )


def floor() -> Server:
    """The floor, replaying what a sandbox of the same settings answered."""
    recorder = sandbox()
    try:
        answers = recording.record(recorder.target)
    finally:
        recorder.stop()
    handle, name = tempfile.mkstemp(prefix="floor-answers-", suffix=".json")
    os.close(handle)
    saved = recording.save(answers, Path(name))
    server = _start(
        "floor",
        [sys.executable, str(BENCH / "floor.py"), "{port}", str(saved)],
        "/authorize",
        kinds=("flow", "refresh", "pages"),
    )
    server.files = (saved,)
    return server


def authlib() -> Server:
    return _start(
        "authlib-waitress",
        [sys.executable, str(BENCH / "authlib_peer.py"), "{port}"],
        "/health",
        consent=False,
    )


def npm_mock() -> Server:
    node = shutil.which("node")
    if node is None:
        raise PeerUnavailableError("node is not installed")
    _install_npm_peer()
    return _start(
        "oauth2-mock-server (npm)",
        [
            node,
            str(NPM_SERVER / "oauth2-mock-server.mjs"),
            "-a",
            "127.0.0.1",
            "-p",
            "{port}",
        ],
        "/.well-known/openid-configuration",
        consent=False,
        token_path="/token",
    )


def _install_npm_peer() -> None:
    if (NPM_SERVER / "oauth2-mock-server.mjs").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise PeerUnavailableError("npm is not installed")
    NPM_DIR.mkdir(exist_ok=True)
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(NPM_DIR),
            "--no-audit",
            "--no-fund",
            NPM_PACKAGE,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise PeerUnavailableError(f"npm install {NPM_PACKAGE} failed: {tail}")


STARTERS = {
    "sandbox": sandbox,
    "floor": floor,
    "authlib-waitress": authlib,
    "oauth2-mock-server (npm)": npm_mock,
}

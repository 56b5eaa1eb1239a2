"""The command line's contract: `python -m kit.sandbox` serves in the foreground,
prints its base URL first, explains itself, hides a custom secret, stops with status 0
on Ctrl-C or SIGTERM, and refuses bad options with status 2.
"""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
import requests
from ports import free_port

from kit.sandbox import SANDBOX_CLIENT_ID, SANDBOX_REDIRECT_URI
from kit.sandbox.__main__ import main

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CUSTOM_ID = "my-notebook-app"
CUSTOM_SECRET = "canary-secret-3f1d9a"
CUSTOM_REDIRECT = "http://127.0.0.1:9123/oauth/callback"
LAST_USAGE_LINE = "Press Ctrl-C to stop."


@dataclass
class Cli:
    """A running `python -m kit.sandbox` and what it has printed so far."""

    process: subprocess.Popen[bytes]
    lines: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.lines[0]

    def read_line(self, timeout: float = 10.0) -> str:
        """The next line of stdout; fails the test if none comes in time."""
        assert self.process.stdout is not None
        line = b""
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while not line.endswith(b"\n"):
                left = deadline - time.monotonic()
                assert left > 0 and selector.select(left), f"no output: {line!r}"
                byte = os.read(self.process.stdout.fileno(), 1)
                assert byte, f"stdout closed; stderr: {self.stderr()}"
                line += byte
        text = line.decode().rstrip("\n")
        self.lines.append(text)
        return text

    def read_usage(self) -> list[str]:
        """Every line up to and including the closing hint."""
        while not self.lines or self.lines[-1] != LAST_USAGE_LINE:
            self.read_line()
        return self.lines

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 5.0) -> tuple[str, str]:
        """Send a signal; wait for the exit; return the rest of stdout and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        out, err = self.process.communicate(timeout=timeout)
        return out.decode(), err.decode()

    def stderr(self) -> str:
        self.process.kill()
        _, err = self.process.communicate(timeout=5)
        return err.decode()


def start_cli(*args: str) -> Cli:
    """Start the command line with these options and read its first line."""
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "kit.sandbox", "--host", "127.0.0.1", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    cli = Cli(process)
    cli.read_line()
    return cli


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command line to completion (for options it must refuse)."""
    return subprocess.run(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "kit.sandbox", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )


def exit_status_of_main(args: list[str]) -> int:
    """Run `main` in this process (quicker than a new one) and return its status."""
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code or 0)


@pytest.fixture(scope="module")
def default_cli() -> Iterator[Cli]:
    """The command line without client options, on a port chosen for it."""
    cli = start_cli("--port", str(free_port()))
    cli.read_usage()
    yield cli
    cli.stop()


def test_the_first_line_is_the_base_url_on_the_port_asked_for() -> None:
    port = free_port()
    cli = start_cli("--port", str(port))

    try:
        health = requests.get(f"{cli.url}/_sandbox/health", timeout=5)
    finally:
        cli.stop()

    assert cli.url == f"http://127.0.0.1:{port}"
    assert health.status_code == 200
    assert health.json()["profile"] == "atlassian"


def test_the_usage_text_names_the_sandbox_app_and_its_redirect_uri(
    default_cli: Cli,
) -> None:
    usage = "\n".join(default_cli.lines[1:])

    assert f"ATLASSIAN_CLIENT_ID={SANDBOX_CLIENT_ID}" in usage
    assert f"ATLASSIAN_REDIRECT_URI={SANDBOX_REDIRECT_URI}" in usage
    assert f"ATLASSIAN_AUTH_URL={default_cli.url}" in usage
    assert f"ATLASSIAN_API_URL={default_cli.url}" in usage


def test_the_default_cli_registers_the_kits_own_app(default_cli: Cli) -> None:
    params = {
        "audience": "api.atlassian.com",
        "client_id": SANDBOX_CLIENT_ID,
        "scope": "read:me",
        "redirect_uri": SANDBOX_REDIRECT_URI,
        "state": "s",
        "response_type": "code",
        "prompt": "consent",
    }

    answer = requests.get(f"{default_cli.url}/authorize", params=params, timeout=5)

    assert answer.status_code == 200
    assert "consent_id" in answer.text


def test_the_profile_option_chooses_the_rfc_profile() -> None:
    cli = start_cli("--port", "0", "--profile", "rfc")

    try:
        health = requests.get(f"{cli.url}/_sandbox/health", timeout=5)
    finally:
        cli.stop()

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", cli.url)
    assert health.json()["profile"] == "rfc"


def test_a_custom_app_is_registered_and_its_secret_never_printed() -> None:
    cli = start_cli(
        "--port",
        "0",
        "--client-id",
        CUSTOM_ID,
        "--client-secret",
        CUSTOM_SECRET,
        "--redirect-uri",
        CUSTOM_REDIRECT,
    )
    usage = "\n".join(cli.read_usage())

    wrong = post_token(cli.url, CUSTOM_ID, "not-the-secret")
    right = post_token(cli.url, CUSTOM_ID, CUSTOM_SECRET)
    out, err = cli.stop()

    assert CUSTOM_ID in usage
    assert CUSTOM_REDIRECT in usage
    assert SANDBOX_CLIENT_ID not in usage
    assert wrong.status_code == 401
    assert right.status_code == 400  # authenticated; the code is what is wrong
    assert CUSTOM_SECRET not in usage + out + err


def post_token(url: str, client_id: str, secret: str) -> requests.Response:
    """A code exchange with a made-up code: 401 unless the secret is right."""
    body = {
        "grant_type": "authorization_code",
        "client_id": client_id,
        "client_secret": secret,
        "code": "made-up",
        "redirect_uri": CUSTOM_REDIRECT,
    }
    return requests.post(f"{url}/oauth/token", json=body, timeout=5)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_serving_cli_cleanly_with_status_0(
    sig: signal.Signals,
) -> None:
    cli = start_cli("--port", "0")
    cli.read_usage()
    port = int(cli.url.rsplit(":", 1)[1])
    serving = requests.get(f"{cli.url}/_sandbox/health", timeout=5)

    started = time.monotonic()
    out, err = cli.stop(sig)

    assert serving.status_code == 200
    assert cli.process.returncode == 0
    assert time.monotonic() - started < 5
    assert "The sandbox has stopped." in out
    assert "Traceback" not in err
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_sent_the_moment_the_url_appears_still_stops_cleanly(
    sig: signal.Signals,
) -> None:
    cli = start_cli("--port", "0")

    out, err = cli.stop(sig)

    assert cli.process.returncode == 0
    assert "The sandbox has stopped." in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--profile", "foo"], "invalid choice: 'foo'"),
        (["--port", "abc"], "'abc' is not a port number"),
        (["--port", "70000"], "'70000' is not a port number"),
        (["--port", "-1"], "'-1' is not a port number"),
        (["--client-id", "x"], "give all three of --client-id"),
        (["--client-id", "x", "--client-secret", "y"], "give all three"),
        (
            ["--client-id", "x", "--client-secret", "y", "--redirect-uri", "cb"],
            "is not an absolute http(s) URL",
        ),
    ],
)
def test_bad_options_exit_2_with_a_clear_message(
    args: list[str], complaint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = exit_status_of_main(args)

    printed = capsys.readouterr()
    assert status == 2
    assert printed.out == ""
    assert "usage: python -m kit.sandbox" in printed.err
    assert complaint in printed.err


def test_the_real_command_exits_2_on_a_bad_option() -> None:
    finished = run_cli("--port", "abc")

    assert finished.returncode == 2
    assert finished.stdout == ""
    assert "'abc' is not a port number" in finished.stderr
    assert "Traceback" not in finished.stderr


def test_a_port_in_use_exits_2_naming_the_port(
    default_cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    port = default_cli.url.rsplit(":", 1)[1]

    handler = signal.getsignal(signal.SIGINT)

    status = exit_status_of_main(["--port", port])

    printed = capsys.readouterr()
    assert status == 2
    assert f"127.0.0.1:{port}" in printed.err
    assert "--port" in printed.err
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_partial_client_option_set_never_echoes_the_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = exit_status_of_main(["--client-secret", CUSTOM_SECRET])

    printed = capsys.readouterr()
    assert status == 2
    assert CUSTOM_SECRET not in printed.out + printed.err

"""`python -m kit`, the kit's command line, end to end against a running sandbox:
login with the test in the browser's place, token, call, and the doctor after a
refusal, a declined consent and a call the token's scopes cannot reach.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from kit.sandbox import SANDBOX_CLIENT_SECRET, Sandbox

TIMEOUT = 60


@dataclass
class Kit:
    """Runs `python -m kit` against one sandbox, with its token file in `home`."""

    sandbox: Sandbox
    home: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ATLASSIAN_")}
        env.update(
            ATLASSIAN_AUTH_URL=self.sandbox.url, ATLASSIAN_API_URL=self.sandbox.url
        )
        return env

    def args(self, *words: str) -> list[str]:
        return [sys.executable, "-m", "kit", "--store", str(self.store), *words]

    @property
    def store(self) -> Path:
        return self.home / ".tokens" / "atlassian.token.json"

    def run(self, *words: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(  # noqa: S603 - our own interpreter and module
            self.args(*words),
            env=self.env,
            cwd=self.home,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )

    def login(
        self, decision: str = "accept", *scopes: str
    ) -> subprocess.CompletedProcess[str]:
        """`login --no-browser`, with the test in the browser's place."""
        extra = [w for scope in scopes for w in ("--scope", scope)]
        with subprocess.Popen(  # noqa: S603 - our own interpreter and module
            self.args("login", "--no-browser", "--timeout", "30", *extra),
            env=self.env,
            cwd=self.home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            consent(url, decision)
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        return subprocess.CompletedProcess(
            process.args, process.returncode, url + "\n" + stdout, stderr
        )


def consent(url: str, decision: str) -> None:
    """Open the consent page, press Accept or Cancel, follow to the callback."""
    with requests.Session() as browser:
        page = browser.get(url, timeout=10)
        consent_id = re.search(r"name='consent_id' value='([^']+)'", page.text)
        assert consent_id, page.text[:500]
        site = re.findall(r"name='site' required value='([^']+)'", page.text)[0]
        form = {"consent_id": consent_id.group(1), "decision": decision, "site": site}
        origin = url.split("/authorize", maxsplit=1)[0]
        answer = browser.post(
            f"{origin}/authorize/consent", data=form, allow_redirects=False, timeout=10
        )
        assert answer.status_code == 302, answer.text
        browser.get(answer.headers["location"], timeout=10)


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    sandbox = Sandbox().start()
    yield Kit(sandbox, tmp_path)
    sandbox.stop()


def test_login_prints_the_url_alone_then_saves_the_tokens(kit: Kit) -> None:
    done = kit.login()

    url = done.stdout.splitlines()[0]
    assert done.returncode == 0, done.stderr
    assert url.startswith(kit.sandbox.url + "/authorize?")
    assert " " not in url
    assert kit.store.exists()
    assert "Signed in (sandbox mode)" in done.stderr
    assert "pinecone-labs" in done.stderr


def test_token_shows_the_saved_token_masked_with_its_clocks(kit: Kit) -> None:
    kit.login()
    saved = json.loads(kit.store.read_text())

    shown = kit.run("token")

    assert shown.returncode == 0, shown.stderr
    assert "access token" in shown.stdout
    assert "Refresh-token family" in shown.stdout
    for secret in (saved["tokens"]["access_token"], saved["tokens"]["refresh_token"]):
        assert secret not in shown.stdout + shown.stderr


def test_call_v2_pages_prints_the_json_answer(kit: Kit) -> None:
    kit.login()

    called = kit.run("call", "v2", "pages", "--param", "limit=3")

    assert called.returncode == 0, called.stderr
    body = json.loads(called.stdout)
    assert len(body["results"]) == 3
    assert "next" in body["_links"]


def test_call_v1_search_with_a_cql_parameter(kit: Kit) -> None:
    kit.login()

    called = kit.run(
        "call", "v1", "search", "--param", "cql=type=page", "--param", "limit=2"
    )

    assert called.returncode == 0, called.stderr
    assert len(json.loads(called.stdout)["results"]) == 2


def test_a_call_the_scopes_cannot_reach_fails_before_sending_and_the_doctor_says_why(
    kit: Kit,
) -> None:
    kit.login("accept", "search:confluence offline_access")

    called = kit.run("call", "v2", "spaces")
    doctor = kit.run("doctor")

    assert called.returncode == 1
    assert "read:space:confluence" in called.stderr
    assert "python -m kit doctor" in called.stderr
    assert doctor.returncode == 0
    assert "read:space:confluence" in doctor.stdout


def test_the_gateways_refusal_is_recorded_and_explained_with_curl(kit: Kit) -> None:
    kit.login("accept", "search:confluence offline_access")

    called = kit.run("call", "v2", "spaces", "--no-preflight")
    doctor = kit.run("doctor")

    assert called.returncode == 1
    assert "scope" in called.stderr.lower()
    assert "HTTP/1.1 401" in doctor.stdout
    assert "curl -sS" in doctor.stdout
    assert "$ACCESS_TOKEN" in doctor.stdout
    saved = json.loads(kit.store.read_text())
    assert saved["tokens"]["access_token"] not in doctor.stdout


def test_cancel_on_the_consent_page_ends_login_and_the_doctor_explains_it(
    kit: Kit,
) -> None:
    done = kit.login("cancel")
    doctor = kit.run("doctor")

    assert done.returncode == 1
    assert "declined" in done.stderr.lower()
    assert not kit.store.exists()
    assert "access_denied" in doctor.stdout or "declined" in doctor.stdout.lower()


def test_nothing_printed_holds_the_client_secret(kit: Kit) -> None:
    done = kit.login()
    called = kit.run("call", "v2", "pages", "--param", "limit=1")

    printed = done.stdout + done.stderr + called.stdout + called.stderr
    assert SANDBOX_CLIENT_SECRET not in printed


def test_commands_without_tokens_say_to_log_in(kit: Kit) -> None:
    for words in (("token",), ("call", "v2", "pages")):
        done = kit.run(*words)

        assert done.returncode == 1
        assert "python -m kit login" in done.stderr


def test_a_bad_param_is_explained(kit: Kit) -> None:
    kit.login()

    done = kit.run("call", "v2", "pages", "--param", "limit")

    assert done.returncode == 1
    assert "name=value" in done.stderr


def test_doctor_with_no_failure_says_so(kit: Kit) -> None:
    done = kit.run("doctor")

    assert done.returncode == 0
    assert "No failure recorded" in done.stdout


def test_without_a_sandbox_or_an_app_the_error_says_how_to_start_one(
    tmp_path: Path,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ATLASSIAN_")}

    done = subprocess.run(
        [sys.executable, "-m", "kit", "login", "--no-browser"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )

    assert done.returncode == 1
    assert "ATLASSIAN_AUTH_URL" in done.stderr


def test_call_refreshes_a_token_the_server_calls_dead_and_saves_the_rotation(
    kit: Kit,
) -> None:
    kit.login()
    before = json.loads(kit.store.read_text())
    kit.sandbox.clock.advance(seconds=3601)  # dead on the server, fresh locally

    called = kit.run("call", "v2", "spaces")

    after = json.loads(kit.store.read_text())
    assert called.returncode == 0, called.stderr
    assert after["tokens"]["refresh_token"] != before["tokens"]["refresh_token"]
    assert len(after["lineage"]["rotations"]) == 1


def test_call_refreshes_first_when_the_saved_token_is_due(kit: Kit) -> None:
    kit.login()
    saved = json.loads(kit.store.read_text())
    saved["tokens"]["expires_at"] = saved["tokens"]["received_at"]  # due locally
    kit.store.write_text(json.dumps(saved))

    called = kit.run("call", "v2", "spaces")

    after = json.loads(kit.store.read_text())
    assert called.returncode == 0, called.stderr
    assert after["tokens"]["access_token"] != saved["tokens"]["access_token"]

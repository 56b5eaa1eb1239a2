"""Settings: the two base URLs, and the app's credentials (sandbox or live; case 106).

Masking of the client secret is pinned in displays, DEBUG logs, error messages and
verbose tracebacks (case 101).
"""

from __future__ import annotations

import getpass
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from IPython.core.ultratb import VerboseTB
from sandbox_driver import Flow, kit_frames_text

import kit.sandbox as sandbox_package
from kit.config import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    ConfigError,
    Hosts,
    is_loopback,
    load,
    load_asking_for_secret,
    load_hosts,
)
from kit.errors import NoSandboxError
from kit.sandbox import Sandbox


def test_hosts_default_to_atlassian_when_nothing_is_set() -> None:
    hosts = load_hosts({})

    assert hosts == Hosts(DEFAULT_AUTH_URL, DEFAULT_API_URL)
    assert hosts.is_atlassian


def test_empty_values_count_as_unset() -> None:
    hosts = load_hosts({"ATLASSIAN_AUTH_URL": "", "ATLASSIAN_API_URL": "  "})

    assert hosts.is_atlassian


def test_a_workshop_sandbox_url_is_used_for_both_hosts() -> None:
    url = "http://192.168.1.20:8000/"

    hosts = load_hosts({"ATLASSIAN_AUTH_URL": url, "ATLASSIAN_API_URL": url})

    assert hosts.auth_url == hosts.api_url == "http://192.168.1.20:8000"
    assert not hosts.is_atlassian


def test_the_process_environment_is_read_when_no_mapping_is_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATLASSIAN_API_URL", "http://127.0.0.1:9000")

    hosts = load_hosts()

    assert hosts.api_url == "http://127.0.0.1:9000"
    assert hosts.auth_url == DEFAULT_AUTH_URL


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("auth.atlassian.com", "does not start with"),
        ("ftp://auth.atlassian.com", "does not start with"),
        ("https://", "names no host"),
        ("https://auth.atlassian.com/authorize", "has a path"),
        ("http://127.0.0.1:8000/?x=1", "has a path"),
        ("http://user:pw@127.0.0.1:8000", "user name or password"),
        ("http://127.0.0.1:notaport", "valid port"),
        ("http://127.0.0.1:0", "port 0"),
    ],
)
def test_a_malformed_url_is_refused_with_the_variable_and_the_fix(
    value: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_hosts({"ATLASSIAN_AUTH_URL": value})

    message = str(caught.value)
    assert "`ATLASSIAN_AUTH_URL`" in message
    assert problem in message
    assert "unset it to use Atlassian" in message


def test_a_password_in_a_refused_url_is_not_repeated_in_the_message() -> None:
    # Other values are echoed so that the person sees their typo.
    with pytest.raises(ConfigError, match="user name or password") as caught:
        load_hosts({"ATLASSIAN_API_URL": "http://ada:hunter2@127.0.0.1:1"})

    assert "hunter2" not in str(caught.value)


def test_as_environ_round_trips_through_load_hosts() -> None:
    hosts = Hosts("http://127.0.0.1:8001", "http://127.0.0.1:8002")

    assert load_hosts(hosts.as_environ()) == hosts


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8765/callback", True),
        ("http://127.8.9.1/", True),
        ("http://localhost:8765/callback", True),
        ("http://[::1]:8765/callback", True),
        ("http://192.168.1.20:8000", False),
        ("https://auth.atlassian.com", False),
        ("http://localhost.evil.example/", False),
    ],
)
def test_is_loopback_recognises_only_this_machine(url: str, expected: bool) -> None:
    assert is_loopback(url) is expected


def test_a_running_sandbox_answers_at_the_hosts_its_url_gives() -> None:
    sandbox = Sandbox("atlassian").start()
    try:
        hosts = load_hosts(Hosts(sandbox.url, sandbox.url).as_environ())
        health = requests.get(f"{hosts.auth_url}/_sandbox/health", timeout=5)
    finally:
        sandbox.stop()

    assert health.status_code == 200


# --- The app's credentials: `load()` (sandbox or live) -------------------------

REPO = Path(__file__).resolve().parent.parent
CANARY_SECRET = "CANARY-SECRET-0123456789abcdefghijklmnop"
LIVE = {
    "ATLASSIAN_CLIENT_ID": "pQ7rS9tU1vW3xY5zA7bC9dE1fG3hI5jK",
    "ATLASSIAN_CLIENT_SECRET": CANARY_SECRET,
    "ATLASSIAN_REDIRECT_URI": "http://localhost:8765/callback",
}


def write_env(directory: Path, values: dict[str, str], name: str = ".env") -> Path:
    path = directory / name
    path.write_text("".join(f"{key}={value}\n" for key, value in values.items()))
    return path


def test_the_sandbox_constants_are_the_sandbox_apps() -> None:
    assert (SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REDIRECT_URI) == (
        sandbox_package.SANDBOX_CLIENT_ID,
        sandbox_package.SANDBOX_CLIENT_SECRET,
        sandbox_package.SANDBOX_REDIRECT_URI,
    )


def test_without_client_values_the_sandbox_app_is_used_at_the_given_url() -> None:
    config = load(env_file=None, environ={}, sandbox_url="http://127.0.0.1:8123/")

    assert config.mode == "sandbox"
    assert config.is_sandbox
    assert config.client_id == SANDBOX_CLIENT_ID
    assert config.client_secret.reveal() == SANDBOX_CLIENT_SECRET
    assert config.redirect_uri == SANDBOX_REDIRECT_URI
    assert config.hosts == Hosts("http://127.0.0.1:8123", "http://127.0.0.1:8123")


def test_a_workshop_sandbox_named_by_the_host_variables_needs_no_url() -> None:
    shared = Hosts("http://192.168.1.20:8000", "http://192.168.1.20:8000")

    config = load(env_file=None, environ={**shared.as_environ()})

    assert config.mode == "sandbox"
    assert config.hosts == shared


def test_sandbox_mode_without_any_sandbox_url_says_how_to_get_one() -> None:
    with pytest.raises(ConfigError, match="no sandbox URL was given") as caught:
        load(env_file=None, environ={})

    assert "load(sandbox_url=sandbox.url)" in str(caught.value)
    assert "`.env.example`" in str(caught.value)
    assert isinstance(caught.value, NoSandboxError)


def test_a_malformed_sandbox_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="`sandbox_url` is 'localhost:8000'"):
        load(env_file=None, environ={}, sandbox_url="localhost:8000")


def test_all_three_client_values_select_live_mode_on_atlassian() -> None:
    config = load(env_file=None, environ=LIVE, sandbox_url="http://127.0.0.1:1")

    assert config.mode == "live"
    assert config.client_id == LIVE["ATLASSIAN_CLIENT_ID"]
    assert config.client_secret.reveal() == CANARY_SECRET
    assert config.redirect_uri == "http://localhost:8765/callback"
    assert config.hosts.is_atlassian


def test_live_values_are_read_from_the_env_file(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, LIVE)

    config = load(env_file=env_file, environ={})

    assert config.mode == "live"
    assert config.client_secret.reveal() == CANARY_SECRET


def test_the_environment_wins_over_the_env_file(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, LIVE)

    config = load(
        env_file=env_file,
        environ={"ATLASSIAN_REDIRECT_URI": "https://reader.example/callback"},
    )

    assert config.redirect_uri == "https://reader.example/callback"
    assert config.client_id == LIVE["ATLASSIAN_CLIENT_ID"]


def test_an_empty_variable_in_the_environment_hides_the_files_value(
    tmp_path: Path,
) -> None:
    # As with load_dotenv: a variable present in the environment wins, even empty.
    env_file = write_env(tmp_path, LIVE)

    with pytest.raises(ConfigError, match="`ATLASSIAN_CLIENT_ID` is not set"):
        load(env_file=env_file, environ={"ATLASSIAN_CLIENT_ID": ""})


def test_a_bare_env_file_name_is_found_in_a_parent_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(tmp_path, LIVE)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    monkeypatch.chdir(notebooks)

    config = load(environ={})

    assert config.mode == "live"


def test_env_file_none_reads_the_environment_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_env(tmp_path, LIVE)
    monkeypatch.chdir(tmp_path)

    config = load(env_file=None, environ={}, sandbox_url="http://127.0.0.1:1")

    assert config.mode == "sandbox"


def test_an_explicit_env_file_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist") as caught:
        load(env_file=tmp_path / "missing.env", environ={})

    assert "env_file=None" in str(caught.value)


def test_load_leaves_the_process_environment_alone(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, LIVE)
    before = dict(os.environ)

    load(env_file=env_file)

    assert dict(os.environ) == before


def test_the_process_environment_is_read_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in LIVE.items():
        monkeypatch.setenv(name, value)

    config = load(env_file=None)

    assert config.mode == "live"


def test_importing_kit_config_reads_no_env_file_and_loads_no_dotenv() -> None:
    code = "import sys, kit.config; print('dotenv' in sys.modules)"

    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == "False"


@pytest.mark.parametrize(
    "missing",
    [
        ("ATLASSIAN_CLIENT_ID",),
        ("ATLASSIAN_CLIENT_SECRET",),
        ("ATLASSIAN_REDIRECT_URI",),
        ("ATLASSIAN_CLIENT_ID", "ATLASSIAN_CLIENT_SECRET"),
        ("ATLASSIAN_CLIENT_SECRET", "ATLASSIAN_REDIRECT_URI"),
    ],
)
def test_some_client_values_without_the_others_name_the_missing_and_the_fix(
    missing: tuple[str, ...],
) -> None:
    environ = {name: value for name, value in LIVE.items() if name not in missing}

    with pytest.raises(ConfigError) as caught:
        load(env_file=None, environ=environ)

    message = str(caught.value)
    for name in missing:
        assert f"`{name}`" in message.split(" not set", maxsplit=1)[0]
    assert "Set all three for live mode" in message
    assert "empty all three to use the sandbox" in message
    assert CANARY_SECRET not in message


def test_a_missing_secret_points_at_the_hidden_prompt() -> None:
    environ = {**LIVE, "ATLASSIAN_CLIENT_SECRET": ""}

    with pytest.raises(ConfigError, match="load_asking_for_secret"):
        load(env_file=None, environ=environ)


def test_an_unedited_copy_of_env_example_is_refused_as_a_placeholder() -> None:
    with pytest.raises(ConfigError, match="still holds the placeholder") as caught:
        load(env_file=REPO / ".env.example", environ={})

    message = str(caught.value)
    assert "`ATLASSIAN_CLIENT_ID`" in message
    assert "your-client-id-from-developer-console" in message
    assert "developer.atlassian.com/console/myapps" in message


def test_a_placeholder_secret_is_refused_without_echoing_it() -> None:
    environ = {**LIVE, "ATLASSIAN_CLIENT_SECRET": "your-secret-here-0123456789"}

    with pytest.raises(ConfigError, match="`ATLASSIAN_CLIENT_SECRET` still") as caught:
        load(env_file=None, environ=environ)

    assert "your-secret-here-0123456789" not in str(caught.value)


def test_a_secret_with_a_space_inside_is_refused_without_echoing_it() -> None:
    environ = {**LIVE, "ATLASSIAN_CLIENT_SECRET": "Secret: " + CANARY_SECRET}

    with pytest.raises(ConfigError, match="contains a space") as caught:
        load(env_file=None, environ=environ)

    assert CANARY_SECRET not in str(caught.value)
    assert CANARY_SECRET not in kit_frames_text(caught.value)


@pytest.mark.parametrize(
    ("uri", "problem"),
    [
        ("/callback", "is not an absolute"),
        ("localhost:8765/callback", "is not an absolute"),
        ("ftp://localhost/callback", "is not an absolute"),
        ("https:///callback", "names no host"),
        ("https://reader.example/callback#done", "`#fragment`"),
        ("https://reader.example/callback#", "`#fragment`"),
        ("http://reader.example/callback", "plain `http` on a host other"),
        ("http://192.168.1.20:8765/callback", "plain `http` on a host other"),
        ("https://ada:pw@reader.example/callback", "user name or password"),
        ("http://localhost:99999/callback", "valid port"),
    ],
)
def test_a_malformed_redirect_uri_names_the_variable_and_the_fix(
    uri: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(env_file=None, environ={**LIVE, "ATLASSIAN_REDIRECT_URI": uri})

    message = str(caught.value)
    assert message.startswith("`ATLASSIAN_REDIRECT_URI` is ")
    assert problem in message
    assert "registered for your app in the developer console" in message


@pytest.mark.parametrize(
    "uri",
    [
        "https://reader.example/callback",
        "https://reader.example/callback?tab=1",
        "http://localhost:8765/callback",
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "https://hub.example.org/user/ada/proxy/8765/callback",  # behind a hub
        "http://127.0.0.1:8888/user/ada/proxy/8765/callback",
    ],
)
def test_https_anywhere_and_http_on_loopback_are_accepted(uri: str) -> None:
    config = load(env_file=None, environ={**LIVE, "ATLASSIAN_REDIRECT_URI": uri})

    assert config.redirect_uri == uri


def test_every_display_of_a_config_masks_the_secret() -> None:
    config = load(env_file=None, environ=LIVE)

    shown = [repr(config), str(config), f"{config}", config._repr_html_()]

    for text in shown:
        assert CANARY_SECRET not in text
    assert "client_secret=Secret('CANA…(masked)')" in repr(config)


def test_debug_logs_of_load_hold_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="kit")

    config = load(env_file=None, environ=LIVE)

    assert config.client_secret.fingerprint in caplog.text
    assert CANARY_SECRET not in caplog.text


def test_a_refused_config_leaves_no_secret_in_the_kit_frames(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, {**LIVE, "ATLASSIAN_REDIRECT_URI": "/callback"})

    with pytest.raises(ConfigError) as caught:
        load(env_file=env_file, environ={})

    assert CANARY_SECRET not in kit_frames_text(caught.value)


def test_a_verbose_ipython_traceback_of_a_refused_config_holds_no_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What `%xmode Verbose` prints in a notebook (case 101).
    for name, value in {**LIVE, "ATLASSIAN_REDIRECT_URI": "/callback"}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load(env_file=None)

    text = VerboseTB(theme_name="nocolor").text(
        type(caught.value), caught.value, caught.value.__traceback__
    )

    assert "_check_redirect_uri" in text
    assert CANARY_SECRET not in text


def test_load_never_prompts_for_the_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(prompt: str = "") -> str:
        raise AssertionError("load() must not prompt")

    monkeypatch.setattr(getpass, "getpass", refuse)

    with pytest.raises(ConfigError, match="`ATLASSIAN_CLIENT_SECRET` is not set"):
        load(env_file=None, environ={**LIVE, "ATLASSIAN_CLIENT_SECRET": ""})


def test_load_asking_for_secret_asks_once_with_a_hidden_prompt() -> None:
    prompts: list[str] = []

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return CANARY_SECRET + "\n"

    environ = {**LIVE, "ATLASSIAN_CLIENT_SECRET": ""}
    config = load_asking_for_secret(env_file=None, environ=environ, ask=ask)

    assert len(prompts) == 1
    assert "input hidden" in prompts[0]
    assert config.mode == "live"
    assert config.client_secret.reveal() == CANARY_SECRET


@pytest.mark.parametrize(
    "environ",
    [LIVE, {}],
    ids=["secret already set", "sandbox mode"],
)
def test_load_asking_for_secret_asks_only_when_the_secret_is_missing(
    environ: dict[str, str],
) -> None:
    def ask(prompt: str) -> str:
        raise AssertionError("no prompt expected")

    config = load_asking_for_secret(
        env_file=None, environ=environ, sandbox_url="http://127.0.0.1:1", ask=ask
    )

    assert config.mode == ("live" if environ else "sandbox")


def test_a_sandbox_config_reaches_a_running_sandboxs_token_endpoint(
    flow: Flow,
) -> None:
    config = load(env_file=None, environ={}, sandbox_url=flow.url)
    code = flow.code(redirect_uri=config.redirect_uri, client_id=config.client_id)

    answer = flow.exchange(
        code,
        client_id=config.client_id,
        client_secret=config.client_secret.reveal(),
        redirect_uri=config.redirect_uri,
    )

    assert answer.status_code == 200
    assert config.hosts.auth_url == flow.url

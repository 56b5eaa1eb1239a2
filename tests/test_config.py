"""The two base URLs: Atlassian's by default, a sandbox's when the environment says."""

from __future__ import annotations

import pytest
import requests

from kit.config import (
    DEFAULT_API_URL,
    DEFAULT_AUTH_URL,
    ConfigError,
    Hosts,
    is_loopback,
    load_hosts,
)
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

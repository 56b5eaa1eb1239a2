"""kit.sandbox_controls: the client side of the sandbox's `/_sandbox/` controls."""

from __future__ import annotations

import pytest
from sandbox_driver import START_TIME, Flow

from kit import config as settings
from kit.errors import ConfigError
from kit.exchange import exchange_code
from kit.sandbox import SANDBOX_CLIENT_ID
from kit.sandbox_controls import SandboxControls


def test_the_clock_reads_and_moves_forward(atlassian_flow: Flow) -> None:
    controls = SandboxControls(atlassian_flow.url)

    before = controls.now()
    after = controls.advance(minutes=11)

    assert before == START_TIME
    assert after == START_TIME + 660
    assert atlassian_flow.sandbox.clock.now() == after


def test_settings_change_and_read_back(atlassian_flow: Flow) -> None:
    controls = SandboxControls(atlassian_flow.url)

    changed = controls.configure(code_lifetime=120)

    assert changed["code_lifetime"] == 120
    assert controls.settings()["code_lifetime"] == 120
    assert atlassian_flow.sandbox.settings.code_lifetime == 120


def test_a_refused_change_says_what_the_sandbox_said(atlassian_flow: Flow) -> None:
    controls = SandboxControls(atlassian_flow.url)

    with pytest.raises(ConfigError, match="profile"):
        controls.configure(profile="rfc")


def test_revoke_kills_the_grants_tokens(atlassian_flow: Flow) -> None:
    config = settings.load(env_file=None, environ={}, sandbox_url=atlassian_flow.url)
    tokens = exchange_code(config, atlassian_flow.code())

    SandboxControls.of(config).revoke(SANDBOX_CLIENT_ID)

    answer = atlassian_flow.api("/me", tokens.access_token.reveal())
    assert answer.status_code == 401


def test_health_tells_a_sandbox_from_nothing(atlassian_flow: Flow) -> None:
    assert SandboxControls(atlassian_flow.url).is_up()
    assert not SandboxControls("http://127.0.0.1:9").is_up()


def test_atlassians_own_hosts_have_no_controls() -> None:
    config = settings.load(
        env_file=None,
        environ={
            "ATLASSIAN_CLIENT_ID": "an-app-of-mine",
            "ATLASSIAN_CLIENT_SECRET": "CANARY-SECRET-abcdefghijklmnop",
            "ATLASSIAN_REDIRECT_URI": "http://127.0.0.1:8765/callback",
        },
    )

    with pytest.raises(ConfigError, match="cannot be moved"):
        SandboxControls.of(config)

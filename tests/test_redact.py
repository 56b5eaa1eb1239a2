"""`kit.redact`: secrets masked in every syntax they travel in, and in library logs.

Ends with case 103: a real token exchange with every logger at DEBUG, and with
`http.client` printing the wire, shows no code, secret or token.
"""

from __future__ import annotations

import http.client
import logging
import secrets

import pytest
import requests
from sandbox_driver import Flow

import kit.config
from kit.exchange import exchange_code
from kit.record import History
from kit.redact import (
    KNOWN_MODULE_LOGGERS,
    MIN_REMEMBERED_LENGTH,
    RedactingFilter,
    protect_library_logs,
    remember,
    scrub,
)
from kit.sandbox import SANDBOX_CLIENT_SECRET
from kit.tokens import Secret


def fresh_secret(prefix: str = "tok") -> str:
    """A value no other test has remembered."""
    return f"{prefix}-{secrets.token_hex(12)}"


def debug_record(logger: str, message: str, *args: object) -> logging.LogRecord:
    """A DEBUG record as `logger.debug(message, *args)` would make it."""
    return logging.LogRecord(logger, logging.DEBUG, __file__, 1, message, args, None)


def library_filters(name: str) -> list[logging.Filter]:
    return [
        f for f in logging.getLogger(name).filters if isinstance(f, RedactingFilter)
    ]


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "client_secret=s3cr3t-value-123456&code=abcdefgh12345678&grant_type=x",
            "client_secret=s3cr…(masked)&code=abcd…(masked)&grant_type=x",
        ),
        (
            '{"access_token": "eyJhbGciOiJIUzI1NiJ9.e30.sig", "expires_in": 3600}',
            '{"access_token": "eyJh…(masked)", "expires_in": 3600}',
        ),
        (
            '{"access_token":"eyJhbGciOiJIUzI1NiJ9.e30.sig","token_type":"Bearer"}',
            '{"access_token":"eyJh…(masked)","token_type":"Bearer"}',
        ),
        (
            "{'refresh_token': 'r1-0123456789abcdef', 'scope': 'read:me'}",
            "{'refresh_token': 'r1-0…(masked)', 'scope': 'read:me'}",
        ),
        (
            "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig",
            "Authorization: Bearer eyJh…(masked)",
        ),
        (
            "{'Authorization': 'Basic cGluZWNvbmU6c2VjcmV0'}",
            "{'Authorization': 'Basic cGlu…(masked)'}",
        ),
        (
            "GET /callback?state=abc123&code=xyz HTTP/1.1",
            "GET /callback?state=…(masked)&code=…(masked) HTTP/1.1",
        ),
        ("code_verifier=0123456789abcdefghij", "code_verifier=0123…(masked)"),
    ],
)
def test_each_syntax_of_a_secret_field_is_masked(text: str, masked: str) -> None:
    scrubbed = scrub(text)

    assert scrubbed == masked


@pytest.mark.parametrize(
    "text",
    [
        "status_code=400",
        "error_code: invalid_grant",
        "barcode=0123456789abcdef",
        "grant_type=authorization_code",
        "response_type=code&scope=read:me",
        '{"code": 401, "message": "Unauthorized; scope does not match"}',
        '{"errors": [{"code": "NOT_FOUND", "title": "Not Found"}]}',
        "Exchanged code 5d41402abc4b for access token 7d793037a076.",
    ],
)
def test_words_that_only_contain_a_secret_name_stay_as_they_are(text: str) -> None:
    scrubbed = scrub(text)

    assert scrubbed == text


@pytest.mark.parametrize(
    "challenge",
    [
        'Bearer realm="api.atlassian.com", error="invalid_token"',
        'Bearer realm="api.atlassian.com", error="insufficient_scope", scope="a b"',
        'Basic realm="sandbox"',
    ],
)
def test_an_authentication_challenge_is_no_credential(challenge: str) -> None:
    # RFC 6750 section 3: `WWW-Authenticate` carries auth-params, not a token.
    scrubbed = scrub(f"WWW-Authenticate: {challenge}")

    assert scrubbed == f"WWW-Authenticate: {challenge}"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("client_secret=ABCDEF0123456789XYZ", "client_secret=ABCD…(masked)"),
        ('{"password": "HUNTER22"}', '{"password": "…(masked)"}'),
        ("state=A1B2C3D4E5F6", "state=…(masked)"),
        ('{"refresh_token": "R1"}', '{"refresh_token": "…(masked)"}'),
    ],
)
def test_an_upper_case_value_is_masked_in_every_field_but_code(
    text: str, masked: str
) -> None:
    # Only a `code` field holds statuses and error names such as `NOT_FOUND`.
    scrubbed = scrub(text)

    assert scrubbed == masked


def test_scrubbing_twice_changes_nothing_more() -> None:
    text = "code=abcdefgh12345678&state=abc Authorization: Bearer eyJhbGciOi.e30.x"

    once = scrub(text)

    assert scrub(once) == once


def test_a_remembered_secret_is_masked_wherever_it_appears() -> None:
    token = fresh_secret()
    remember(token)

    scrubbed = scrub(f"<html>Your token {token} was echoed back</html>")

    assert token not in scrubbed
    assert scrubbed == f"<html>Your token {token[:4]}…(masked) was echoed back</html>"


def test_a_remembered_secret_may_be_given_as_a_secret_object() -> None:
    token = fresh_secret()
    remember(Secret(token), None)

    scrubbed = scrub(f"echo:{token}:echo")

    assert scrubbed == f"echo:{token[:4]}…(masked):echo"


def test_a_short_value_is_not_remembered_so_ordinary_words_survive() -> None:
    short = "abc1234"
    assert len(short) < MIN_REMEMBERED_LENGTH
    remember(short)

    scrubbed = scrub("error abc1234 at line 3")

    assert scrubbed == "error abc1234 at line 3"


def test_the_filter_formats_the_record_once_and_leaves_no_arguments() -> None:
    token = fresh_secret()
    record = debug_record(
        "requests_oauthlib.oauth2_session",
        "Supplying data %s to %s",
        {"access_token": token},
        "/oauth/token",
    )

    kept = RedactingFilter().filter(record)

    assert kept is True
    assert record.args == ()
    assert (
        record.msg
        == f"Supplying data {{'access_token': '{token[:4]}…(masked)'}} to /oauth/token"
    )
    assert record.getMessage() == record.msg


def test_the_filter_keeps_a_record_whose_arguments_do_not_fit_its_message() -> None:
    token = fresh_secret()
    record = debug_record("urllib3.connectionpool", "%s %s %s", f"code={token}")

    RedactingFilter().filter(record)

    assert record.args == ()
    assert token not in record.getMessage()
    assert "%s %s %s" in record.getMessage()


@pytest.mark.parametrize(
    "name",
    [
        "requests_oauthlib.oauth2_session",
        "oauthlib.oauth2.rfc6749.parameters",
        "urllib3.connectionpool",
        "urllib3.connection",
    ],
)
def test_import_kit_puts_the_filter_on_each_library_logger(name: str) -> None:
    assert name in KNOWN_MODULE_LOGGERS

    assert len(library_filters(name)) == 1


def test_a_library_logger_created_later_is_protected_by_the_next_call() -> None:
    name = f"urllib3.later_{secrets.token_hex(4)}"
    logging.getLogger(name)

    protect_library_logs()
    protect_library_logs()

    assert len(library_filters(name)) == 1


def test_loggers_outside_the_libraries_get_no_filter() -> None:
    name = f"urllib3_lookalike.{secrets.token_hex(4)}"
    logging.getLogger(name)

    protect_library_logs()

    assert library_filters(name) == []
    assert library_filters("kit.transport") == []


def test_a_token_exchange_logged_at_debug_shows_no_secret(
    atlassian_flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    # Case 103, with every logger of every library at DEBUG.
    code = atlassian_flow.code()
    config = kit.config.load(env_file=None, environ={}, sandbox_url=atlassian_flow.url)
    caplog.set_level(logging.DEBUG)

    tokens = exchange_code(config, code, history=History())

    assert tokens.refresh_token is not None
    loggers = {record.name for record in caplog.records}
    assert "requests_oauthlib.oauth2_session" in loggers
    assert "urllib3.connectionpool" in loggers
    assert any("client_secret=" in r.getMessage() for r in caplog.records)
    assert any("access_token" in r.getMessage() for r in caplog.records)
    values = {
        "code": code,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "access_token": tokens.access_token.reveal(),
        "refresh_token": tokens.refresh_token.reveal(),
    }
    shown = caplog.text + "\n".join(repr(r.args) for r in caplog.records)
    leaked = [name for name, value in values.items() if value in shown]
    assert leaked == []


def test_http_client_debug_output_shows_nothing_of_a_kit_exchange(
    atlassian_flow: Flow,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Case 103: `debuglevel = 1` prints every byte sent, for other sessions.
    code = atlassian_flow.code()
    config = kit.config.load(env_file=None, environ={}, sandbox_url=atlassian_flow.url)
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    capfd.readouterr()

    tokens = exchange_code(config, code, history=History())
    kit_out, kit_err = capfd.readouterr()
    requests.get(f"{atlassian_flow.url}/", timeout=5)
    plain_out, _ = capfd.readouterr()

    assert "send:" in plain_out
    assert tokens.refresh_token is not None
    printed = kit_out + kit_err
    assert "send:" not in printed
    for value in (
        code,
        SANDBOX_CLIENT_SECRET,
        tokens.access_token.reveal(),
        tokens.refresh_token.reveal(),
    ):
        assert value not in printed

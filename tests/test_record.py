"""`kit.record`: each exchange kept masked, shown raw, and exported to run again.

The curl and Python exports of a real token exchange are run against the sandbox
with the masked values given back as environment variables.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests
from fake_http import FakeHTTP
from sandbox_driver import Flow

import kit.config
from kit.exchange import exchange_code
from kit.record import MAX_BODY_CHARS, Exchange, History, from_failure, from_response
from kit.sandbox import SANDBOX_CLIENT_SECRET

TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJyZWNvcmQtdGVzdCJ9.c2lnbmF0dXJl"
REFRESH = "rt-record-test-0123456789abcdefghijklmnop"
SECRET = "client-secret-of-the-record-tests-0123"
CODE = "code-of-the-record-tests-abcdefghijklmnop"


@pytest.fixture
def fake() -> Iterator[FakeHTTP]:
    with FakeHTTP() as server:
        yield server


@pytest.fixture
def exchanged(atlassian_flow: Flow) -> Exchange:
    """The record of a real code exchange against the sandbox, by the kit."""
    config = kit.config.load(env_file=None, environ={}, sandbox_url=atlassian_flow.url)
    history = History()
    exchange_code(config, atlassian_flow.code(), history=history)
    assert len(history) == 1
    record = history.last
    assert record is not None and record.status == 200
    return record


def token_exchange(**overrides: object) -> Exchange:
    """A recorded code exchange, written out by hand."""
    values: dict[str, object] = {
        "step": "exchange",
        "method": "POST",
        "url": "https://auth.atlassian.com/oauth/token",
        "request_headers": (
            ("Accept", "application/json"),
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Content-Length", "120"),
        ),
        "request_body": "grant_type=authorization_code&code=code…(masked)",
        "status": 200,
        "reason": "OK",
        "response_headers": (("Content-Type", "application/json"),),
        "response_body": '{"access_token":"eyJh…(masked)","expires_in":3600}',
        "elapsed": 0.012,
        "started_at": 1_800_000_000.0,
    }
    values.update(overrides)
    return Exchange(**values)  # type: ignore[arg-type]


def test_an_authorization_header_keeps_its_scheme_and_masks_the_credential(
    fake: FakeHTTP,
) -> None:
    fake.answer("/me", json={"account_id": "5b10ac8d82e05b22cc7d4ef5"})

    answer = requests.get(
        f"{fake.url}/me", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    record = from_response(answer, "me")

    headers = dict(record.request_headers)
    assert headers["Authorization"] == "Bearer eyJh…(masked)"
    assert TOKEN not in repr(record.to_dict())


def test_a_basic_header_keeps_its_scheme_too(fake: FakeHTTP) -> None:
    fake.answer("/oauth/token", json={"error": "invalid_client"})

    answer = requests.post(
        f"{fake.url}/oauth/token", auth=("pinecone", SECRET), timeout=5
    )
    record = from_response(answer, "exchange")

    assert dict(record.request_headers)["Authorization"] == "Basic cGlu…(masked)"


def test_a_token_echoed_in_the_answer_is_masked_once_its_header_was_seen(
    fake: FakeHTTP,
) -> None:
    echoed = f"{TOKEN}-echo"
    fake.answer("/echo", body=f"<p>You sent {echoed}</p>".encode())

    answer = requests.get(
        f"{fake.url}/echo", headers={"Authorization": f"Bearer {echoed}"}, timeout=5
    )
    record = from_response(answer, "api")

    assert record.response_body == "<p>You sent eyJh…(masked)</p>"


def test_a_form_body_masks_secret_fields_and_keeps_the_rest_as_sent(
    fake: FakeHTTP,
) -> None:
    sent = (
        "grant_type=authorization_code&client_id=pinecone-reader"
        f"&client_secret={SECRET}&code={CODE}"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&scope=read%3Ame+x"
    )
    fake.answer("/oauth/token", json={})

    answer = requests.post(
        f"{fake.url}/oauth/token",
        data=sent,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=5,
    )
    record = from_response(answer, "exchange")

    assert fake.received[0].body == sent.encode()
    assert record.request_body == (
        "grant_type=authorization_code&client_id=pinecone-reader"
        "&client_secret=clie…(masked)&code=code…(masked)"
        "&redirect_uri=http%3A%2F%2F127.0.0.1%3A8765%2Fcallback&scope=read%3Ame+x"
    )


def test_secrets_in_the_url_query_are_masked_and_the_rest_kept_as_sent(
    fake: FakeHTTP,
) -> None:
    fake.answer("/callback")
    query = f"code={CODE}&state=state-0123456789abcdef&scope=read%3Ame+x&iss=a%2Fb"

    answer = requests.get(f"{fake.url}/callback?{query}", timeout=5)
    record = from_response(answer, "api")

    assert fake.received[0].path == f"/callback?{query}"
    assert record.url == (
        f"{fake.url}/callback?code=code…(masked)&state=stat…(masked)"
        "&scope=read%3Ame+x&iss=a%2Fb"
    )


def test_tokens_in_a_json_answer_are_masked_and_the_rest_is_kept(
    fake: FakeHTTP,
) -> None:
    fake.answer(
        "/oauth/token",
        json={
            "access_token": TOKEN,
            "refresh_token": REFRESH,
            "expires_in": 3600,
            "token_type": "Bearer",
            "scope": "read:me offline_access",
        },
    )

    answer = requests.post(f"{fake.url}/oauth/token", timeout=5)
    record = from_response(answer, "exchange")

    assert record.json() == {
        "access_token": "eyJh…(masked)",
        "refresh_token": "rt-r…(masked)",
        "expires_in": 3600,
        "token_type": "Bearer",
        "scope": "read:me offline_access",
    }
    assert record.header("CONTENT-TYPE") == "application/json"
    assert record.header("x-missing") is None


def test_an_atlassian_error_body_stays_readable_json(fake: FakeHTTP) -> None:
    body = {"code": 401, "message": "Unauthorized; scope does not match"}
    fake.answer("/wiki/api/v2/pages", 401, json=body)

    answer = requests.get(f"{fake.url}/wiki/api/v2/pages", timeout=5)
    record = from_response(answer, "api")

    assert record.json() == body
    assert not record.ok


def test_a_long_body_is_cut_at_max_body_chars(fake: FakeHTTP) -> None:
    fake.answer("/big", body=b"a" * (MAX_BODY_CHARS + 500))

    answer = requests.get(f"{fake.url}/big", timeout=5)
    record = from_response(answer, "api")

    assert record.response_body == "a" * MAX_BODY_CHARS + "\n… (500 more characters)"


def test_an_empty_answer_has_no_body() -> None:
    record = token_exchange(status=204, reason="No Content", response_body=None)

    assert record.json() is None
    assert record.ok


def test_raw_shows_the_request_then_the_answer_as_http_text() -> None:
    record = token_exchange()

    text = record.raw()

    assert text == (
        "POST /oauth/token HTTP/1.1\n"
        "Host: auth.atlassian.com\n"
        "Accept: application/json\n"
        "Content-Type: application/x-www-form-urlencoded\n"
        "Content-Length: 120\n"
        "\n"
        "grant_type=authorization_code&code=code…(masked)\n"
        "\n"
        "HTTP/1.1 200 OK\n"
        "Content-Type: application/json\n"
        "\n"
        "{\n"
        '  "access_token": "eyJh…(masked)",\n'
        '  "expires_in": 3600\n'
        "}\n"
    )


def test_raw_of_a_request_that_got_no_answer_says_why() -> None:
    record = token_exchange(
        status=None,
        reason="",
        response_headers=(),
        response_body=None,
        failure="the answer timed out",
    )

    text = record.raw()

    assert text.endswith("code=code…(masked)\n\n(no answer: the answer timed out)\n")
    assert record.summary() == "POST /oauth/token -> no answer (the answer timed out)"


def test_summary_is_method_path_status_and_time() -> None:
    record = token_exchange()

    assert record.summary() == "POST /oauth/token -> 200 OK in 12 ms"
    assert repr(record) == "<Exchange exchange: POST /oauth/token -> 200 OK in 12 ms>"


def test_a_record_survives_a_round_trip_through_json() -> None:
    record = token_exchange()

    again = Exchange.from_dict(json.loads(json.dumps(record.to_dict())))

    assert again == record


def test_from_dict_refuses_a_record_with_unknown_fields() -> None:
    fields = {**token_exchange().to_dict(), "cookie_jar": {}}

    with pytest.raises(TypeError, match="cookie_jar"):
        Exchange.from_dict(fields)


def test_a_failure_record_keeps_the_request_and_masks_the_failure_text() -> None:
    request = requests.Request(
        "POST",
        "https://auth.atlassian.com/oauth/token",
        data={"client_secret": SECRET, "code": CODE},
    ).prepare()

    record = from_failure(
        request, "exchange", f"refused code={CODE}", started_at=1_800_000_000.0
    )

    assert record.status is None and not record.ok
    assert record.request_body == "client_secret=clie…(masked)&code=code…(masked)"
    assert record.failure == "refused code=code…(masked)"


def test_history_keeps_only_the_newest_exchanges_oldest_first() -> None:
    history = History(size=3)

    for n in range(5):
        history.add(token_exchange(url=f"https://auth.atlassian.com/{n}"))

    assert len(history) == 3
    assert [urlsplit(e.url).path for e in history] == ["/2", "/3", "/4"]
    assert history.last is not None and urlsplit(history.last.url).path == "/4"


def test_last_failure_is_the_newest_error_status_or_missing_answer() -> None:
    history = History()
    timed_out = token_exchange(status=None, failure="the answer timed out")
    refused = token_exchange(status=400, reason="Bad Request")

    history.add(timed_out)
    history.add(refused)
    history.add(token_exchange())

    assert history.last_failure is refused
    assert History().last_failure is None and History().last is None


def test_a_subscriber_sees_each_new_exchange_until_it_unsubscribes() -> None:
    history = History()
    seen: list[Exchange] = []
    first, second = token_exchange(), token_exchange(status=500)

    history.subscribe(seen.append)
    history.add(first)
    history.unsubscribe(seen.append)
    history.add(second)
    history.unsubscribe(seen.append)

    assert seen == [first]
    assert len(history) == 2


def test_history_clear_forgets_every_exchange() -> None:
    history = History()
    history.add(token_exchange())

    history.clear()

    assert len(history) == 0 and history.last is None


def test_a_recorded_token_exchange_holds_no_secret_of_the_flow(
    atlassian_flow: Flow,
) -> None:
    config = kit.config.load(env_file=None, environ={}, sandbox_url=atlassian_flow.url)
    history = History()
    code = atlassian_flow.code()

    tokens = exchange_code(config, code, history=history)

    assert tokens.refresh_token is not None
    record = history.last
    assert record is not None
    shown = json.dumps(record.to_dict()) + record.raw() + record.to_python()
    for value in (
        code,
        SANDBOX_CLIENT_SECRET,
        tokens.access_token.reveal(),
        tokens.refresh_token.reveal(),
    ):
        assert value not in shown
    assert "&client_secret=sand…(masked)&code=eyJh…(masked)&" in record.raw()
    assert record.json()["refresh_token"] == "eyJh…(masked)"


def test_the_python_export_sends_the_exchange_again(
    exchanged: Exchange, atlassian_flow: Flow
) -> None:
    program = exchanged.to_python()
    environment = {
        **os.environ,
        "CODE": atlassian_flow.code(),
        "CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
    }

    done = subprocess.run(  # noqa: S603 - our own interpreter, the kit's export
        [sys.executable, "-c", program],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert program.startswith("# Set CLIENT_SECRET, CODE first")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("200 "), done.stdout
    assert '"access_token"' in done.stdout


def test_the_curl_export_is_the_same_request_with_variables(
    exchanged: Exchange, atlassian_flow: Flow
) -> None:
    command = exchanged.to_curl()
    words = shlex.split(command.replace("\\\n", ""), comments=True)

    assert command.startswith("# Set CLIENT_SECRET, CODE first")
    assert words == [
        "curl", "-sS", "-X", "POST", f"{atlassian_flow.url}/oauth/token",
        "-H", "Accept: application/json",
        "-H", "Content-Type: application/x-www-form-urlencoded",
        "--data-urlencode", "grant_type=authorization_code",
        "--data-urlencode", "client_id=pinecone-reader-sandbox",
        "--data-urlencode", "client_secret=$CLIENT_SECRET",
        "--data-urlencode", "code=$CODE",
        "--data-urlencode", "redirect_uri=http://127.0.0.1:8765/callback",
    ]  # fmt: skip
    # With curl at hand, bash runs the command as a learner would paste it.
    curl, bash = shutil.which("curl"), shutil.which("bash")
    if curl is None or bash is None:
        return
    environment = {
        **os.environ,
        "CODE": atlassian_flow.code(),
        "CLIENT_SECRET": SANDBOX_CLIENT_SECRET,
    }
    done = subprocess.run(  # noqa: S603 - bash runs the kit's export
        [bash, "-c", command + " -w '\\n%{http_code}'"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    assert status == "200", done.stdout
    assert "access_token" in json.loads(body)


def test_a_bearer_header_is_exported_as_the_access_token_variable() -> None:
    record = token_exchange(
        method="GET",
        url="https://api.atlassian.com/me",
        request_headers=(
            ("Accept", "application/json"),
            ("Authorization", "Bearer eyJh…(masked)"),
            ("User-Agent", "python-requests/2.34"),
        ),
        request_body=None,
    )

    words = shlex.split(record.to_curl().replace("\\\n", ""), comments=True)
    program = record.to_python()

    assert words == [
        "curl", "-sS", "https://api.atlassian.com/me",
        "-H", "Accept: application/json",
        "-H", "Authorization: Bearer $ACCESS_TOKEN",
    ]  # fmt: skip
    assert "'Authorization': 'Bearer ' + os.environ['ACCESS_TOKEN']," in program
    assert "User-Agent" not in program
    compile(program, "<export>", "exec")


def test_a_literal_dollar_in_a_value_stays_literal_in_both_exports() -> None:
    exchange = token_exchange(
        request_body=(
            "grant_type=authorization_code&note=costs+%24HOME&"
            "client_secret=sand%E2%80%A6%28masked%29"
        )
    )

    curl = exchange.to_curl()
    python = exchange.to_python()

    words = shlex.split(curl.split("\n", 1)[1].replace("\\\n", " "))
    assert "note=costs $HOME" in words
    assert "client_secret=$CLIENT_SECRET" in words
    assert "'note': 'costs $HOME'" in python
    assert "os.environ['CLIENT_SECRET']" in python
    assert "os.environ['HOME']" not in python
    assert curl.startswith("# Set CLIENT_SECRET first")

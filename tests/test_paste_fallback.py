"""The paste-the-redirected-URL fallback: `parse_redirected_url`.

The same checks as the loopback catcher (state first, single use, iss, one code),
and helpful errors for what people paste by mistake.
"""

from __future__ import annotations

import secrets

import pytest

from kit.callback import parse_redirected_url
from kit.errors import (
    AccessDeniedError,
    AuthorizationError,
    IssuerMismatchError,
    MalformedCallbackError,
    StateMismatchError,
)

REDIRECT_URI = "http://127.0.0.1:8765/callback"


@pytest.fixture
def state() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture
def code() -> str:
    return "code-" + secrets.token_urlsafe(24)


def paste(url: str, state: str, **options: str) -> object:
    return parse_redirected_url(url, state, redirect_uri=REDIRECT_URI, **options)


def test_pasted_redirect_gives_the_code_stamped_with_the_injected_clock(
    state: str, code: str
) -> None:
    url = f"  {REDIRECT_URI}?code={code}&state={state}\n"

    result = parse_redirected_url(
        url, state, redirect_uri=REDIRECT_URI, now=lambda: 1_800_000_000.0
    )

    assert result.code == code
    assert result.redirect_uri == REDIRECT_URI
    assert result.received_at == 1_800_000_000.0
    assert result.via == "paste"
    assert code not in repr(result)
    assert state not in repr(result)


def test_a_redirect_uri_behind_a_proxy_works_like_a_loopback_one(
    state: str, code: str
) -> None:
    proxied = "https://hub.example/user/ada/proxy/8765/callback"

    result = parse_redirected_url(
        f"{proxied}?code={code}&state={state}", state, redirect_uri=proxied
    )

    assert result.code == code


def test_pasting_the_authorization_url_says_to_open_it_and_accept_first(
    state: str,
) -> None:
    authorization_url = (
        "https://auth.atlassian.com/authorize?audience=api.atlassian.com"
        f"&client_id=abc&scope=read%3Ame&redirect_uri={REDIRECT_URI}"
        f"&state={state}&response_type=code&prompt=consent"
    )

    with pytest.raises(MalformedCallbackError, match=r"authorization URL.*Accept"):
        paste(authorization_url, state)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9999/callback?code={code}&state={state}",
        "http://localhost:8765/callback?code={code}&state={state}",
        "http://127.0.0.1:8765/other?code={code}&state={state}",
        "https://evil.example/callback?code={code}&state={state}",
    ],
    ids=["other port", "other host name", "other path", "other site"],
)
def test_a_url_of_another_host_or_path_is_refused_without_echoing_its_query(
    url: str, state: str, code: str
) -> None:
    with pytest.raises(MalformedCallbackError, match="not the redirect URI") as wrong:
        paste(url.format(code=code, state=state), state)

    assert REDIRECT_URI in wrong.value.message
    assert code not in wrong.value.message
    assert state not in wrong.value.message


def test_a_url_cut_before_its_query_says_it_was_cut_short(state: str) -> None:
    with pytest.raises(MalformedCallbackError, match="cut short"):
        paste(REDIRECT_URI + "?", state)


def test_a_url_cut_before_its_code_says_it_was_cut_short(state: str) -> None:
    with pytest.raises(MalformedCallbackError, match="cut short"):
        paste(f"{REDIRECT_URI}?state={state}", state)


def test_a_url_cut_before_its_state_is_rejected_as_unproven(code: str) -> None:
    with pytest.raises(StateMismatchError, match="cut short"):
        paste(f"{REDIRECT_URI}?code={code}", "the-state")


def test_a_url_cut_inside_its_state_is_rejected_as_a_mismatch(
    state: str, code: str
) -> None:
    with pytest.raises(StateMismatchError, match="whole address"):
        paste(f"{REDIRECT_URI}?code={code}&state={state[:5]}", state)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "Nothing was pasted"),
        ("code=abc&state=xyz", "not a whole URL"),
        (f"{REDIRECT_URI}?code=abc\n&state=xyz", "line breaks"),
        ("http://[::1/callback?code=a", "not a URL"),
    ],
    ids=["empty", "query only", "line break", "broken URL"],
)
def test_text_that_is_not_a_whole_url_is_refused_with_what_to_copy(
    text: str, problem: str, state: str
) -> None:
    with pytest.raises(MalformedCallbackError, match=problem) as refused:
        paste(text, state)

    assert "copy the whole address" in refused.value.message


def test_a_wrong_state_is_rejected_before_the_error_is_read(state: str) -> None:
    url = f"{REDIRECT_URI}?error=access_denied&state=forged"

    with pytest.raises(StateMismatchError):
        paste(url, state)


def test_a_decline_raises_access_denied(state: str) -> None:
    url = (
        f"{REDIRECT_URI}?error=access_denied&error_description=No+thanks&state={state}"
    )

    with pytest.raises(AccessDeniedError, match="No thanks"):
        paste(url, state)


def test_another_error_keeps_its_code_and_drops_other_parameters(state: str) -> None:
    url = (
        f"{REDIRECT_URI}?error=server_error&error_description=down"
        f"&access_token=SECRET-AT&state={state}"
    )

    with pytest.raises(AuthorizationError, match="server_error") as failed:
        paste(url, state)

    assert failed.value.error == "server_error"
    assert "SECRET-AT" not in failed.value.message


@pytest.mark.parametrize(
    "query",
    [
        "code=a&code=b&state={state}",
        "code=a&error=access_denied&state={state}",
        "code=%ZZ&state={state}",
        "code=%FF&state={state}",
        "code=a%00b&state={state}",
    ],
    ids=["code twice", "code and error", "bad escape", "not UTF-8", "NUL"],
)
def test_malformed_queries_are_refused_and_leave_the_state_usable(
    query: str, state: str, code: str
) -> None:
    with pytest.raises(MalformedCallbackError):
        paste(f"{REDIRECT_URI}?" + query.format(state=state), state)

    assert paste(f"{REDIRECT_URI}?code={code}&state={state}", state)


def test_a_state_works_once(state: str, code: str) -> None:
    url = f"{REDIRECT_URI}?code={code}&state={state}"
    paste(url, state)

    with pytest.raises(StateMismatchError, match="works only once"):
        paste(url, state)


@pytest.mark.parametrize("iss", ["&iss=https%3A%2F%2Fattacker.example", ""])
def test_an_unexpected_or_missing_iss_is_refused_and_spends_the_state(
    iss: str, state: str, code: str
) -> None:
    url = f"{REDIRECT_URI}?code={code}&state={state}{iss}"
    expected = "https://auth.example"

    with pytest.raises(IssuerMismatchError, match="RFC 9207"):
        paste(url, state, expected_iss=expected)
    with pytest.raises(StateMismatchError, match="works only once"):
        paste(f"{url}&iss=https%3A%2F%2Fauth.example", state, expected_iss=expected)


def test_the_expected_iss_is_url_decoded_and_kept(state: str, code: str) -> None:
    url = f"{REDIRECT_URI}?code={code}&state={state}&iss=https%3A%2F%2Fauth.example"

    result = parse_redirected_url(
        url, state, redirect_uri=REDIRECT_URI, expected_iss="https://auth.example"
    )

    assert result.iss == "https://auth.example"

"""How the token endpoint reads a request: client authentication, methods, bodies.

Security cases 40-49 (authentication, throttling, query parameters, methods,
duplicates) and 70-74 (malformed, mistyped, oversized and Unicode bodies), in both
profiles; every error passes case 60.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from urllib.parse import quote_plus

import pytest
from oauth_checks import assert_oauth_error
from sandbox_driver import Flow, advance_clock
from token_support import (
    OTHER_APP,
    bad_client_answer,
    bad_code_answer,
    code_grant,
    flows_of_both_profiles,
    post_token,
    settings_restored,
)

from kit.sandbox import (
    PROFILES,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    App,
)
from kit.sandbox.token_errors import TokenError

ODD_SECRET = "odd:secret%20with+plus and-space"
ODD_APP = App(
    client_id="odd-app:sandbox",
    client_secret=ODD_SECRET,
    name="An app with an awkward secret",
    redirect_uris=(SANDBOX_REDIRECT_URI,),
    scopes=frozenset({"read:me"}),
)


@pytest.fixture(scope="module")
def flows() -> Iterator[dict[str, Flow]]:
    """One sandbox per profile for the whole module."""
    with flows_of_both_profiles(OTHER_APP, ODD_APP) as flows:
        yield flows


@pytest.fixture(autouse=True)
def _settings_restored(flows: dict[str, Flow]) -> Iterator[None]:
    """A test may change settings; the next one starts from the profile's own."""
    with settings_restored(flows):
        yield


@pytest.fixture(params=PROFILES)
def shared_flow(request: pytest.FixtureRequest, flows: dict[str, Flow]) -> Flow:
    """The module's sandbox of each profile in turn."""
    return flows[str(request.param)]


@pytest.fixture
def atlassian(flows: dict[str, Flow]) -> Flow:
    return flows["atlassian"]


@pytest.fixture
def rfc(flows: dict[str, Flow]) -> Flow:
    return flows["rfc"]


def basic(client_id: str, secret: str) -> dict[str, str]:
    """An Authorization header encoded as RFC 6749 section 2.3.1 says."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def raw_basic(client_id: str, secret: str) -> dict[str, str]:
    """An Authorization header without the form-encoding step."""
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}


def throttle_test_app(flow: Flow, client_id: str) -> App:
    """A fresh app, so that its failures count against nobody else."""
    app = App(
        client_id=client_id,
        client_secret=f"{client_id}-secret",
        name="Throttled",
        redirect_uris=(SANDBOX_REDIRECT_URI,),
        scopes=frozenset({"read:me"}),
    )
    flow.sandbox.register_app(app)
    return app


def redeemable(flow: Flow, code: str) -> bool:
    """Whether the code still buys tokens: proof a refused request used nothing up."""
    return flow.exchange(code).status_code == 200


# Cases 40-42: failed client authentication.


def test_wrong_secret_by_basic_is_unauthorised(shared_flow: Flow) -> None:
    code = shared_flow.code()
    body = code_grant(code, client_id=None, client_secret=None)

    answer = post_token(
        shared_flow, data=body, headers=basic(SANDBOX_CLIENT_ID, "wrong")
    )

    bad_client_answer(shared_flow, answer)
    assert redeemable(shared_flow, code)


def test_unknown_client_by_basic_is_unauthorised(shared_flow: Flow) -> None:
    code = shared_flow.code()
    body = code_grant(code, client_id=None, client_secret=None)

    answer = post_token(
        shared_flow, data=body, headers=basic("no-such-app", "whatever")
    )

    bad_client_answer(shared_flow, answer)


def test_rfc_failed_basic_authentication_challenges_with_basic(rfc: Flow) -> None:
    body = code_grant(rfc.code(), client_id=None, client_secret=None)

    answer = post_token(rfc, data=body, headers=basic(SANDBOX_CLIENT_ID, "wrong"))

    assert answer.headers["www-authenticate"].startswith("Basic realm=")


def test_malformed_basic_header_is_unauthorised(shared_flow: Flow) -> None:
    body = code_grant(shared_flow.code(), client_id=None, client_secret=None)

    answer = post_token(shared_flow, data=body, headers={"Authorization": "Basic !!!"})

    bad_client_answer(shared_flow, answer)


def test_wrong_secret_in_the_body_is_unauthorised(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, client_secret="wrong-secret")

    bad_client_answer(shared_flow, answer)
    assert redeemable(shared_flow, code)


def test_atlassian_wrong_secret_in_json_gets_atlassians_exact_body(
    atlassian: Flow,
) -> None:
    code = atlassian.code()

    answer = post_token(atlassian, json=code_grant(code, client_secret="wrong-secret"))

    bad_client_answer(atlassian, answer)


def test_client_id_without_a_secret_is_unauthorised(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, client_secret=None)

    bad_client_answer(shared_flow, answer)


def test_no_client_credentials_at_all_is_unauthorised(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, client_id=None, client_secret=None)

    bad_client_answer(shared_flow, answer)


def test_another_apps_secret_does_not_authenticate_this_app(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, client_secret=OTHER_APP.client_secret)

    bad_client_answer(shared_flow, answer)


# Cases 43 and 44: one authentication method, one client.


def test_basic_and_a_body_secret_together_are_an_invalid_request(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code()

    answer = post_token(
        shared_flow,
        data=code_grant(code),
        headers=basic(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET),
    )

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert redeemable(shared_flow, code)


def test_basic_client_differing_from_the_body_client_gets_no_tokens(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code()
    body = code_grant(code, client_id=OTHER_APP.client_id, client_secret=None)

    answer = post_token(
        shared_flow, data=body, headers=basic(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    )

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert redeemable(shared_flow, code)


# Case 45: secrets holding `:`, `%` and `+` in Basic.


def test_form_encoded_basic_credentials_with_odd_characters_authenticate(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code(client_id=ODD_APP.client_id, scope="read:me")
    body = code_grant(code, client_id=None, client_secret=None)

    answer = post_token(
        shared_flow, data=body, headers=basic(ODD_APP.client_id, ODD_SECRET)
    )

    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "secret", ["odd:secret%20with+plus and-space", "odd:secret%ZZ"], ids=["+", "%"]
)
def test_raw_basic_credentials_with_plus_or_percent_fail(
    shared_flow: Flow, secret: str
) -> None:
    code = shared_flow.code(client_id=ODD_APP.client_id, scope="read:me")
    body = code_grant(code, client_id=None, client_secret=None)

    answer = post_token(
        shared_flow, data=body, headers=raw_basic("odd-app:sandbox", secret)
    )

    bad_client_answer(shared_flow, answer)


def test_form_encoded_client_secret_in_the_body_authenticates(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code(client_id=ODD_APP.client_id, scope="read:me")

    answer = shared_flow.exchange(
        code, client_id=ODD_APP.client_id, client_secret=ODD_SECRET
    )

    assert answer.status_code == 200, answer.text


# Case 46: brute force is throttled, then forgiven.


def test_failed_authentications_are_throttled_then_forgiven(
    shared_flow: Flow,
) -> None:
    app = throttle_test_app(shared_flow, "throttled-app")
    code = shared_flow.code(client_id=app.client_id, scope="read:me")
    good = {"client_id": app.client_id, "client_secret": app.client_secret}

    failures = [
        shared_flow.exchange(code, client_id=app.client_id, client_secret=f"guess-{n}")
        for n in range(30)
    ]
    locked = shared_flow.exchange(code, **good)
    advance_clock(shared_flow, 60)
    forgiven = shared_flow.exchange(code, **good)

    assert [a.status_code for a in failures] == [401] * 20 + [429] * 10
    assert_oauth_error(locked, 429, "invalid_client", secrets=[code])
    assert locked.headers["retry-after"] == "60"
    assert forgiven.status_code == 200, forgiven.text


def test_retry_after_is_exact_to_the_second(shared_flow: Flow) -> None:
    app = throttle_test_app(shared_flow, "retry-after-app")
    good = {"client_id": app.client_id, "client_secret": app.client_secret}
    for n in range(20):
        shared_flow.exchange("x", client_id=app.client_id, client_secret=str(n))
    advance_clock(shared_flow, 15)
    code = shared_flow.code(client_id=app.client_id, scope="read:me")

    locked = shared_flow.exchange(code, **good)
    advance_clock(shared_flow, int(locked.headers["retry-after"]) - 1)
    still_locked = shared_flow.exchange(code, **good)
    advance_clock(shared_flow, 1)
    forgiven = shared_flow.exchange(code, **good)

    assert locked.headers["retry-after"] == "45"
    assert still_locked.status_code == 429
    assert forgiven.status_code == 200, forgiven.text


def test_throttling_one_client_leaves_others_alone(shared_flow: Flow) -> None:
    for n in range(21):
        shared_flow.exchange("x", client_id="brute-forced", client_secret=str(n))

    answer = shared_flow.exchange(shared_flow.code())

    assert answer.status_code == 200, answer.text


# Case 47: nothing in the URL query.


@pytest.mark.parametrize("name", ["client_secret", "code", "client_id"])
def test_parameters_in_the_url_query_are_an_invalid_request(
    shared_flow: Flow, name: str
) -> None:
    code = shared_flow.code()
    values = code_grant(code)

    answer = post_token(shared_flow, params={name: values[name]}, data=values)

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert redeemable(shared_flow, code)


# Case 48: POST only.


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_not_allowed_and_issue_nothing(
    shared_flow: Flow, method: str
) -> None:
    code = shared_flow.code()

    answer = shared_flow.http.request(
        method, f"{shared_flow.url}/oauth/token", data=code_grant(code)
    )

    assert_oauth_error(answer, 405, "invalid_request", secrets=[code])
    assert answer.headers["allow"] == "POST"
    assert redeemable(shared_flow, code)


# Case 49: no parameter twice.


@pytest.mark.parametrize("name", ["code", "grant_type", "redirect_uri", "client_id"])
def test_repeated_form_parameter_is_an_invalid_request(
    shared_flow: Flow, name: str
) -> None:
    code = shared_flow.code()
    pairs = list(code_grant(code).items())
    pairs.append((name, dict(pairs)[name]))

    answer = post_token(shared_flow, data=pairs)

    body = assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert body["error_description"] == f"{name} is repeated"
    assert redeemable(shared_flow, code)


def test_atlassian_repeated_json_member_is_an_invalid_request(
    atlassian: Flow,
) -> None:
    code = atlassian.code()
    text = (
        '{"grant_type":"authorization_code","grant_type":"authorization_code",'
        f'"client_id":"{SANDBOX_CLIENT_ID}","client_secret":"{SANDBOX_CLIENT_SECRET}",'
        f'"code":"{code}","redirect_uri":"{SANDBOX_REDIRECT_URI}"}}'
    )

    answer = post_token(
        atlassian, data=text, headers={"Content-Type": "application/json"}
    )

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])


# Case 70: bytes that do not decode.


@pytest.mark.parametrize(
    "body",
    [
        b"grant_type=authorization_code&code=\xff\xfe",
        b"grant_type=authorization_code&code=%ZZ",
        b"grant_type=authorization_code&code=%FF%FE",
        b"grant_type=authorization_code&code=abc%",
    ],
    ids=["raw-non-utf8", "bad-escape", "escaped-non-utf8", "cut-escape"],
)
def test_undecodable_form_body_is_an_invalid_request(
    shared_flow: Flow, body: bytes
) -> None:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}

    answer = post_token(shared_flow, data=body, headers=headers)

    assert_oauth_error(answer, 400, "invalid_request")


@pytest.mark.parametrize(
    "name", ["client_id", "client_secret", "redirect_uri", "code", "grant_type"]
)
def test_nul_in_a_form_field_is_an_invalid_request(
    shared_flow: Flow, name: str
) -> None:
    code = shared_flow.code()
    values = code_grant(code)
    values[name] += "\x00"

    answer = post_token(shared_flow, data=values)

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])


def test_atlassian_nul_in_the_code_gets_the_bad_code_body(atlassian: Flow) -> None:
    code = atlassian.code()

    answer = atlassian.exchange(code + "\x00")

    body = assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert body["error_description"] == "authorization_code is invalid"


# Case 71: content types.


@pytest.mark.parametrize(
    "content_type", ["application/json", "text/plain", None, "multipart/form-data"]
)
def test_rfc_accepts_only_form_bodies(rfc: Flow, content_type: str | None) -> None:
    code = rfc.code()
    headers = {"Content-Type": content_type} if content_type else {}
    payload = "&".join(f"{k}={quote_plus(v)}" for k, v in code_grant(code).items())

    answer = post_token(rfc, data=payload.encode(), headers=headers)

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert redeemable(rfc, code)


def test_rfc_refuses_the_documented_atlassian_json_body(rfc: Flow) -> None:
    code = rfc.code()

    answer = post_token(rfc, json=code_grant(code))

    body = assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert "application/x-www-form-urlencoded" in body["error_description"]


@pytest.mark.parametrize("content_type", ["text/plain", None])
def test_atlassian_refuses_bodies_neither_json_nor_form(
    atlassian: Flow, content_type: str | None
) -> None:
    headers = {"Content-Type": content_type} if content_type else {}

    answer = post_token(
        atlassian, data=b'{"grant_type":"authorization_code"}', headers=headers
    )

    assert_oauth_error(answer, 400, "invalid_request")


def test_content_type_parameters_and_case_are_tolerated(shared_flow: Flow) -> None:
    code = shared_flow.code()
    payload = "&".join(f"{k}={quote_plus(v)}" for k, v in code_grant(code).items())
    headers = {"Content-Type": "Application/X-WWW-Form-URLEncoded; charset=UTF-8"}

    answer = post_token(shared_flow, data=payload.encode(), headers=headers)

    assert answer.status_code == 200, answer.text


# Case 72: JSON bodies that are not an object of strings.


@pytest.mark.parametrize(
    "text",
    [
        '{"grant_type": "authorization_code",',
        "[]",
        '[{"grant_type": "authorization_code"}]',
        '"authorization_code"',
        '{"grant_type": "authorization_code", "code": 123}',
        '{"grant_type": "authorization_code", "code": {"value": "x"}}',
        '{"grant_type": "authorization_code", "code": ["x"]}',
        '{"grant_type": "authorization_code", "code": null}',
        '{"grant_type": "authorization_code", "code": true}',
        "[" * 100_000,
    ],
    ids=[
        "truncated",
        "empty-array",
        "array",
        "string",
        "number",
        "object",
        "list",
        "null",
        "boolean",
        "deep",
    ],
)
def test_atlassian_json_that_is_not_an_object_of_strings_is_refused(
    atlassian: Flow, text: str
) -> None:
    headers = {"Content-Type": "application/json"}

    answer = post_token(atlassian, data=text.encode(), headers=headers)

    assert_oauth_error(answer, 400, "invalid_request")


def test_atlassian_json_in_another_encoding_is_refused(atlassian: Flow) -> None:
    text = '{"grant_type": "authorization_code", "code": "caf\xe9"}'

    answer = post_token(
        atlassian,
        data=text.encode("latin-1"),
        headers={"Content-Type": "application/json"},
    )

    assert_oauth_error(answer, 400, "invalid_request")


# Case 73: very long values.


def test_code_of_100_kib_is_refused_without_a_server_error(shared_flow: Flow) -> None:
    code = "c" * 100 * 1024

    answer = shared_flow.exchange(code)

    bad_code_answer(shared_flow, answer, code)
    assert len(answer.content) < 1024


def test_client_id_of_10_kib_is_unauthorised(shared_flow: Flow) -> None:
    answer = shared_flow.exchange("x", client_id="i" * 10 * 1024)

    bad_client_answer(shared_flow, answer)
    assert len(answer.content) < 1024


def test_url_over_64_kib_is_refused_and_the_server_keeps_serving(
    shared_flow: Flow,
) -> None:
    code = shared_flow.code()

    refused = post_token(
        shared_flow, params={"pad": "p" * 70 * 1024}, data=code_grant(code)
    )
    later = shared_flow.exchange(code)

    assert 400 <= refused.status_code < 500
    assert later.status_code == 200, later.text


# Case 74: Unicode where ASCII belongs.


@pytest.mark.parametrize(
    "client_id", ["\uff50inecone-reader-sandbox", "pinecone-reader-sandbox\u200b"]
)
def test_look_alike_client_id_is_unauthorised_in_ascii(
    shared_flow: Flow, client_id: str
) -> None:
    code = shared_flow.code()

    answer = shared_flow.exchange(code, client_id=client_id)

    bad_client_answer(shared_flow, answer)
    assert answer.content.isascii()
    assert redeemable(shared_flow, code)


@pytest.mark.parametrize(
    "name",
    ['gr\\"ant\\u00e9', SANDBOX_CLIENT_SECRET, "x\\r\\nSet-Cookie: a=b"],
    ids=["quote-and-accent", "a-secret", "crlf"],
)
def test_unknown_parameter_names_are_never_echoed(atlassian: Flow, name: str) -> None:
    text = '{"grant_type":"authorization_code","' + name + '":1}'

    answer = post_token(
        atlassian, data=text.encode(), headers={"Content-Type": "application/json"}
    )

    body = assert_oauth_error(answer, 400, "invalid_request")
    assert body["error_description"] == "a parameter must be a string"


def test_repeated_unknown_form_parameter_is_refused_without_its_name(
    shared_flow: Flow,
) -> None:
    pairs = [("grant_type", "authorization_code"), ("x-pad", "1"), ("x-pad", "2")]

    answer = post_token(shared_flow, data=pairs)

    body = assert_oauth_error(answer, 400, "invalid_request")
    assert body["error_description"] == "a parameter is repeated"


# Secrets stay out of the logs.


def test_token_endpoint_logs_no_secret_code_or_token(
    shared_flow: Flow, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    code = shared_flow.code()

    tokens = shared_flow.exchange(code).json()
    shared_flow.exchange(code)
    shared_flow.refresh(tokens["refresh_token"])
    shared_flow.exchange(code, client_secret=SANDBOX_CLIENT_SECRET + "x")

    for value in (code, SANDBOX_CLIENT_SECRET, *tokens.values()):
        assert str(value) not in caplog.text


# Case 60 also covers what the server refuses before the endpoint reads a thing.


def test_body_over_1_mib_gets_a_well_formed_token_error(shared_flow: Flow) -> None:
    code = shared_flow.code()
    body = code_grant(code, pad="p" * (1024 * 1024 + 1))

    answer = post_token(shared_flow, data=body)

    assert_oauth_error(answer, 413, "invalid_request", secrets=[code])
    assert redeemable(shared_flow, code)


def test_undecodable_query_gets_a_well_formed_token_error(shared_flow: Flow) -> None:
    code = shared_flow.code()

    answer = post_token(shared_flow, params="code=%FF", data=code_grant(code))

    assert_oauth_error(answer, 400, "invalid_request", secrets=[code])
    assert redeemable(shared_flow, code)


def test_error_descriptions_replace_characters_rfc_6749_forbids() -> None:
    error = TokenError(400, "invalid_request", 'a "quoted"\\ line\r\n\tend é')

    response = error.response()

    assert error.description == "a ?quoted?? line???end ?"
    assert response.header("cache-control") == "no-store"

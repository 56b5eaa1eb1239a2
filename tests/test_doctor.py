"""The doctor: each known failure maps to its step, cause, fix and trap.

Synthetic answers cover every row of the fact sheet; real answers of a running
sandbox, in both profiles, check that the doctor reads what the server says.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sandbox_driver import Flow, advance_clock

from kit import errors
from kit.doctor import Diagnosis, diagnose, diagnose_exchange, diagnose_url
from kit.record import Exchange, from_response
from kit.redact import scrub
from kit.sandbox.scenario import PINECONE

TOKEN_URL = "https://auth.atlassian.com/oauth/token"
GATEWAY = f"https://api.atlassian.com/ex/confluence/{PINECONE.cloud_id}"
CANARY = "CANARY-SECRET"


def answer(
    step: str,
    status: int | None,
    body: Any = None,
    *,
    url: str = TOKEN_URL,
    headers: tuple[tuple[str, str], ...] = (),
    failure: str | None = None,
) -> Exchange:
    """An exchange as `kit.record` keeps it; a dict or list body becomes JSON."""
    text = body if isinstance(body, str) or body is None else json.dumps(body)
    return Exchange(
        step=step,
        method="POST" if url == TOKEN_URL else "GET",
        url=url,
        status=status,
        response_body=text,
        response_headers=headers,
        failure=failure,
    )


def oauth(error: str, description: str | None = None) -> dict[str, str]:
    body = {"error": error}
    return body | ({"error_description": description} if description else {})


def v2_error(status: int, code: str, title: str) -> dict[str, Any]:
    return {
        "errors": [{"status": status, "code": code, "title": title, "detail": None}]
    }


def plain(diagnosis: Diagnosis) -> str:
    """The diagnosis's texts on one line each, for looking words up."""
    parts = (diagnosis.what, diagnosis.cause, diagnosis.fix, diagnosis.trap)
    return "\n".join(part for part in (*parts, diagnosis.seen) if part)


def shown(diagnosis: Diagnosis) -> str:
    """Everything a learner could see of a diagnosis."""
    return "\n".join(
        [str(diagnosis), repr(diagnosis), diagnosis.message(), diagnosis._repr_html_()]
    )


# Synthetic answers ---------------------------------------------------------------

SCOPE_MISMATCH = {"code": 401, "message": "Unauthorized; scope does not match"}
UNAUTHORIZED = {"code": 401, "message": "Unauthorized"}
GONE = {
    "statusCode": 410,
    "message": "com.atlassian.confluence.api.service.exceptions.GoneException: "
    "This deprecated endpoint has been removed.",
}
SPRING_404 = {
    "timestamp": "2026-09-14T06:59:19Z",
    "status": 404,
    "error": "Not Found",
    "message": "No message available",
    "path": "/ex/confluence/x/wiki/api/v2/spaces",
}
TOMCAT_401 = (
    "<!doctype html><html><head><title>HTTP Status 401 - Unauthorized</title>"
    "</head><body><h1>HTTP Status 401 - Unauthorized</h1></body></html>"
)

EXCHANGE_CASES = [
    pytest.param(
        answer("exchange", 401, oauth("access_denied", "Unauthorized")),
        "exchange",
        ["client id and secret", "ATLASSIAN_CLIENT_SECRET"],
        "declined consent",
        id="wrong-secret-atlassian",
    ),
    pytest.param(
        answer("refresh", 401, oauth("access_denied", "Unauthorized")),
        "refresh",
        ["client id and secret"],
        "declined consent",
        id="wrong-secret-at-refresh",
    ),
    pytest.param(
        answer(
            "exchange", 401, oauth("invalid_client", "Client authentication failed")
        ),
        "exchange",
        ["client id and secret"],
        None,
        id="wrong-secret-rfc",
    ),
    pytest.param(
        answer(
            "exchange",
            429,
            oauth("invalid_client", "Too many failed client authentications"),
            headers=(("Retry-After", "42"),),
        ),
        "exchange",
        ["stopped listening", "Retry-After: 42", "ATLASSIAN_CLIENT_SECRET"],
        None,
        id="too-many-wrong-secrets",
    ),
    pytest.param(
        answer(
            "exchange", 400, oauth("invalid_request", "authorization_code is invalid")
        ),
        "exchange",
        ["refused the authorization code", "exchange_code", "expired"],
        "invalid_grant",
        id="bad-code-atlassian",
    ),
    pytest.param(
        answer("exchange", 403, oauth("invalid_grant", "Invalid authorization code")),
        "exchange",
        ["refused the authorization code"],
        "before 2022",
        id="bad-code-legacy",
    ),
    pytest.param(
        answer("exchange", 400, oauth("invalid_grant", "the code has expired")),
        "exchange",
        ["refused the authorization code", 'invalid_grant "the code has expired"'],
        None,
        id="bad-code-rfc",
    ),
    pytest.param(
        answer("exchange", 400, oauth("invalid_request", "redirect_uri is missing")),
        "exchange",
        ["could not read the request: redirect_uri is missing"],
        None,
        id="missing-parameter",
    ),
    pytest.param(
        answer(
            "refresh", 403, oauth("invalid_grant", "Unknown or invalid refresh token.")
        ),
        "refresh",
        ["for good", "10-minute leeway", "90 days", "365 days", "consents once more"],
        "two workers",
        id="refresh-family-revoked",
    ),
    pytest.param(
        answer(
            "refresh", 403, oauth("unauthorized_client", "refresh_token is invalid")
        ),
        "refresh",
        ["does not know this refresh token", "rotated out", "newest refresh token"],
        "refresh token is unknown",
        id="refresh-token-never-issued",
    ),
    pytest.param(
        answer(
            "refresh", 400, oauth("invalid_grant", "the refresh token was already used")
        ),
        "refresh",
        ["refused the refresh token", "no reuse leeway", "consents once more"],
        None,
        id="refresh-token-dead-rfc",
    ),
    pytest.param(
        answer("refresh", 503, oauth("temporarily_unavailable")),
        "refresh",
        ["server failed (503 temporarily_unavailable)", "Wait a minute"],
        None,
        id="token-endpoint-overloaded",
    ),
    pytest.param(
        answer("api", 401, SCOPE_MISMATCH, url=f"{GATEWAY}/wiki/api/v2/pages"),
        "api",
        ["lacks the scope", "`read:page:confluence`", "granular scopes only", "mixed"],
        "refreshed token",
        id="scope-mismatch-v2-pages",
    ),
    pytest.param(
        answer(
            "api",
            401,
            scrub(json.dumps(SCOPE_MISMATCH)),  # as `kit.record` keeps it
            url=f"{GATEWAY}/wiki/rest/api/search?cql=type%3Dpage",
            headers=(("X-Failure-Category", "FAILURE_CLIENT_SCOPE_CHECK"),),
        ),
        "api",
        ["`search:confluence` or `read:content-details:confluence`"],
        "case 114",
        id="scope-mismatch-v1-search-as-recorded",
    ),
    pytest.param(
        answer("me", 401, SCOPE_MISMATCH, url="https://api.atlassian.com/me"),
        "api",
        ["`read:me`", "User Identity API"],
        "refreshed token",
        id="scope-mismatch-me",
    ),
    pytest.param(
        answer(
            "api",
            403,
            oauth("insufficient_scope", "scope missing"),
            url=f"{GATEWAY}/wiki/api/v2/spaces",
            headers=(
                (
                    "WWW-Authenticate",
                    'Bearer realm="api.atlassian.com", error="insufficient_scope", '
                    'scope="read:space:confluence"',
                ),
            ),
        ),
        "api",
        ["lacks the scope", "`read:space:confluence`"],
        "refreshed token",
        id="insufficient-scope-rfc",
    ),
    pytest.param(
        answer("api", 401, UNAUTHORIZED, url=f"{GATEWAY}/wiki/api/v2/pages"),
        "api",
        ["not accepted", "expired", "Refresh once", "refresh_access_token"],
        None,
        id="expired-token",
    ),
    pytest.param(
        answer(
            "resources",
            401,
            UNAUTHORIZED,
            url="https://api.atlassian.com/oauth/token/accessible-resources",
        ),
        "resources",
        ["not accepted", "Refresh once"],
        None,
        id="expired-token-at-accessible-resources",
    ),
    pytest.param(
        answer(
            "api",
            401,
            oauth("invalid_token", "the token is not valid"),
            url=f"{GATEWAY}/wiki/api/v2/pages",
            headers=(("WWW-Authenticate", 'Bearer realm="x", error="invalid_token"'),),
        ),
        "api",
        ["not accepted", "Refresh once"],
        None,
        id="invalid-token-rfc",
    ),
    pytest.param(
        answer(
            "api",
            401,
            UNAUTHORIZED,
            url=f"{GATEWAY}/wiki/api/v2/pages",
            headers=(("WWW-Authenticate", 'Bearer realm="api.atlassian.com"'),),
        ),
        "api",
        ["no bearer token", "Authorization: Bearer"],
        None,
        id="no-token-rfc",
    ),
    pytest.param(
        answer(
            "api",
            401,
            TOMCAT_401,
            url="https://pinecone-labs.atlassian.net/wiki/api/v2/pages",
        ),
        "api",
        ["site's own domain", "api.atlassian.com/ex/confluence/{cloudid}"],
        "HTML (Tomcat) page",
        id="token-on-site-domain",
    ),
    pytest.param(
        answer(
            "api",
            401,
            UNAUTHORIZED,
            url="https://pinecone-labs.atlassian.net/wiki/rest/api/space",
        ),
        "api",
        ["site's own domain"],
        "any token",
        id="token-on-site-domain-json",
    ),
    pytest.param(
        answer("api", 410, GONE, url=f"{GATEWAY}/wiki/rest/api/space"),
        "api",
        ["gone for 3LO", "`/wiki/rest/api/space`", "`GET /wiki/api/v2/spaces`"],
        None,
        id="gone-v1-space",
    ),
    pytest.param(
        answer("api", 410, GONE, url=f"{GATEWAY}/wiki/rest/api/content/98311"),
        "api",
        ["`GET /wiki/api/v2/pages/{id}`", "v1 search"],
        None,
        id="gone-v1-content-item",
    ),
    pytest.param(
        answer(
            "api", 404, SPRING_404, url="https://api.atlassian.com/ex/confluence/x/wiki"
        ),
        "api",
        ["no such route or cloud id", "accessible-resources"],
        None,
        id="unknown-cloud-id",
    ),
    pytest.param(
        answer(
            "api",
            404,
            v2_error(404, "NOT_FOUND", "Cannot find a page with id [1]"),
            url=f"{GATEWAY}/wiki/api/v2/pages/1",
        ),
        "api",
        ["Cannot find a page with id [1]", "404 for both", "may not see it"],
        None,
        id="v2-not-found",
    ),
    pytest.param(
        answer(
            "api",
            404,
            {
                "statusCode": 404,
                "message": "No space with key : X",
                "reason": "Not Found",
            },
            url=f"{GATEWAY}/wiki/rest/api/space/X",
        ),
        "api",
        ["No space with key : X", "404 for both"],
        None,
        id="v1-not-found",
    ),
    pytest.param(
        answer(
            "api",
            400,
            v2_error(400, "INVALID_REQUEST_PARAMETER", "limit must be 1 to 250"),
            url=f"{GATEWAY}/wiki/api/v2/pages?limit=999",
        ),
        "api",
        ["rejected a parameter: limit must be 1 to 250"],
        None,
        id="v2-bad-parameter",
    ),
    pytest.param(
        answer(
            "api",
            403,
            {
                "message": "Current user not permitted to use Confluence",
                "statusCode": 403,
            },
            url=f"{GATEWAY}/wiki/rest/api/search",
        ),
        "api",
        ["not permitted to use Confluence", "Confluence access"],
        None,
        id="v1-forbidden",
    ),
    pytest.param(
        answer(
            "api",
            429,
            {"code": 429, "message": "Rate limit exceeded"},
            url=f"{GATEWAY}/wiki/api/v2/pages",
            headers=(("Retry-After", "30"),),
        ),
        "api",
        ["rate limit", "Retry-After: 30", "backoff"],
        None,
        id="rate-limited",
    ),
    pytest.param(
        answer("api", 429, None, url=f"{GATEWAY}/wiki/api/v2/pages"),
        "api",
        ["No `Retry-After` came"],
        None,
        id="rate-limited-without-retry-after",
    ),
    pytest.param(
        answer("api", 502, "Bad Gateway", url=f"{GATEWAY}/wiki/api/v2/pages"),
        "api",
        ["server failed (502"],
        None,
        id="gateway-error",
    ),
    pytest.param(
        answer("resources", 200, [], url="https://api.atlassian.com/oauth/token/x"),
        "resources",
        ["reaches no site"],
        None,
        id="no-accessible-resources",
    ),
    pytest.param(
        answer("exchange", None, failure="the answer timed out"),
        "transport",
        ["code exchange got no answer (the answer timed out)", "Do not send the code"],
        "works once",
        id="timed-out-code-exchange",
    ),
    pytest.param(
        answer("refresh", None, failure="the connection failed"),
        "transport",
        ["no answer (the connection failed)", "retried once"],
        None,
        id="refresh-without-answer",
    ),
    pytest.param(
        answer("exchange", 302, "", headers=(("Location", "https://login.example"),)),
        "transport",
        ["redirect", "ATLASSIAN_AUTH_URL"],
        None,
        id="redirect-not-followed",
    ),
    pytest.param(
        answer("exchange", 418, oauth("teapot_error", "short and stout")),
        "exchange",
        ["token endpoint answered 418 teapot_error", "short and stout", "facts 2.5"],
        None,
        id="unknown-token-answer",
    ),
    pytest.param(
        answer("api", 409, {"weird": True}, url=f"{GATEWAY}/wiki/api/v2/pages"),
        "api",
        ["The API answered 409 (no error code)"],
        None,
        id="unknown-api-answer",
    ),
    pytest.param(
        Exchange(
            step="custom",
            method="POST",
            url=TOKEN_URL,
            request_body="grant_type=refresh_token&refresh_token=abcd%E2%80%A6(masked)",
            status=403,
            response_body=json.dumps(oauth("invalid_grant", "Unknown or invalid")),
        ),
        "refresh",
        ["refused the refresh token for good"],
        "two workers",
        id="step-read-from-the-request",
    ),
]


@pytest.mark.parametrize(("exchange", "step", "words", "trap"), EXCHANGE_CASES)
def test_each_known_answer_gets_its_step_cause_fix_and_trap(
    exchange: Exchange, step: str, words: list[str], trap: str | None
) -> None:
    diagnosis = diagnose_exchange(exchange)

    assert diagnosis.step == step
    for word in words:
        assert word in plain(diagnosis), f"{word!r} not in:\n{diagnosis}"
    if trap is None:
        assert diagnosis.trap is None
    else:
        assert diagnosis.trap is not None
        assert trap in diagnosis.trap
    assert diagnosis.reference


def test_seen_quotes_status_error_and_description_in_short() -> None:
    exchange = answer(
        "exchange", 400, oauth("invalid_request", "authorization_code is invalid")
    )

    diagnosis = diagnose_exchange(exchange)

    assert diagnosis.seen == '400 invalid_request "authorization_code is invalid"'


def test_a_long_description_is_cut_short() -> None:
    exchange = answer("exchange", 400, oauth("invalid_request", "word " * 500))

    diagnosis = diagnose_exchange(exchange)

    assert diagnosis.seen is not None
    assert len(diagnosis.seen) < 200
    assert diagnosis.seen.endswith('…"')


def test_a_successful_exchange_is_not_an_error() -> None:
    diagnosis = diagnose_exchange(answer("exchange", 200, {"access_token": "x"}))

    assert "succeeded" in diagnosis.what


# Landing URLs and pasted pages -------------------------------------------------

NOT_REGISTERED = (
    "https://id.atlassian.com/error?error=unauthorized_client&error_description="
    "redirect_uri%20is%20not%20registered%20for%20client:%20http://localhost:8765/cb/"
)
NOT_ADDED = (
    "This app has requested scopes that have not been added to the app. Configure "
    "the app at https://developer.atlassian.com/apps and add the following scopes to "
    "the app: write:page:confluence, read:jira-work."
)
NOT_ADDED_PRODUCTS = (
    "This app has requested Jira API & User identity API scopes that have not been "
    "added to the app. Configure the app at https://developer.atlassian.com/apps and "
    "add the following scopes to the Jira API & User identity API: read:me."
)
ADMIN_BLOCK = (
    "Your site admin must authorize this app for the site 'pinecone-labs' before "
    "the app can access your account."
)
CALLBACK = "http://127.0.0.1:8765/callback"

URL_CASES = [
    pytest.param(
        NOT_REGISTERED,
        "authorize",
        ["callback URL", "`http://localhost:8765/cb/`", "trailing slash", "3LO"],
        id="redirect-uri-not-registered",
    ),
    pytest.param(
        "Something went wrong unauthorized_client redirect_uri is not registered for "
        "client: http://127.0.0.1:9999/other",
        "authorize",
        ["callback URL", "`http://127.0.0.1:9999/other`"],
        id="redirect-uri-not-registered-pasted",
    ),
    pytest.param(
        f"{CALLBACK}?error=access_denied&error_description=User+did+not+authorize"
        f"+the+request&state={CANARY}-state-0001",
        "authorize",
        ["declined", "press Accept"],
        id="consent-declined",
    ),
    pytest.param(
        f"{CALLBACK}?error=invalid_scope&error_description=scope+is+missing",
        "authorize",
        ["`scope` was refused: scope is missing", "kit.scopes.scopes_for"],
        id="invalid-scope",
    ),
    pytest.param(
        f"{CALLBACK}?error=unsupported_response_type",
        "authorize",
        ["malformed", "response_type=code"],
        id="unsupported-response-type",
    ),
    pytest.param(
        f"{CALLBACK}?error=invalid_request&error_description=response_type+is+missing",
        "authorize",
        ["malformed: response_type is missing", "kit.authorize.lint"],
        id="invalid-request",
    ),
    pytest.param(
        f"{CALLBACK}?error=server_error",
        "authorize",
        ["could not finish the authorization (server_error)"],
        id="server-error",
    ),
    pytest.param(
        f"{CALLBACK}?error=temporarily_unavailable",
        "authorize",
        ["(temporarily_unavailable)", "Wait a minute"],
        id="temporarily-unavailable",
    ),
    pytest.param(
        f"{CALLBACK}?error=unauthorized_client&error_description=Unknown+client:+x",
        "authorize",
        ["refused the client: Unknown client: x", "ATLASSIAN_CLIENT_ID"],
        id="unknown-client",
    ),
    pytest.param(
        NOT_ADDED,
        "authorize",
        ["not added", "`write:page:confluence`, `read:jira-work`", "Permissions"],
        id="scopes-not-added",
    ),
    pytest.param(
        NOT_ADDED_PRODUCTS,
        "authorize",
        ["not added: `read:me`", "User Identity API"],
        id="scopes-not-added-by-product",
    ),
    pytest.param(
        f"<html><body><p>{NOT_ADDED}</p></body></html>",
        "authorize",
        ["not added: `write:page:confluence`"],
        id="scopes-not-added-as-html",
    ),
    pytest.param(
        "https://auth.atlassian.com/consent?consentId=abc",
        "authorize",
        ["still on Atlassian's consent page"],
        id="consent-page",
    ),
    pytest.param(
        ADMIN_BLOCK,
        "authorize",
        ["site's admin blocks", "`pinecone-labs`", "admin.atlassian.com"],
        id="blocked-by-admin",
    ),
    pytest.param(
        f"{CALLBACK}?code={CANARY}-code-0123456789&state={CANARY}-state-0123456",
        "callback",
        ["No error", "at once", "exchange_code"],
        id="code-arrived",
    ),
    pytest.param(
        "https://auth.atlassian.com/authorize?audience=api.atlassian.com&client_id=x"
        "&scope=read%3Ame&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&response_type=code",
        "authorize",
        ["authorization URL itself"],
        id="authorization-url",
    ),
    pytest.param(
        f"{CALLBACK}?error=login_required&error_description=log+in+first",
        "authorize",
        ["`error=login_required`: log in first"],
        id="unknown-error",
    ),
    pytest.param(
        "hello there",
        "authorize",
        ["no OAuth answer"],
        id="nothing-to-read",
    ),
]


@pytest.mark.parametrize(("url", "step", "words"), URL_CASES)
def test_each_landing_url_or_page_gets_its_diagnosis(
    url: str, step: str, words: list[str]
) -> None:
    diagnosis = diagnose_url(url)

    assert diagnosis.step == step
    for word in words:
        assert word in plain(diagnosis), f"{word!r} not in:\n{diagnosis}"
    assert CANARY not in shown(diagnosis)


def test_diagnose_reads_a_string_as_a_landing_url() -> None:
    assert diagnose(NOT_REGISTERED) == diagnose_url(NOT_REGISTERED)


def test_an_address_pasted_without_its_scheme_is_still_read() -> None:
    diagnosis = diagnose_url(NOT_REGISTERED.removeprefix("https://"))

    assert "callback URL" in diagnosis.what


def test_a_code_in_a_landing_url_is_shown_masked() -> None:
    diagnosis = diagnose_url(f"{CALLBACK}?code={CANARY}-code-0123456789&state=s1")

    assert diagnosis.seen is not None
    assert "code=CANA…(masked)" in diagnosis.seen
    assert "state=…(masked)" in diagnosis.seen


# Exceptions ----------------------------------------------------------------------

SENT_TWICE = (
    "Code sha256:1a2b3c4d was sent to the token endpoint at 10:00:00 already, and a "
    "code works once (RFC 6749 section 4.1.2). The kit did not send it."
)
REDIRECT_REFUSED = (
    "https://auth.atlassian.com answered 302 and sent the request on to "
    "https://evil.example. The kit does not follow redirects."
)
CLEAR_TEXT = "The kit will not send tokens or the client secret in clear text to x."


def case(exc: BaseException, step: str, word: str) -> Any:
    return pytest.param(exc, step, word, id=f"{type(exc).__name__}-{step}")


EXCEPTION_CASES = [
    case(errors.AccessDeniedError("declined"), "authorize", "declined"),
    case(errors.StateMismatchError("no"), "callback", "`state`"),
    case(errors.IssuerMismatchError("no"), "callback", "`iss`"),
    case(errors.MalformedCallbackError("no"), "callback", "cannot be read"),
    case(errors.CallbackTimeoutError("no"), "callback", "parse_redirected_url"),
    case(errors.CallbackPortError("busy"), "callback", "holds the port"),
    case(
        errors.ConfigError("`ATLASSIAN_CLIENT_ID` is not set. Copy `.env.example`."),
        "settings",
        "`ATLASSIAN_CLIENT_ID` is not set",
    ),
    case(
        errors.CatalogueError("Unknown scope `read:pages`; did you mean `read:page`?"),
        "settings",
        "did you mean",
    ),
    case(errors.ExchangeRefusedError(SENT_TWICE), "exchange", "sent already"),
    case(errors.ExchangeRefusedError(REDIRECT_REFUSED), "transport", "redirect"),
    case(errors.ExchangeRefusedError(CLEAR_TEXT), "settings", "plain http"),
    case(
        errors.ExchangeRefusedError("No refresh token: ask for `offline_access`."),
        "refresh",
        "no refresh token",
    ),
    case(
        errors.TokenStoreError("There is no token file at /tmp/t.json."),
        "settings",
        "no token file at /tmp/t.json",
    ),
    case(
        errors.TransportError("The code exchange timed out.", timed_out=True),
        "exchange",
        "did not send it again",
    ),
    case(
        errors.TransportError("The call to /wiki could not connect."),
        "transport",
        "could not connect",
    ),
    case(
        errors.TokenResponseError("The token endpoint answered 200 but with no JSON."),
        "exchange",
        "without a usable bearer token",
    ),
    case(
        errors.RateLimitedError("429 again", status=429, retry_after=17),
        "api",
        "Retry-After: 17",
    ),
    case(
        errors.CodeRejectedError(
            "refused",
            status=400,
            error="invalid_request",
            description="authorization_code is invalid",
        ),
        "exchange",
        "refused the authorization code",
    ),
    case(
        errors.RefreshRejectedError(
            "refused",
            status=403,
            error="invalid_grant",
            description="Unknown or invalid refresh token.",
        ),
        "refresh",
        "for good",
    ),
    case(errors.ApiError("gone", status=410), "api", "v1 endpoint is gone"),
    case(
        errors.AuthorizationError("no", error="invalid_scope"), "authorize", "`scope`"
    ),
    case(errors.KitError("Something odd."), "api", "Something odd."),
    case(RuntimeError("kaput"), "api", "`RuntimeError`"),
    case(ConnectionResetError("reset"), "transport", "`ConnectionResetError`"),
]


@pytest.mark.parametrize(("exc", "step", "word"), EXCEPTION_CASES)
def test_each_exception_gets_its_diagnosis(
    exc: BaseException, step: str, word: str
) -> None:
    diagnosis = diagnose(exc)

    assert diagnosis.step == step
    assert word in plain(diagnosis), f"{word!r} not in:\n{diagnosis}"


def test_a_preflight_scope_error_names_the_accepted_scopes() -> None:
    exc = errors.ScopeError(
        "The token cannot call v2 GET /pages.",
        status=None,
        operation="v2 GET /wiki/api/v2/pages",
        accepted=(
            ("read:page:confluence",),
            ("read:a:confluence", "read:b:confluence"),
        ),
        granted=("read:confluence-content.summary",),
    )

    diagnosis = diagnose(exc)

    assert diagnosis.step == "api"
    assert (
        "`v2 GET /wiki/api/v2/pages` needs `read:page:confluence` or" in diagnosis.cause
    )
    assert "`read:a:confluence` + `read:b:confluence`" in diagnosis.fix
    assert diagnosis.trap is not None
    assert "refresh" in diagnosis.trap


def test_an_exception_with_an_exchange_is_diagnosed_by_its_answer() -> None:
    exchange = answer("exchange", 401, oauth("access_denied", "Unauthorized"))
    exc = errors.TokenEndpointError("refused", status=401, exchange=exchange)

    assert diagnose(exc) == diagnose_exchange(exchange)


def test_an_api_scope_error_keeps_the_scopes_the_exception_knows() -> None:
    exchange = answer("api", 401, SCOPE_MISMATCH, url=f"{GATEWAY}/wiki/api/v2/pages")
    exc = errors.ScopeError(
        "scope",
        status=401,
        operation="v2 POST /pages",
        accepted=(("write:page:confluence",),),
        granted=(),
        exchange=exchange,
    )

    diagnosis = diagnose(exc)

    assert "`write:page:confluence`" in diagnosis.fix
    assert "`read:page:confluence`" not in diagnosis.fix


def test_a_rate_limit_error_keeps_its_wait_when_the_answer_had_none() -> None:
    exchange = answer("api", 429, None, url=f"{GATEWAY}/wiki/api/v2/pages")
    exc = errors.RateLimitedError("429", status=429, retry_after=5, exchange=exchange)

    assert "Retry-After: 5" in diagnose(exc).fix


def test_the_doctor_never_raises_even_for_an_exception_that_cannot_print() -> None:
    class UnprintableError(Exception):
        def __str__(self) -> str:
            raise RuntimeError("no text")

    diagnosis = diagnose(UnprintableError())

    assert "`UnprintableError`" in diagnosis.what


# Displays and secrets ------------------------------------------------------------

SECRET_CARRIERS = [
    pytest.param(
        answer(
            "exchange",
            400,
            oauth("invalid_request", f"bad code={CANARY}-code-1234567890"),
        ),
        id="code-echoed-in-a-description",
    ),
    pytest.param(
        answer(
            "api",
            401,
            f"<html><title>Bearer {CANARY}-token-1234567890 refused</title></html>",
            url=f"{GATEWAY}/wiki/api/v2/pages",
        ),
        id="token-echoed-in-a-page",
    ),
    pytest.param(
        answer(
            "exchange",
            418,
            oauth("odd", f"token eyJhbGciOiJub25lIn0.{CANARY}-payload.sig refused"),
        ),
        id="jwt-echoed-without-a-field-name",
    ),
    pytest.param(
        answer(
            "api",
            400,
            {"access_token": f"{CANARY}-token-1", "errors": [{"title": "bad"}]},
            url=f"{GATEWAY}/wiki/api/v2/pages?access_token={CANARY}-token-2",
        ),
        id="token-in-the-body-and-the-url",
    ),
    pytest.param(
        answer("refresh", None, failure=f"refused: refresh_token={CANARY}-rt-00000000"),
        id="token-in-a-failure",
    ),
    pytest.param(
        f"{CALLBACK}?code={CANARY}-code-1&state={CANARY}-state-2#access_token={CANARY}",
        id="secrets-in-a-landing-url",
    ),
    pytest.param(
        f"{CALLBACK}?error=access_denied&error_description=state%3D{CANARY}-state-3",
        id="secret-in-an-error-description",
    ),
    pytest.param(
        f"<p>invalid_request</p><p>client_secret: {CANARY}-secret-4 was wrong</p>",
        id="secret-in-a-pasted-page",
    ),
    pytest.param(
        errors.KitError(f"Sent client_secret={CANARY}-secret-5 and it failed."),
        id="secret-in-an-exception-message",
    ),
]


@pytest.mark.parametrize("failure", SECRET_CARRIERS)
def test_no_secret_of_the_answer_appears_in_any_display(
    failure: Exchange | str | BaseException,
) -> None:
    diagnosis = diagnose(failure)

    assert CANARY not in shown(diagnosis)


def test_str_is_a_labelled_block_of_short_lines() -> None:
    diagnosis = diagnose_exchange(
        answer("exchange", 401, oauth("access_denied", "Unauthorized"))
    )

    lines = str(diagnosis).splitlines()

    labels = [line.split(":")[0] for line in lines if not line.startswith(" ")]
    assert labels == ["Step", "What", "Cause", "Fix", "Trap", "Seen", "See"]
    assert max(map(len, lines)) <= 88


def test_message_is_what_then_fix_in_one_paragraph() -> None:
    diagnosis = diagnose_exchange(answer("api", 401, UNAUTHORIZED))

    assert diagnosis.message() == f"{diagnosis.what} {diagnosis.fix}"
    assert "\n" not in diagnosis.message()


def test_html_display_escapes_every_value() -> None:
    body = oauth("odd<script>", "<img src=x onerror=alert(1)>")

    html = diagnose_exchange(answer("exchange", 418, body))._repr_html_()

    assert "<script>" not in html
    assert "<img" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<code>" in html  # names in backticks


# Real answers of a running sandbox ------------------------------------------------

RESOURCES = "/oauth/token/accessible-resources"


def confluence(flow: Flow, suffix: str, token: str) -> requests.Response:
    return flow.api(f"/ex/confluence/{PINECONE.cloud_id}{suffix}", token)


class TestRealAnswers:
    """The doctor reads what the sandbox really answers, in both profiles."""

    def test_an_expired_code(self, flow: Flow) -> None:
        code = flow.code()
        advance_clock(flow, 601)

        diagnosis = diagnose(from_response(flow.exchange(code), "exchange"))

        assert diagnosis.step == "exchange"
        assert "refused the authorization code" in diagnosis.what
        assert code not in shown(diagnosis)
        if flow.sandbox.settings.profile == "atlassian":
            assert diagnosis.trap is not None
            assert "invalid_grant" in diagnosis.trap
        else:
            assert "expired" in (diagnosis.seen or "")

    def test_a_reused_code(self, flow: Flow) -> None:
        code = flow.code()
        assert flow.exchange(code).status_code == 200

        diagnosis = diagnose(from_response(flow.exchange(code), "exchange"))

        assert diagnosis.step == "exchange"
        assert "exactly once" in diagnosis.fix
        assert code not in shown(diagnosis)

    def test_a_wrong_client_secret(self, flow: Flow) -> None:
        response = flow.exchange(flow.code(), client_secret=f"{CANARY}-wrong-00000")

        diagnosis = diagnose(from_response(response, "exchange"))

        assert "client id and secret" in diagnosis.what
        assert CANARY not in shown(diagnosis)
        atlassian = flow.sandbox.settings.profile == "atlassian"
        assert (diagnosis.trap is not None) == atlassian

    def test_a_rotated_refresh_token_reused_after_the_leeway(self, flow: Flow) -> None:
        old = flow.tokens()["refresh_token"]
        assert flow.refresh(old).status_code == 200
        advance_clock(flow, 601)

        diagnosis = diagnose(from_response(flow.refresh(old), "refresh"))

        assert diagnosis.step == "refresh"
        assert "refused the refresh token" in diagnosis.what
        assert "consents once more" in diagnosis.fix
        assert old not in shown(diagnosis)

    def test_a_classic_only_token_on_v2(self, flow: Flow) -> None:
        token = flow.tokens(scope="read:confluence-content.summary")["access_token"]

        response = confluence(flow, "/wiki/api/v2/pages", token)
        diagnosis = diagnose(from_response(response, "api"))

        assert response.status_code in {401, 403}
        assert "lacks the scope" in diagnosis.what
        assert "`read:page:confluence`" in diagnosis.fix
        assert diagnosis.trap is not None
        assert token not in shown(diagnosis)

    def test_an_expired_access_token(self, flow: Flow) -> None:
        token = flow.tokens()["access_token"]
        advance_clock(flow, 3601)

        diagnosis = diagnose(
            from_response(confluence(flow, "/wiki/api/v2/pages", token), "api")
        )

        assert diagnosis.step == "api"
        assert "Refresh once" in diagnosis.fix
        assert diagnosis.trap is None

    def test_an_expired_access_token_at_accessible_resources(self, flow: Flow) -> None:
        token = flow.tokens()["access_token"]
        advance_clock(flow, 3601)

        diagnosis = diagnose(from_response(flow.api(RESOURCES, token), "resources"))

        assert diagnosis.step == "resources"
        assert "Refresh once" in diagnosis.fix

    def test_v1_space_is_gone(self, flow: Flow) -> None:
        scope = "read:confluence-space.summary offline_access"
        token = flow.tokens(scope=scope)["access_token"]

        response = confluence(flow, "/wiki/rest/api/space", token)
        diagnosis = diagnose(from_response(response, "api"))

        assert response.status_code == 410
        assert "`GET /wiki/api/v2/spaces`" in diagnosis.fix

    def test_an_unknown_page_on_v2(self, flow: Flow) -> None:
        token = flow.tokens()["access_token"]

        response = confluence(flow, "/wiki/api/v2/pages/999999999", token)
        diagnosis = diagnose(from_response(response, "api"))

        assert response.status_code == 404
        assert "404 for both" in diagnosis.cause
        assert "999999999" in diagnosis.what

    def test_an_unknown_cloud_id(self, flow: Flow) -> None:
        token = flow.tokens()["access_token"]

        response = flow.api("/ex/confluence/not-a-site/wiki/api/v2/pages", token)
        diagnosis = diagnose(from_response(response, "api"))

        assert "no such route or cloud id" in diagnosis.what

    def test_the_token_on_the_site_domain(self, flow: Flow) -> None:
        token = flow.tokens()["access_token"]

        diagnosis = diagnose(
            from_response(flow.api("/wiki/api/v2/pages", token), "api")
        )

        assert "site's own domain" in diagnosis.what
        assert diagnosis.trap is not None

    def test_the_rate_limit(self, flow: Flow) -> None:
        token = flow.tokens()["access_token"]
        flow.sandbox.configure(rate_limit_per_minute=1)
        assert confluence(flow, "/wiki/api/v2/spaces", token).status_code == 200

        response = confluence(flow, "/wiki/api/v2/spaces", token)
        diagnosis = diagnose(from_response(response, "api"))

        assert response.status_code == 429
        assert f"Retry-After: {response.headers['retry-after']}" in diagnosis.fix

    def test_an_unregistered_callback_url(self, flow: Flow) -> None:
        page = flow.authorize(redirect_uri="http://127.0.0.1:9/elsewhere")

        diagnosis = diagnose_url(page.text)

        assert page.status_code == 400
        assert "callback URL" in diagnosis.what
        assert "`http://127.0.0.1:9/elsewhere`" in diagnosis.cause

    def test_a_scope_not_added_to_the_app(self, flow: Flow) -> None:
        page = flow.authorize(scope="read:page:confluence write:jira-work")
        landed = page.headers.get("location") or page.text

        diagnosis = diagnose_url(landed)

        assert diagnosis.step == "authorize"
        if flow.sandbox.settings.profile == "atlassian":  # an error page
            assert "not added: `write:jira-work`" in diagnosis.cause
        else:  # a redirect with `invalid_scope`
            assert "refused: unknown scope: write:jira-work" in diagnosis.what

    def test_a_declined_consent(self, flow: Flow) -> None:
        declined = flow.consent(flow.authorize(), decision="cancel")

        diagnosis = diagnose_url(declined.headers["location"])

        assert "declined" in diagnosis.what
        assert "state-1234" not in shown(diagnosis)

    def test_a_code_arriving(self, flow: Flow) -> None:
        landed = flow.consent(flow.authorize()).headers["location"]

        diagnosis = diagnose_url(landed)

        assert diagnosis.step == "callback"
        assert dict(parse_qsl(urlsplit(landed).query))["code"] not in shown(diagnosis)

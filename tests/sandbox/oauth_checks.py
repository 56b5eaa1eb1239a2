"""Checks shared by the token-endpoint tests: case 60's common error check.

Every error of `POST /oauth/token` must be JSON that is never cached, name an error
code of RFC 6749 section 5.2 (or Atlassian's documented `access_denied`), describe it
in the characters the RFC allows, and echo no secret, code or token.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import requests

from kit.sandbox import SANDBOX_CLIENT_SECRET

# RFC 6749 section 5.2.
RFC_TOKEN_ERRORS = frozenset(
    {
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    }
)
# Atlassian answers a wrong client secret with `401 access_denied` (facts 2.5 [H]).
ATLASSIAN_TOKEN_ERRORS = frozenset({"access_denied"})

# RFC 6749 section 5.2: error and error_description are %x20-21 / %x23-5B / %x5D-7E.
_DESCRIPTION = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]*$")
_ERROR = re.compile(r"^[\x20\x21\x23-\x5b\x5d-\x7e]+$")
_STACK_TRACE = re.compile(r"Traceback|File \"|\.py\b|Exception|Error\(")


def assert_oauth_error(
    response: requests.Response,
    status: int,
    error: str,
    *,
    secrets: Iterable[str] = (),
) -> dict[str, str]:
    """Assert case 60 on a token-endpoint error and return its JSON body.

    `secrets` lists values the request carried (a code, a refresh token, a secret)
    that must not come back; the sandbox app's client secret is always checked.
    """
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].split(";")[0] == "application/json"
    assert "no-store" in response.headers.get("cache-control", "")
    body = response.json()
    assert isinstance(body, dict), body
    assert body.get("error") == error, body
    assert error in RFC_TOKEN_ERRORS | ATLASSIAN_TOKEN_ERRORS
    assert _ERROR.match(error)
    description = body.get("error_description", "")
    assert isinstance(description, str), body
    assert _DESCRIPTION.match(description), f"forbidden characters: {description!r}"
    assert not _STACK_TRACE.search(response.text), response.text
    for secret in [SANDBOX_CLIENT_SECRET, *secrets]:
        assert secret not in response.text, "the error echoes a secret"
        assert secret not in str(response.headers), "a header echoes a secret"
    return body

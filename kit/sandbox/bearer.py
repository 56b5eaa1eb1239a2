"""Reading and judging the bearer token of an API request.

Atlassian's gateway answers every authentication failure with
`401 {"code":401,"message":"Unauthorized"}` and a missing scope with
`401 ... "Unauthorized; scope does not match"` (facts 5.4). The `rfc` profile answers
as RFC 6750 section 3 says, with a `WWW-Authenticate: Bearer` challenge.
"""

from __future__ import annotations

import re

from kit.sandbox.context import Context
from kit.sandbox.http import Request, Response, json_response
from kit.sandbox.store import AccessRecord

REALM = "api.atlassian.com"
CORS = [("access-control-allow-origin", "*")]
# RFC 6750 section 2.1: b64token after the case-insensitive scheme and spaces.
_TOKEN68 = re.compile(r"^[A-Za-z0-9\-._~+/]+=*$")


class ApiError(Exception):
    """An API answer that ends the request before it reaches Confluence."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def authenticate(request: Request, ctx: Context) -> AccessRecord:
    """The access token's record, or an `ApiError` in the profile's words.

    Only the `Authorization` header counts (RFC 6750 section 2.1; RFC 9700 section
    4.3.2 forbids tokens in the query): a token only in `?access_token=` is no
    token, and one in both places is a malformed request (RFC 6750 section 3.1).
    """
    header = request.header("authorization")
    in_query = bool(request.query_values("access_token"))
    if header is not None and in_query:
        raise ApiError(_challenge(ctx, 400, "invalid_request", "one token method only"))
    scheme, _, credentials = (header or "").strip(" ").partition(" ")
    if scheme.lower() != "bearer":
        raise ApiError(_no_credentials(ctx))
    access_token = credentials.strip(" ")
    if not _TOKEN68.match(access_token):
        raise ApiError(
            _challenge(ctx, 400, "invalid_request", "malformed bearer token")
        )
    record = ctx.store.access.get(ctx.store.digest(access_token))
    if record is None or record.revoked or record.expires_at <= ctx.now():
        raise ApiError(_challenge(ctx, 401, "invalid_token", "the token is not valid"))
    return record


def require_scopes(
    ctx: Context, granted: frozenset[str], alternatives: tuple[frozenset[str], ...]
) -> None:
    """Pass when every scope of one alternative was granted; else refuse."""
    if any(needed <= granted for needed in alternatives):
        return
    if ctx.settings.profile == "rfc":
        wanted = " ".join(sorted(alternatives[0])) if alternatives else ""
        challenge = (
            f'Bearer realm="{REALM}", error="insufficient_scope", scope="{wanted}"'
        )
        body = {"error": "insufficient_scope", "error_description": "scope missing"}
        raise ApiError(
            json_response(403, body, [("www-authenticate", challenge), *CORS])
        )
    raise ApiError(
        json_response(
            401,
            {"code": 401, "message": "Unauthorized; scope does not match"},
            [("x-failure-category", "FAILURE_CLIENT_SCOPE_CHECK"), *CORS],
        )
    )


def unauthorized() -> Response:
    """Atlassian's plain 401, also used for a site outside the grant."""
    return json_response(401, {"code": 401, "message": "Unauthorized"}, CORS)


def _no_credentials(ctx: Context) -> Response:
    """No bearer token at all: a bare challenge, no error code (RFC 6750 section 3.1).

    The body stays Atlassian's plain JSON in both profiles, so that an API answer is
    always JSON; the `rfc` profile adds the challenge the RFC requires.
    """
    response = unauthorized()
    if ctx.settings.profile == "rfc":
        response.headers.append(("www-authenticate", f'Bearer realm="{REALM}"'))
    return response


def _challenge(ctx: Context, status: int, error: str, description: str) -> Response:
    if ctx.settings.profile == "atlassian":
        return unauthorized()
    challenge = f'Bearer realm="{REALM}", error="{error}"'
    body = {"error": error, "error_description": description}
    return json_response(status, body, [("www-authenticate", challenge), *CORS])

"""The token endpoint's error answers, in each profile's words.

Atlassian answers with bodies and status codes of its own (facts 2.5): a bad code is
`400 invalid_request "authorization_code is invalid"`, a wrong secret is
`401 access_denied "Unauthorized"`, a dead refresh token is `403 invalid_grant`. The
`rfc` profile answers as RFC 6749 section 5.2 says, with a description that names the
cause.
"""

from __future__ import annotations

import re

from kit.sandbox.http import Response, json_response
from kit.sandbox.settings import Settings

NO_STORE = [("cache-control", "no-store"), ("pragma", "no-cache")]

# RFC 6749 section 5.2: error_description is %x20-21 / %x23-5B / %x5D-7E.
_NOT_ALLOWED_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def printable(description: str) -> str:
    """The description with every character RFC 6749 forbids replaced by `?`."""
    return _NOT_ALLOWED_IN_DESCRIPTION.sub("?", description)


class TokenError(Exception):
    """An error answer of the token endpoint, ready to be sent."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {description}")
        self.status = status
        self.error = error
        self.description = printable(description)
        self.headers = headers or []

    def response(self) -> Response:
        """The JSON answer, never cached (RFC 6749 section 5.2)."""
        body = {"error": self.error, "error_description": self.description}
        return json_response(self.status, body, [*NO_STORE, *self.headers])


def invalid_request(description: str) -> TokenError:
    """A missing, repeated or malformed parameter: 400 in both profiles."""
    return TokenError(400, "invalid_request", description)


def bad_code(settings: Settings, reason: str) -> TokenError:
    """An unknown, expired, reused or mismatched authorization code."""
    if settings.profile == "rfc":
        return TokenError(400, "invalid_grant", reason)
    if settings.bad_code_style == "legacy":
        return TokenError(403, "invalid_grant", "Invalid authorization code")
    return TokenError(400, "invalid_request", "authorization_code is invalid")


def bad_client(settings: Settings, used_basic: bool) -> TokenError:
    """Client authentication failed: unknown client, wrong or missing secret."""
    if settings.profile == "rfc":
        headers = [("www-authenticate", 'Basic realm="sandbox"')] if used_basic else []
        return TokenError(
            401, "invalid_client", "Client authentication failed", headers
        )
    return TokenError(401, "access_denied", "Unauthorized")


def unknown_refresh_token(settings: Settings) -> TokenError:
    """A refresh token the server never issued, or one long forgotten."""
    if settings.profile == "rfc":
        return TokenError(400, "invalid_grant", "the refresh token is unknown")
    return TokenError(403, "unauthorized_client", "refresh_token is invalid")


def dead_refresh_token(settings: Settings, reason: str) -> TokenError:
    """A refresh token that expired, was revoked, or was reused after rotation."""
    if settings.profile == "rfc":
        return TokenError(400, "invalid_grant", reason)
    return TokenError(403, "invalid_grant", "Unknown or invalid refresh token.")


def throttled(retry_after: int) -> TokenError:
    """Too many failed client authentications (RFC 6749 section 2.3.1)."""
    return TokenError(
        429,
        "invalid_client",
        f"Too many failed client authentications; wait {retry_after} seconds",
        [("retry-after", str(retry_after))],
    )

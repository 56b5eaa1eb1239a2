"""Every error the kit raises, under one root, so that a notebook can catch them all.

    KitError
    ├── ConfigError            a setting is missing or malformed (also a ValueError)
    │   └── CatalogueError         a scope or operation the catalogue does not know
    ├── AuthorizationError     the authorization request or its callback went wrong
    │   ├── AccessDeniedError      the person pressed Cancel (`access_denied`)
    │   ├── StateMismatchError     the callback's `state` is not the one we sent
    │   ├── IssuerMismatchError    the callback's `iss` names another server
    │   ├── MalformedCallbackError the callback or pasted URL cannot be read
    │   ├── CallbackTimeoutError   no callback in time (also a TimeoutError)
    │   └── CallbackPortError      the catcher cannot listen (also an OSError)
    ├── TokenEndpointError     `/oauth/token` refused an exchange or a refresh
    │   ├── CodeRejectedError      the code is used, expired, unknown or misbound
    │   └── RefreshRejectedError   the refresh token is rotated away, revoked or old
    ├── TokenResponseError     a 200 from `/oauth/token` holds no usable bearer token
    ├── ExchangeRefusedError   the kit will not send a request that cannot succeed
    ├── TokenStoreError        the token file cannot be read or written
    ├── ApiError               the gateway or Confluence answered with an error
    │   └── ScopeError             the token lacks the scopes an operation needs
    └── TransportError         no answer: refused connection, timeout, TLS

Messages say what happened and what to do, and never hold a secret: codes,
tokens, `state` and the client secret appear only as short fingerprints.
"""

from __future__ import annotations


class KitError(Exception):
    """The root of the kit's errors. `error` is the OAuth error code, if any."""

    error: str | None = None

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if error is not None:
            self.error = error


class ConfigError(KitError, ValueError):
    """A setting is missing or malformed; the message names it and the fix."""


class CatalogueError(ConfigError):
    """A scope or operation is not in the scope catalogue; the message suggests one."""


class AuthorizationError(KitError):
    """The authorization request or its callback went wrong."""


class AccessDeniedError(AuthorizationError):
    """The person declined consent on Atlassian's page (RFC 6749 section 4.1.2.1)."""

    error = "access_denied"


class StateMismatchError(AuthorizationError):
    """The callback's `state` differs from the one sent: a possible CSRF attempt."""


class IssuerMismatchError(AuthorizationError):
    """The callback's `iss` is missing or names another server (RFC 9207 2.4)."""


class MalformedCallbackError(AuthorizationError):
    """The callback's query, or a pasted URL, cannot be read as a callback."""


class CallbackTimeoutError(AuthorizationError, TimeoutError):
    """No callback arrived before the catcher's deadline."""


class CallbackPortError(AuthorizationError, OSError):
    """The callback catcher cannot listen on the redirect URI's port."""


class TokenEndpointError(KitError):
    """`/oauth/token` answered with an error; `status` is the HTTP status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error: str | None = None,
        description: str | None = None,
    ) -> None:
        super().__init__(message, error=error)
        self.status = status
        self.description = description


class CodeRejectedError(TokenEndpointError):
    """The authorization code was refused: used, expired, unknown or misbound."""


class RefreshRejectedError(TokenEndpointError):
    """The refresh token was refused: rotated away, revoked, idle or too old."""


class TokenResponseError(KitError):
    """A token response is unusable: no `access_token`, not `Bearer` (RFC 6749 5.1)."""


class ExchangeRefusedError(KitError):
    """The kit refuses to send a request that is known to fail or to leak."""


class TokenStoreError(KitError):
    """The token store cannot be read or written; the old file is left whole."""


class ApiError(KitError):
    """An API call answered with an error status; `status` is that status."""

    def __init__(self, message: str, *, status: int, error: str | None = None) -> None:
        super().__init__(message, error=error)
        self.status = status


class ScopeError(ApiError):
    """The token lacks the scopes an operation accepts (facts 5.4)."""


class TransportError(KitError):
    """No HTTP answer arrived: the connection failed or timed out."""

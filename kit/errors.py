"""Every error the kit raises, under one root, so that a notebook can catch them all.

    KitError
    ├── ConfigError            a setting is missing or malformed (also a ValueError)
    │   ├── CatalogueError         a scope or operation the catalogue does not know
    │   └── NoSandboxError         no app is configured and no sandbox was named
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
    │   ├── ScopeError             the token lacks the scopes an operation needs
    │   └── RateLimitedError       429 or 503 went on past the retries the kit allows
    └── TransportError         no usable answer: refused, timed out, cut off, too big

Messages say what happened and what to do, and never hold a secret: codes,
tokens, `state` and the client secret appear only as short fingerprints. An error
that came from an HTTP answer carries its masked record as `exchange`, which
`kit.doctor.diagnose` reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kit.record import Exchange


class KitError(Exception):
    """The root of the kit's errors.

    `error` is the OAuth error code, if any; `exchange` the masked record of the
    HTTP exchange that failed, if one did.
    """

    error: str | None = None
    exchange: Exchange | None = None

    def __init__(
        self,
        message: str,
        *,
        error: str | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if error is not None:
            self.error = error
        if exchange is not None:
            self.exchange = exchange

    @property
    def _render_traceback_(self) -> Callable[[], list[str]]:
        """IPython's hook: the compact rendering of `kit.tracebacks`, unless it is
        turned off, when the missing attribute sends IPython to its own.
        """
        from kit import tracebacks  # noqa: PLC0415 - only IPython asks

        if not tracebacks.compact:
            raise AttributeError("_render_traceback_")
        return lambda: tracebacks.render(self)


class ConfigError(KitError, ValueError):
    """A setting is missing or malformed; the message names it and the fix."""


class CatalogueError(ConfigError):
    """A scope or operation is not in the scope catalogue; the message suggests one."""


class NoSandboxError(ConfigError):
    """No app is configured, so the sandbox's is used, but no sandbox was named."""


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
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message, error=error, exchange=exchange)
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
    """An API call answered with an error status; `status` is that status.

    `status` is None for an error found before sending, such as a preflight.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        error: str | None = None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message, error=error, exchange=exchange)
        self.status = status


class ScopeError(ApiError):
    """The token lacks the scopes an operation accepts (facts 5.4).

    `operation` is the operation's key (`v2 GET /pages`), `accepted` the scope
    sets of which any one suffices, `granted` the token's scopes. Raised by the
    kit's preflight (`status` None) or after the gateway's 401.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None,
        operation: str,
        accepted: tuple[tuple[str, ...], ...],
        granted: tuple[str, ...],
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message, status=status, exchange=exchange)
        self.operation = operation
        self.accepted = accepted
        self.granted = granted


class RateLimitedError(ApiError):
    """The server kept answering 429 or 503; `retry_after` is its last wish, in s."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        retry_after: float | None,
        exchange: Exchange | None = None,
    ) -> None:
        super().__init__(message, status=status, exchange=exchange)
        self.retry_after = retry_after


class TransportError(KitError):
    """No usable answer: refused, timed out, cut off, or too large to read.

    `timed_out` tells a timeout (the request may have arrived) from a refused
    connection or an unreadable answer.
    """

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


def hide_in_notebooks(excinfo: object = None) -> bool:
    """A frame's `__tracebackhide__`: IPython hides the frame, pytest shows it.

    IPython hides any frame whose `__tracebackhide__` is true, as a function
    is; pytest calls it, and it answers False. So a learner's traceback ends at
    the call they wrote, and a failing test still shows the kit's frames.
    """
    return False

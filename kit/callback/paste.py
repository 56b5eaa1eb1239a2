"""The fallback where the browser cannot reach the kernel: paste the address you
land on, and the same checks run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from urllib.parse import SplitResult, parse_qsl, urlsplit

from kit.callback.answers import (
    SPENT,
    CallbackResult,
    ErrorResponse,
    check_unspent,
    fingerprint,
    printable,
    settle,
    spent_error,
    verify_state,
)
from kit.errors import (
    MalformedCallbackError,
)

logger = logging.getLogger(__name__)


def parse_redirected_url(
    url: str,
    expected_state: str,
    *,
    redirect_uri: str,
    expected_iss: str | None = None,
    now: Callable[[], float] = time.time,
) -> CallbackResult:
    """Read the address the browser landed on after consent, with the same checks.

    For machines whose browser cannot reach the kernel (JupyterHub, Binder, a
    remote kernel): the browser shows an error page, but its address bar holds
    `redirect_uri?code=...&state=...`; paste that here. Raises
    `StateMismatchError`, `AccessDeniedError`, `IssuerMismatchError`,
    `MalformedCallbackError` or `AuthorizationError`, as the catcher would.
    """
    check_unspent(expected_state)
    query = pasted_query(url, redirect_uri)
    params = verify_state(query, expected_state)
    if SPENT.is_spent(expected_state):
        raise spent_error(expected_state)
    answer = settle(
        params,
        expected_state,
        expected_iss,
        redirect_uri=redirect_uri,
        received_at=now(),
        via="paste",
    )
    if isinstance(answer, ErrorResponse):
        raise answer.exception()
    logger.debug("A pasted callback URL gave a code (%s).", fingerprint(answer.code))
    return answer


def pasted_query(url: str, redirect_uri: str) -> str:
    """The query of a pasted URL, after checking that it is the redirect URI's."""
    text = url.strip()
    if not text:
        raise _bad_paste("Nothing was pasted", redirect_uri)
    if any(ch.isspace() for ch in text):
        raise _bad_paste(
            "The pasted URL holds spaces or line breaks; copy it again in one piece",
            redirect_uri,
        )
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise _bad_paste("The pasted text is not a URL", redirect_uri) from exc
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise _bad_paste(
            "The pasted text is not a whole URL starting with `http`", redirect_uri
        )
    if _is_authorization_url(parts.path, parts.query):
        raise _bad_paste(
            "This is the authorization URL, the link you open to consent, not the "
            "address you land on afterwards. Open it and press Accept first",
            redirect_uri,
        )
    if _endpoint(text) != _endpoint(redirect_uri):
        shown = printable(
            f"{parts.scheme}://{parts.hostname}{_port(parts)}{parts.path}"
        )
        raise _bad_paste(
            f"This URL goes to `{shown}`, not the redirect URI", redirect_uri
        )
    if not parts.query:
        raise _bad_paste(
            "The URL has no `?code=...&state=...` part: it was cut short, or it is "
            "the redirect URI itself",
            redirect_uri,
        )
    return parts.query


def _bad_paste(problem: str, redirect_uri: str) -> MalformedCallbackError:
    return MalformedCallbackError(
        f"{problem}. After pressing Accept, copy the whole address of the page you "
        f"land on (it starts with `{redirect_uri}?`) and paste it."
    )


def _is_authorization_url(path: str, query: str) -> bool:
    names = {name for name, _ in parse_qsl(query, errors="replace")}
    return (
        path.rstrip("/").endswith("/authorize")
        or {
            "response_type",
            "client_id",
        }
        <= names
    )


def _port(parts: SplitResult) -> str:
    return f":{parts.port}" if parts.port else ""


def _endpoint(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return (
        parts.scheme,
        parts.hostname or "",
        parts.port or default,
        parts.path or "/",
    )

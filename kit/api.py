"""Steps 6 and 7 of the flow, the sending side: a bearer token to `api.atlassian.com`.

`ApiCaller` sends each GET with the current access token, waits out 429 and 503
as the server asks (capped), refreshes once on a dead token (case 113) but never
on a scope mismatch, which no refresh can cure (case 114), and turns each error
into a `kit.errors` exception whose message the doctor wrote.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests

from kit.config import ClientConfig
from kit.errors import (
    ApiError,
    RateLimitedError,
    ScopeError,
    TokenStoreError,
    TransportError,
    hide_in_notebooks,
)
from kit.record import HISTORY, Exchange, History, from_response
from kit.redact import remember
from kit.retry import RETRY_STATUSES, RetryPolicy, server_wait
from kit.store import TokenStore
from kit.tokens import TokenSet
from kit.transport import DEFAULT_TIMEOUT, Timeout, check_transport, new_session

logger = logging.getLogger(__name__)

SCOPE_MISMATCH = "Unauthorized; scope does not match"  # facts 5.4

Refresh = Callable[[TokenSet], TokenSet]


@dataclass
class Answer:
    """A successful answer: its JSON body, headers and masked record."""

    body: Any
    headers: Mapping[str, str]
    exchange: Exchange


class TokenSource:
    """The access token to send, from a `TokenSet` or a `TokenStore`.

    From a store, tokens due for refresh are refreshed first (under the store's
    lock, the rotated refresh token saved), and a token the server calls dead is
    refreshed once. A bare `TokenSet` is sent as it is; a refreshed one is kept
    in memory only, so pass a store when the tokens must outlive the kernel.
    """

    def __init__(self, tokens: TokenSet | TokenStore, refresh: Refresh | None) -> None:
        self._store = tokens if isinstance(tokens, TokenStore) else None
        self._tokens = tokens if isinstance(tokens, TokenSet) else None
        self._refresh = refresh

    def current(self) -> TokenSet:
        """The tokens to send now."""
        __tracebackhide__ = hide_in_notebooks
        if self._store is None:
            assert self._tokens is not None
            return self._tokens
        if self._refresh is None:
            stored = self._store.load()
            if stored is None:
                raise TokenStoreError(f"There is no token file at {self._store.path}.")
            return stored.tokens
        return self._store.fresh(self._refresh)

    def renewed(self, stale: TokenSet) -> TokenSet | None:
        """Tokens to replace `stale` after a 401, or None if none can be had."""
        __tracebackhide__ = hide_in_notebooks
        if self._refresh is None or stale.refresh_token is None:
            return None
        if self._store is not None:
            return self._store.refresh_with(self._refresh, stale=stale)
        self._tokens = self._refresh(stale)
        return self._tokens


class ApiCaller:
    """Sends GETs with a bearer token, retrying and refreshing as Atlassian advises."""

    def __init__(
        self,
        config: ClientConfig,
        tokens: TokenSource,
        *,
        timeout: Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        allow_plain_http: bool | None = None,
        history: History = HISTORY,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.tokens = tokens
        self.retry = retry or RetryPolicy()
        self.allow_plain_http = (
            config.is_sandbox if allow_plain_http is None else allow_plain_http
        )
        self._timeout = timeout
        self._history = history
        self._sleep = sleep
        self._now = now
        self._sessions: dict[str, requests.Session] = {}

    def get(
        self, url: str, params: Mapping[str, Any] | None = None, *, step: str = "api"
    ) -> Answer:
        """GET `url` with the access token; the JSON answer, or a kit error."""
        __tracebackhide__ = hide_in_notebooks
        check_transport(url, allow_plain_http=self.allow_plain_http)
        tokens = self.tokens.current()
        response = self._send_with_retries(url, params, tokens, step)
        if response.status_code == 401 and not _scope_mismatch(response):
            renewed = self.tokens.renewed(tokens)
            if renewed is not None:
                logger.info(
                    "The access token was refused; refreshed, trying once more."
                )
                response = self._send_with_retries(url, params, renewed, step)
        return self._answer(response, step)

    def close(self) -> None:
        for session in self._sessions.values():
            session.close()
        self._sessions.clear()

    def _send_with_retries(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        tokens: TokenSet,
        step: str,
    ) -> requests.Response:
        attempt = 1
        while True:
            response = self._send(url, params, tokens, step)
            status = response.status_code
            if attempt >= self.retry.attempts_for(status):
                return response
            wait = self.retry.wait_for(response.headers, attempt, self._now())
            if wait is None:
                return response  # asks for longer than the kit waits (case 109)
            logger.info("%s answered %s; waiting %.1f s.", _path(url), status, wait)
            self._sleep(wait)
            attempt += 1

    def _send(
        self,
        url: str,
        params: Mapping[str, Any] | None,
        tokens: TokenSet,
        step: str,
    ) -> requests.Response:
        remember(tokens.access_token)
        session = self._session(step)
        header = {"Authorization": f"Bearer {tokens.access_token.reveal()}"}
        try:
            return session.get(url, params=params, headers=header)
        except requests.Timeout:
            raise _no_answer(url, "timed out") from None
        except requests.ConnectionError:
            raise _no_answer(url, "could not connect") from None

    def _session(self, step: str) -> requests.Session:
        if step not in self._sessions:
            self._sessions[step] = new_session(
                step, timeout=self._timeout, history=self._history
            )
        return self._sessions[step]

    def _answer(self, response: requests.Response, step: str) -> Answer:
        exchange = from_response(response, step)
        if response.ok:
            try:
                body = response.json() if response.content else None
            except ValueError:
                raise ApiError(
                    f"{_path(response.url)} answered {response.status_code} with "
                    "a body that is not JSON. Check the path and the API version.",
                    status=response.status_code,
                    exchange=exchange,
                ) from None
            return Answer(body, response.headers, exchange)
        raise _error(exchange, self._now())


def _scope_mismatch(response: requests.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("message") == SCOPE_MISMATCH


def _error(exchange: Exchange, now: float) -> ApiError:
    from kit.doctor import diagnose_exchange  # noqa: PLC0415 - doctor imports errors

    message = diagnose_exchange(exchange).message()
    status = exchange.status or 0
    if status in RETRY_STATUSES:
        headers = dict(exchange.response_headers)
        return RateLimitedError(
            message,
            status=status,
            retry_after=server_wait(headers, now),
            exchange=exchange,
        )
    if _is_scope_refusal(exchange):
        return ScopeError(
            message,
            status=status,
            operation=_path(exchange.url),
            accepted=(),
            granted=(),
            exchange=exchange,
        )
    return ApiError(message, status=status, exchange=exchange)


def _is_scope_refusal(exchange: Exchange) -> bool:
    """Atlassian's 401 "scope does not match", or RFC 6750's `insufficient_scope`."""
    body = exchange.json()
    if isinstance(body, dict) and body.get("message") == SCOPE_MISMATCH:
        return True
    challenge = exchange.header("www-authenticate") or ""
    return exchange.status == 403 and "insufficient_scope" in challenge


def _no_answer(url: str, what: str) -> TransportError:
    return TransportError(
        f"The call to {_path(url)} {what}. Check the network and the "
        "`ATLASSIAN_API_URL` setting, then call again.",
        timed_out=what == "timed out",
    )


def _path(url: str) -> str:
    return urlsplit(url).path or "/"

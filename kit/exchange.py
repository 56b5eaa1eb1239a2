"""Steps 5 and 8 of the flow: the code for tokens, and a refresh for new ones.

Both go through requests-oauthlib's `OAuth2Session` to `POST /oauth/token`, with
the client id and secret in the body as Atlassian documents. A code is sent once
at most: a re-run cell gets a clear refusal instead of a second request, and a
timed-out exchange is not retried (RFC 6749 section 4.1.2; case 111).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from oauthlib.oauth2 import OAuth2Error
from requests_oauthlib import OAuth2Session
from requests_oauthlib import oauth2_session as _oauth2_session

from kit.authorize import AuthorizationRequest
from kit.callback import CallbackResult
from kit.config import ClientConfig
from kit.errors import (
    CodeRejectedError,
    ExchangeRefusedError,
    KitError,
    RefreshRejectedError,
    TokenEndpointError,
    TokenResponseError,
    TransportError,
    hide_in_notebooks,
)
from kit.record import HISTORY, Exchange, History, from_response
from kit.redact import remember
from kit.tokens import Secret, TokenSet
from kit.transport import DEFAULT_TIMEOUT, Timeout, check_transport, configure_session

logger = logging.getLogger(__name__)

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path
SENT_CODES_KEPT = 1000  # codes remembered as sent, newest first

Grant = Literal["exchange", "refresh"]
Reader = Callable[[dict[str, Any]], TokenSet]  # a 200 answer into the token model


def token_url(config: ClientConfig) -> str:
    """The token endpoint: `https://auth.atlassian.com/oauth/token` or the sandbox's."""
    return config.hosts.auth_url + TOKEN_PATH


def exchange_code(
    config: ClientConfig,
    callback: CallbackResult | str,
    *,
    request: AuthorizationRequest | None = None,
    timeout: Timeout = DEFAULT_TIMEOUT,
    allow_plain_http: bool | None = None,
    history: History = HISTORY,
    now: Callable[[], float] = time.time,
) -> TokenSet:
    """Trade an authorization code for tokens (RFC 6749 section 4.1.3).

    `callback` is what the catcher caught (or the code itself). Pass the
    `request` that began the flow, so that its PKCE verifier is sent and the
    granted scope can be compared with the requested one. The code is sent at
    most once per process: calling again with it raises `ExchangeRefusedError`
    without sending anything. A refusal raises `CodeRejectedError` or
    `TokenEndpointError`; no answer raises `TransportError`, and the code is
    then spent as far as the kit is concerned.
    """
    __tracebackhide__ = hide_in_notebooks
    code = Secret(callback.code if isinstance(callback, CallbackResult) else callback)
    redirect_uri = _redirect_uri(config, callback, request)
    del callback  # a bare code is a secret in clear; no frame keeps it (case 101)
    verifier = None if request is None else request.code_verifier
    pkce = None if verifier is None else Secret(verifier)
    del verifier
    url = token_url(config)
    check_transport(url, allow_plain_http=_plain_http(config, allow_plain_http))
    remember(code, config.client_secret)
    _SENT_CODES.claim(code.fingerprint)

    def send(session: OAuth2Session) -> None:
        extra: dict[str, Any] = {} if pkce is None else {"code_verifier": pkce.reveal()}
        session.fetch_token(
            url,
            code=code.reveal(),
            include_client_id=True,
            client_secret=config.client_secret.reveal(),
            timeout=timeout,
            **extra,
        )

    requested = request.scopes if request is not None else ()

    def read(body: dict[str, Any]) -> TokenSet:
        return TokenSet.from_response(body, now=now, requested_scope=requested)

    try:
        tokens = _token_request(
            config, "exchange", redirect_uri, send, read, timeout, history
        )
    except KitError as exc:
        _SENT_CODES.settle(code.fingerprint, type(exc).__name__)
        raise
    _SENT_CODES.settle(code.fingerprint, "tokens")
    remember(tokens.access_token, tokens.refresh_token)
    logger.debug("Exchanged code %s for %s.", code.fingerprint, tokens.describe())
    return tokens


def refresh_access_token(
    config: ClientConfig,
    tokens: TokenSet,
    *,
    timeout: Timeout = DEFAULT_TIMEOUT,
    allow_plain_http: bool | None = None,
    retry_on_timeout: bool = True,
    history: History = HISTORY,
    now: Callable[[], float] = time.time,
) -> TokenSet:
    """New tokens for old, with the refresh grant (RFC 6749 section 6).

    Atlassian rotates the refresh token on every refresh: save the answer's
    refresh token before anything else (`TokenStore.refresh_with` does). A
    timed-out refresh is sent once more when `retry_on_timeout` is set, which
    Atlassian's 10-minute reuse leeway makes safe (case 112); the `rfc` profile
    has no leeway, so there a retry revokes the family: pass False.
    """
    __tracebackhide__ = hide_in_notebooks
    refresh = tokens.refresh_token
    if refresh is None:
        raise ExchangeRefusedError(_NO_REFRESH_TOKEN)
    url = token_url(config)
    check_transport(url, allow_plain_http=_plain_http(config, allow_plain_http))
    remember(refresh, config.client_secret)

    def send(session: OAuth2Session) -> None:
        session.refresh_token(
            url,
            refresh_token=refresh.reveal(),
            timeout=timeout,
            client_id=config.client_id,
            client_secret=config.client_secret.reveal(),
        )

    def read(body: dict[str, Any]) -> TokenSet:
        return TokenSet.from_response(body, now=now, requested_scope=tokens.scope)

    attempts = 2 if retry_on_timeout else 1
    for attempt in range(1, attempts + 1):
        try:
            received = _token_request(
                config, "refresh", config.redirect_uri, send, read, timeout, history
            )
            break
        except TransportError as exc:
            if attempt == attempts or not exc.timed_out:
                raise
            logger.info("The refresh timed out; sending it once more (leeway).")
    remember(received.access_token, received.refresh_token)
    logger.debug("Refreshed: %s.", received.describe())
    return received.with_refresh_token_of(tokens)


def refresher(config: ClientConfig, **options: Any) -> Callable[[TokenSet], TokenSet]:
    """`refresh_access_token` bound to `config`, for `TokenStore.fresh`."""

    def refresh(tokens: TokenSet) -> TokenSet:
        __tracebackhide__ = hide_in_notebooks
        return refresh_access_token(config, tokens, **options)

    return refresh


# Sending one request to the token endpoint ------------------------------------


def _token_request(  # noqa: PLR0917 - private, called twice
    config: ClientConfig,
    grant: Grant,
    redirect_uri: str,
    send: Callable[[OAuth2Session], None],
    read: Reader,
    timeout: Timeout,
    history: History,
) -> TokenSet:
    """Send through a fresh `OAuth2Session`; the 200 answer read by `read`.

    The answer is read into the masked token model as it arrives, before
    oauthlib parses it again, so that the kit's own checks name the problem
    and no frame of the kit keeps the tokens in clear (case 101).
    """
    __tracebackhide__ = hide_in_notebooks
    answer: list[TokenSet] = []
    session = OAuth2Session(config.client_id, redirect_uri=redirect_uri)
    configure_session(session, grant, timeout=timeout, history=history)

    def hook(response: requests.Response) -> requests.Response:
        answer.append(_read_answer(response, grant, read))
        return response

    if grant == "exchange":
        session.register_compliance_hook("access_token_response", hook)
    else:
        session.register_compliance_hook("refresh_token_response", hook)
    try:
        with _plain_http_allowed(token_url(config)):
            send(session)
    except TransportError as exc:  # an answer cut off or too large to read
        raise _no_answer(grant, timed_out=exc.timed_out) from None
    except KitError as exc:
        # Raised inside requests-oauthlib's frames, whose locals hold the secret
        # and the code: shown from here up only (case 101).
        raise exc.with_traceback(None) from None
    except requests.Timeout:
        raise _no_answer(grant, timed_out=True) from None
    except requests.ConnectionError:
        raise _no_answer(grant, timed_out=False) from None
    except (OAuth2Error, ValueError, TypeError) as exc:  # oauthlib's own parse
        said = getattr(exc, "description", None) or type(exc).__name__
        raise TokenResponseError(_unusable(said)) from None
    finally:
        session.close()
    if not answer:
        raise TokenResponseError(_unusable("no JSON object"))
    return answer[0]


def _read_answer(
    response: requests.Response,
    grant: Grant,
    read: Callable[[dict[str, Any]], TokenSet],
) -> TokenSet:
    exchange = from_response(response, grant)
    if response.status_code != 200:
        raise _rejection(grant, exchange)
    try:
        body = response.json()
    except ValueError:
        raise TokenResponseError(_unusable("an answer that is not JSON")) from None
    if not isinstance(body, dict):
        raise TokenResponseError(_unusable("JSON that is not an object"))
    return read(body)


def _rejection(grant: Grant, exchange: Exchange) -> TokenEndpointError:
    from kit.doctor import diagnose_exchange  # noqa: PLC0415 - doctor imports errors

    body = exchange.json()
    fields = body if isinstance(body, dict) else {}
    error = fields.get("error") if isinstance(fields.get("error"), str) else None
    description = fields.get("error_description")
    description = description if isinstance(description, str) else None
    status = exchange.status or 0
    diagnosis = diagnose_exchange(exchange)
    kind = _rejection_class(grant, status, error)
    return kind(
        diagnosis.message(),
        status=status,
        error=error,
        description=description,
        exchange=exchange,
    )


def _rejection_class(
    grant: Grant, status: int, error: str | None
) -> type[TokenEndpointError]:
    if status in {401, 429} or status >= 500:
        return TokenEndpointError  # the client or the server, not the grant
    if grant == "exchange" and error in {"invalid_request", "invalid_grant"}:
        return CodeRejectedError
    if grant == "refresh" and error in {"invalid_grant", "unauthorized_client"}:
        return RefreshRejectedError
    return TokenEndpointError


def _no_answer(grant: Grant, *, timed_out: bool) -> TransportError:
    what = "timed out" if timed_out else "got no answer"
    if grant == "exchange":
        message = (
            f"The code exchange {what}. The kit does not send it again: the "
            "server may have used the code already, and a code works once "
            "(case 111). Run the authorization step again for a fresh code."
        )
    else:
        message = (
            f"The refresh {what}. Your saved tokens are unchanged; check the "
            "network and the `ATLASSIAN_AUTH_URL` setting, then refresh again."
        )
    return TransportError(message, timed_out=timed_out)


def _unusable(what: str) -> str:
    return (
        f"The token endpoint answered 200 but with {what}, so there is no token "
        "to use (RFC 6749 section 5.1). Check that `ATLASSIAN_AUTH_URL` points "
        "at Atlassian or the sandbox."
    )


_NO_REFRESH_TOKEN = (
    "These tokens hold no refresh token: the authorization did not ask for "  # noqa: S105
    "`offline_access`. Add `offline_access` to the scopes and authorize again."
)


def _redirect_uri(
    config: ClientConfig,
    callback: CallbackResult | str,
    request: AuthorizationRequest | None,
) -> str:
    """The redirect URI the code is bound to: the one its request named."""
    if isinstance(callback, CallbackResult):
        return callback.redirect_uri
    return request.redirect_uri if request is not None else config.redirect_uri


def _plain_http(config: ClientConfig, allow_plain_http: bool | None) -> bool:
    """Plain http anywhere only for the sandbox's public app, unless told."""
    return config.is_sandbox if allow_plain_http is None else allow_plain_http


# One code, one request ---------------------------------------------------------


@dataclass
class _Sent:
    at: float
    outcome: str = "no answer yet"


class _SentCodes:
    """The codes this process has sent, by fingerprint: each is sent once."""

    def __init__(self) -> None:
        self._sent: OrderedDict[str, _Sent] = OrderedDict()
        self._lock = threading.Lock()

    def claim(self, code_fingerprint: str) -> None:
        with self._lock:
            earlier = self._sent.get(code_fingerprint)
            if earlier is None:
                self._sent[code_fingerprint] = _Sent(at=time.time())
                while len(self._sent) > SENT_CODES_KEPT:
                    self._sent.popitem(last=False)
                return
        raise ExchangeRefusedError(_sent_twice(code_fingerprint, earlier))

    def settle(self, code_fingerprint: str, outcome: str) -> None:
        with self._lock:
            if code_fingerprint in self._sent:
                self._sent[code_fingerprint].outcome = outcome


_SENT_CODES = _SentCodes()


def _sent_twice(code_fingerprint: str, earlier: _Sent) -> str:
    at = time.strftime("%H:%M:%S", time.localtime(earlier.at))
    got = (
        "It got tokens then: use them."
        if earlier.outcome == "tokens"
        else "Run the authorization step again for a new code."
    )
    return (
        f"Code {code_fingerprint} was sent to the token endpoint at {at} "
        f"already, and a code works once (RFC 6749 section 4.1.2): a second "
        f"exchange would be refused, and in the `rfc` profile it would revoke the "
        f"tokens of the first. The kit did not send it. {got}"
    )


# Plain http to the sandbox, for the kit's own requests only ----------------------

_CHECK_NAME = "is_secure_transport"  # the name requests-oauthlib imports it as
_library_check: Callable[[str], bool] = getattr(_oauth2_session, _CHECK_NAME)
_allowed = threading.local()
_install_lock = threading.Lock()


def _kit_transport_check(uri: str) -> bool:
    """requests-oauthlib's https check, which passes this thread's allowed origins."""
    allowed: frozenset[str] = getattr(_allowed, "origins", frozenset())
    return _origin(uri) in allowed or _library_check(uri)


@contextmanager
def _plain_http_allowed(url: str) -> Iterator[None]:
    """Let requests-oauthlib send to this one `http` origin, in this thread only.

    requests-oauthlib refuses plain http unless `OAUTHLIB_INSECURE_TRANSPORT`
    is set, which would allow it for every request of the process to any host.
    The kit checks the transport itself (`check_transport`: loopback, or a
    sandbox you named), then lifts the library's check for that origin, for
    the current thread, for the duration of one request.
    """
    if urlsplit(url).scheme != "http":
        yield
        return
    with _install_lock:
        if getattr(_oauth2_session, _CHECK_NAME) is not _kit_transport_check:
            setattr(_oauth2_session, _CHECK_NAME, _kit_transport_check)
    previous: frozenset[str] = getattr(_allowed, "origins", frozenset())
    _allowed.origins = previous | {_origin(url)}
    try:
        yield
    finally:
        _allowed.origins = previous


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"

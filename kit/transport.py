"""How every request of the kit travels: timeouts, limits, records, no redirects.

`configure_session` sets up a `requests.Session` (or requests-oauthlib's
`OAuth2Session`) so that each request has connect and read timeouts, an answer
is read up to a size cap, a redirect is never followed (it would re-send the
client secret or the token elsewhere), and each exchange leaves a masked record
in `kit.record.HISTORY` and one INFO log line. `check_transport` refuses plain
`http` to another machine (RFC 6749 section 10.9).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from kit.config import is_loopback
from kit.errors import ConfigError, ExchangeRefusedError, TransportError
from kit.record import HISTORY, History, from_failure, from_response
from kit.redact import protect_library_logs

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5.0  # seconds to open the connection
READ_TIMEOUT = 30.0  # seconds between bytes of the answer
DEFAULT_TIMEOUT = (CONNECT_TIMEOUT, READ_TIMEOUT)
MAX_ANSWER_BYTES = 10 * 1024 * 1024  # larger answers are cut off (case 118)
_CHUNK = 64 * 1024

Timeout = float | tuple[float, float]


class _QuietHTTPConnection(HTTPConnection):
    # `http.client.HTTPConnection.debuglevel = 1` prints every byte sent,
    # client secret and tokens included, to stdout (case 103). The kit's own
    # connections stay quiet; `kit.record` shows the same exchange, masked.
    debuglevel = 0


class _QuietHTTPSConnection(HTTPSConnection):
    debuglevel = 0


class _QuietHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _QuietHTTPConnection


class _QuietHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _QuietHTTPSConnection


class KitAdapter(HTTPAdapter):
    """Sends with a default timeout on quiet connections; records failures."""

    def __init__(self, step: str, timeout: Timeout, history: History) -> None:
        self.step = step
        self.timeout = timeout
        self.history = history
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _QuietHTTPConnectionPool,
            "https": _QuietHTTPSConnectionPool,
        }

    def send(  # type: ignore[override]  # noqa: PLR0917 - requests' signature
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Timeout | None = None,
        verify: bool | str = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        started_at = time.time()
        try:
            return super().send(
                request,
                stream=True,  # the response hook reads the body, up to the cap
                timeout=self.timeout if timeout is None else timeout,
                verify=verify,
                cert=cert,
                proxies=proxies,
            )
        except requests.RequestException as exc:
            failure = _failure_text(exc)
            self.history.add(from_failure(request, self.step, failure, started_at))
            logger.info(
                "%s %s: no answer (%s).", request.method, _where(request), failure
            )
            raise


def configure_session(
    session: requests.Session,
    step: str,
    *,
    timeout: Timeout = DEFAULT_TIMEOUT,
    max_answer_bytes: int = MAX_ANSWER_BYTES,
    history: History = HISTORY,
) -> requests.Session:
    """Set `session` up the kit's way (see the module's docstring); returns it.

    `step` names the step of the flow in the records: `exchange`, `refresh`,
    `resources`, `me` or `api`.
    """
    protect_library_logs()
    adapter = KitAdapter(step, timeout, history)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"

    def on_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        try:
            _read_capped(response, max_answer_bytes)
        except TransportError as exc:
            _record_unread(response, step, history, exc)
            raise
        exchange = from_response(response, step)
        history.add(exchange)
        logger.info("%s (%s).", exchange.summary(), _origin(response.url))
        if response.is_redirect:
            raise _redirect_refused(response)

    session.hooks["response"].append(on_response)
    return session


def new_session(step: str, **options: Any) -> requests.Session:
    """A fresh `requests.Session`, configured by `configure_session`."""
    return configure_session(requests.Session(), step, **options)


def check_transport(url: str, *, allow_plain_http: bool = False) -> None:
    """Refuse plain `http` to another machine: tokens would travel in clear.

    `https` is always fine; `http` is fine to this machine (a sandbox in the
    kernel), or anywhere when `allow_plain_http` is set, for a workshop's
    sandbox on the local network (case 96).
    """
    scheme = urlsplit(url).scheme.lower()
    plain_allowed = allow_plain_http or is_loopback(url)
    if scheme == "https" or (scheme == "http" and plain_allowed):
        return
    if scheme == "http":
        message = (
            f"The kit will not send tokens or the client secret in clear text to "
            f"{_origin(url)} (RFC 6749 section 10.9). Use https, a sandbox on "
            f"127.0.0.1, or, for a workshop's sandbox on the local network, pass "
            f"`allow_plain_http=True`."
        )
        raise ExchangeRefusedError(message)
    raise ConfigError(f"{url!r} is not an http or https URL. Check the base URLs.")


def _read_capped(response: requests.Response, limit: int) -> None:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        response.close()
        raise _too_large(response, limit)
    chunks: list[bytes] = []
    total = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            total += len(chunk)
            if total > limit:
                response.close()
                raise _too_large(response, limit)
            chunks.append(chunk)
    except requests.RequestException as exc:
        # requests reports a read timeout inside the body as a ConnectionError.
        timed_out = isinstance(exc, requests.Timeout) or "timed out" in str(exc)
        said = "the answer timed out" if timed_out else _failure_text(exc)
        raise TransportError(
            f"The answer from {_origin(response.url)} was cut off ({said}). "
            "The request may have arrived: check its effect before you send it "
            "again.",
            timed_out=timed_out,
        ) from None
    # What `Response.content` would have read, read here under the cap.
    response._content = b"".join(chunks)


def _record_unread(
    response: requests.Response, step: str, history: History, error: TransportError
) -> None:
    """Record and log an answer the kit stopped reading: too large, or cut off."""
    request = response.request
    started_at = time.time() - response.elapsed.total_seconds()
    history.add(from_failure(request, step, error.message, started_at))
    logger.info(
        "%s %s: answered %s, not read (%s)",
        request.method,
        _where(request),
        response.status_code,
        error.message,
    )


def _too_large(response: requests.Response, limit: int) -> TransportError:
    return TransportError(
        f"The answer from {_origin(response.url)} is larger than "
        f"{limit // (1024 * 1024)} MB, so the kit stopped reading it. Ask for less "
        f"(a smaller `limit`), or check that the URL points at the right server."
    )


def _redirect_refused(response: requests.Response) -> ExchangeRefusedError:
    location = response.headers.get("location", "")
    target = _origin(location) if urlsplit(location).netloc else "the same server"
    return ExchangeRefusedError(
        f"{_origin(response.url)} answered {response.status_code} and sent the "
        f"request on to {target}. The kit does not follow redirects: that would "
        f"send the client secret or the token to another address (RFC 9700 "
        f"section 4.12). Check the base URLs in your settings."
    )


def _failure_text(exc: BaseException) -> str:
    if isinstance(exc, requests.ConnectTimeout):
        return "the connection timed out"
    if isinstance(exc, requests.ReadTimeout):
        return "the answer timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "the TLS handshake failed"
    if isinstance(exc, requests.ConnectionError):
        return "the connection failed"
    return type(exc).__name__


def _origin(url: str | None) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the server"


def _where(request: requests.PreparedRequest) -> str:
    parts = urlsplit(request.url or "")
    return f"{parts.scheme}://{parts.netloc}{parts.path}"

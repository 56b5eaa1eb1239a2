"""A small OAuth 2.0 authorization server built from Authlib's own server classes.

`make_app` gives a plain WSGI app with Atlassian's paths: `/authorize` (approves
at once), `/oauth/token`, a bearer-protected `/me` and `/health`; `PeerServer`
runs it on 127.0.0.1 in a thread. Authlib lets plain http through to loopback
hosts only (RFC 8252 section 7.3), so `AUTHLIB_INSECURE_TRANSPORT` stays unset.
"""

from __future__ import annotations

import json
import logging
import secrets
import socketserver
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any, ClassVar
from urllib.parse import parse_qsl
from wsgiref.headers import Headers
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment
from wsgiref.util import request_uri

from authlib.common.security import generate_token
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AuthorizationCodeMixin,
    AuthorizationServer,
    ClientMixin,
    JsonPayload,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
    ResourceProtector,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator, BearerTokenValidator
from authlib.oauth2.rfc7636 import CodeChallenge

logger = logging.getLogger(__name__)

CODE_LIFETIME = 600  # seconds; RFC 6749 section 4.1.2 recommends 10 minutes
ACCESS_TOKEN_LIFETIME = 3600  # seconds, as `expires_in`
TOKEN_LENGTH = 48  # characters of an access or refresh token
MAX_BODY_BYTES = 64 * 1024  # a token request is a few hundred bytes
AUTH_METHODS = ("client_secret_basic", "client_secret_post")
GRANT_TYPES = ("authorization_code", "refresh_token")
IDLE_TIMEOUT = 10.0  # seconds a connection may send nothing

Clock = Callable[[], float]


# What the server knows: the client, the user, codes and tokens ---------------


@dataclass(frozen=True)
class RegisteredClient(ClientMixin):
    """The one confidential client the server knows (RFC 6749 section 2)."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """The redirect URI, when one alone is registered (section 3.1.2.3)."""
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        """The requested scopes this client may have; all of them if none asked."""
        asked = scope.split() if scope else self.scopes
        return " ".join(name for name in dict.fromkeys(asked) if name in self.scopes)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(
            self.client_secret.encode(), client_secret.encode()
        )

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method in AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in GRANT_TYPES


@dataclass(frozen=True)
class User:
    """The person who consents: the server approves on their behalf."""

    account_id: str = "peer-user-1"
    name: str = "Grace Peer"
    email: str = "grace.peer@peer.example"


@dataclass(frozen=True)
class AuthorizationCode(AuthorizationCodeMixin):
    """A code, bound to its client, redirect URI, scope and PKCE challenge."""

    code: str
    client_id: str
    redirect_uri: str | None
    scope: str
    user: User
    issued_at: float
    code_challenge: str | None = None
    code_challenge_method: str | None = None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope


@dataclass(frozen=True)
class Token(TokenMixin):
    """An access token and the refresh token issued with it."""

    client: RegisteredClient
    user: User
    access_token: str
    refresh_token: str | None
    scope: str
    issued_at: float
    expires_in: int
    now: Clock = field(repr=False, compare=False)

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.client.client_id)

    def get_scope(self) -> str:
        return self.scope

    def get_expires_in(self) -> int:
        return self.expires_in

    def is_expired(self) -> bool:
        return self.now() >= self.issued_at + self.expires_in

    def is_revoked(self) -> bool:
        """Access tokens live until they expire, refreshed away or not."""
        return False

    def get_user(self) -> User:
        return self.user

    def get_client(self) -> RegisteredClient:
        return self.client


class Store:
    """Codes and tokens in memory, behind one lock.

    A code or a refresh token is taken out as it is checked, so that two
    requests racing with the same one cannot both succeed: codes work once and
    refresh tokens rotate (RFC 6749 sections 4.1.2 and 6; RFC 9700 4.14.2).
    """

    def __init__(self, now: Clock = time.time) -> None:
        self.now = now
        self._lock = threading.Lock()
        self._codes: dict[str, AuthorizationCode] = {}
        self._by_access: dict[str, Token] = {}
        self._by_refresh: dict[str, Token] = {}

    def add_code(self, code: AuthorizationCode) -> None:
        with self._lock:
            self._codes[code.code] = code

    def take_code(self, code: str, client_id: str) -> AuthorizationCode | None:
        """The code, if this client holds it and it is fresh; it is spent."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.client_id != client_id:
                return None
            del self._codes[code]
        return found if self.now() < found.issued_at + CODE_LIFETIME else None

    def add_token(self, token: Token) -> None:
        with self._lock:
            self._by_access[token.access_token] = token
            if token.refresh_token is not None:
                self._by_refresh[token.refresh_token] = token

    def find_access_token(self, access_token: str) -> Token | None:
        with self._lock:
            return self._by_access.get(access_token)

    def take_refresh_token(self, refresh_token: str, client_id: str) -> Token | None:
        """The tokens of this refresh token, if this client holds it; it is spent."""
        with self._lock:
            found = self._by_refresh.get(refresh_token)
            if found is None or found.client.client_id != client_id:
                return None
            del self._by_refresh[refresh_token]
            return found

    def counts(self) -> dict[str, int]:
        """How many codes, access tokens and live refresh tokens are held."""
        with self._lock:
            return {
                "codes": len(self._codes),
                "access_tokens": len(self._by_access),
                "refresh_tokens": len(self._by_refresh),
            }


# Authlib's grants, told where to keep things ---------------------------------


class CodeGrant(grants.AuthorizationCodeGrant):
    """The authorization code grant (RFC 6749 section 4.1) on the `Store`."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        self.server.store.add_code(
            AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.scope,
                user=request.user,
                issued_at=self.server.store.now(),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )
        )

    def query_authorization_code(
        self, code: str, client: ClientMixin
    ) -> AuthorizationCode | None:
        return self.server.store.take_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        """Nothing to do: `query_authorization_code` took the code out."""

    def authenticate_user(self, authorization_code: AuthorizationCode) -> User:
        return authorization_code.user


class RefreshGrant(grants.RefreshTokenGrant):
    """The refresh grant (RFC 6749 section 6), rotating the refresh token."""

    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    INCLUDE_NEW_REFRESH_TOKEN = True

    def authenticate_refresh_token(self, refresh_token: str) -> Token | None:
        # Authlib has authenticated the client by now (`request.client`).
        client_id = self.request.client.get_client_id()
        return self.server.store.take_refresh_token(refresh_token, client_id)

    def authenticate_user(self, refresh_token: Token) -> User:
        return refresh_token.user

    def revoke_old_credential(self, refresh_token: Token) -> None:
        """Nothing to do: `authenticate_refresh_token` took the old one out."""


class BearerValidator(BearerTokenValidator):
    """Reads `Authorization: Bearer` tokens from the `Store` (RFC 6750)."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    def authenticate_token(self, token_string: str) -> Token | None:
        return self.store.find_access_token(token_string)


# Authlib's framework hooks, for plain WSGI ------------------------------------


@dataclass(frozen=True)
class HttpRequest:
    """What the app reads of one WSGI request."""

    method: str
    path: str
    uri: str
    headers: Headers
    query: list[tuple[str, str]]
    form: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Response:
    """What `handle_response` gives back: status, headers and body bytes."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""


class BodyTooLargeError(ValueError):
    """The request body is larger than `MAX_BODY_BYTES`."""


def read_request(environ: WSGIEnvironment) -> HttpRequest:
    """Read the method, URI, headers, query and form of a WSGI request."""
    headers = Headers(
        [
            (name[5:].replace("_", "-").title(), value)
            for name, value in environ.items()
            if name.startswith("HTTP_")
        ]
    )
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = environ["CONTENT_TYPE"]
    body = _read_body(environ)
    is_form = headers.get("Content-Type", "").startswith(
        "application/x-www-form-urlencoded"
    )
    return HttpRequest(
        method=environ["REQUEST_METHOD"].upper(),
        path=environ.get("PATH_INFO", "") or "/",
        uri=request_uri(environ),
        headers=headers,
        query=parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        form=_form(body) if is_form else [],
        body=body,
    )


def _read_body(environ: WSGIEnvironment) -> bytes:
    length = environ.get("CONTENT_LENGTH") or "0"
    size = int(length) if length.isdigit() else 0
    if size > MAX_BODY_BYTES:
        raise BodyTooLargeError(size)
    return bytes(environ["wsgi.input"].read(size)) if size else b""


def _form(body: bytes) -> list[tuple[str, str]]:
    return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)


def _first_values(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


class Payload(OAuth2Payload):
    """The query and form parameters, repeats kept for Authlib's checks."""

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self._data = _first_values(pairs)
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for name, value in pairs:
            self._datalist[name].append(value)

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class WsgiOAuth2Request(OAuth2Request):
    """Authlib's request over a WSGI request; raises `InsecureTransportError`
    for plain http to anything but a loopback host."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.method, request.uri, headers=request.headers)
        self.payload = Payload(request.query + request.form)
        self._request = request

    @property
    def args(self) -> dict[str, str]:
        return _first_values(self._request.query)

    @property
    def form(self) -> dict[str, str]:
        return _first_values(self._request.form)


class WsgiJsonPayload(JsonPayload):
    def __init__(self, body: bytes) -> None:
        self._body = body

    @property
    def data(self) -> Any:
        return json.loads(self._body) if self._body else None


class WsgiJsonRequest(JsonRequest):
    """Authlib's request for resource endpoints, such as `/me`."""

    def __init__(self, request: HttpRequest) -> None:
        super().__init__(request.method, request.uri, request.headers)
        self.payload = WsgiJsonPayload(request.body)


def _new_token(**_: Any) -> str:
    return str(generate_token(TOKEN_LENGTH))


class PeerAuthorizationServer(AuthorizationServer):
    """Authlib's `AuthorizationServer`, with the hooks a framework supplies."""

    def __init__(self, client: RegisteredClient, store: Store) -> None:
        super().__init__(scopes_supported=list(client.scopes))
        self.client = client
        self.store = store
        generator = BearerTokenGenerator(_new_token, _new_token, ACCESS_TOKEN_LIFETIME)
        self.register_token_generator("default", generator)
        self.register_grant(CodeGrant, [CodeChallenge(required=True)])
        self.register_grant(RefreshGrant)

    def query_client(self, client_id: str) -> RegisteredClient | None:
        return self.client if client_id == self.client.client_id else None

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        self.store.add_token(
            Token(
                client=request.client,
                user=request.user,
                access_token=token["access_token"],
                refresh_token=token.get("refresh_token"),
                scope=token.get("scope", ""),
                issued_at=self.store.now(),
                expires_in=int(token["expires_in"]),
                now=self.store.now,
            )
        )

    def create_oauth2_request(
        self, request: HttpRequest | OAuth2Request
    ) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return WsgiOAuth2Request(request)

    def create_json_request(self, request: HttpRequest) -> JsonRequest:
        return WsgiJsonRequest(request)

    def handle_response(
        self, status: int, body: Any, headers: Iterable[tuple[str, str]]
    ) -> Response:
        data = json.dumps(body) if isinstance(body, dict) else str(body or "")
        return Response(status, list(headers), data.encode("utf-8"))

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """Nothing listens for Authlib's signals here."""


# The WSGI app ----------------------------------------------------------------


def _json(status: int, body: dict[str, Any]) -> Response:
    headers = [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
    return Response(status, headers, json.dumps(body).encode("utf-8"))


def _oauth_error(error: str, description: str, status: int) -> Response:
    return _json(status, {"error": error, "error_description": description})


class PeerApp:
    """The WSGI app: routes to Authlib's endpoints; `store` shows what it holds."""

    def __init__(
        self, client: RegisteredClient, *, user: User | None = None, now: Clock
    ) -> None:
        self.user = user or User()
        self.store = Store(now)
        self.server = PeerAuthorizationServer(client, self.store)
        self.protector = ResourceProtector()
        self.protector.register_token_validator(BearerValidator(self.store))
        self.routes: dict[tuple[str, str], Callable[[HttpRequest], Response]] = {
            ("GET", "/health"): self.health,
            ("GET", "/authorize"): self.authorize,
            ("POST", "/oauth/token"): self.token,
            ("GET", "/me"): self.me,
        }

    def __call__(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        response = self.respond(environ)
        headers = [*response.headers, ("Content-Length", str(len(response.body)))]
        status = HTTPStatus(response.status)
        start_response(f"{status.value} {status.phrase}", headers)
        return [response.body]

    def respond(self, environ: WSGIEnvironment) -> Response:
        """The answer to one request; an error never escapes as an exception."""
        try:
            request = read_request(environ)
        except BodyTooLargeError:
            return _oauth_error("invalid_request", "The body is too large.", 413)
        handler = self.routes.get((request.method, request.path))
        if handler is None:
            return self._not_routed(request)
        try:
            return handler(request)
        except OAuth2Error as error:  # such as `insecure_transport`
            return self.server.handle_response(*error())
        except Exception:
            logger.exception("The peer failed on %s %s.", request.method, request.path)
            return _oauth_error("server_error", "The peer failed.", 500)

    def _not_routed(self, request: HttpRequest) -> Response:
        if any(path == request.path for _, path in self.routes):
            return _oauth_error("invalid_request", "Method not allowed.", 405)
        return _oauth_error("invalid_request", "No such endpoint.", 404)

    def health(self, request: HttpRequest) -> Response:
        return _json(200, {"status": "ok"})

    def authorize(self, request: HttpRequest) -> Response:
        """Approve at once and redirect with `code` and `state` (section 4.1.2).

        Authlib checks the client, redirect URI, response type, scope and PKCE
        challenge first; a bad redirect URI gets a 400, other errors a redirect.
        """
        oauth_request = self.server.create_oauth2_request(request)
        try:
            grant = self.server.get_consent_grant(oauth_request, end_user=self.user)
        except OAuth2Error as error:
            return self.server.handle_error_response(oauth_request, error)
        return self.server.create_authorization_response(
            oauth_request, grant_user=self.user, grant=grant
        )

    def token(self, request: HttpRequest) -> Response:
        """The token endpoint: `authorization_code` and `refresh_token` grants."""
        return self.server.create_token_response(request)

    def me(self, request: HttpRequest) -> Response:
        """The consenting user, for any live bearer token (RFC 6750)."""
        try:
            token = self.protector.validate_request(
                None, self.server.create_json_request(request)
            )
        except OAuth2Error as error:
            return self.server.handle_response(*error())
        return _json(200, asdict(token.user))


def make_app(
    client: RegisteredClient, *, user: User | None = None, now: Clock = time.time
) -> PeerApp:
    """The peer as a WSGI callable, for any WSGI server (wsgiref, waitress).

    `client` is the one registered client; `user` is who consents (a default
    `User` if None); `now` is the clock codes and tokens expire by.
    """
    return PeerApp(client, user=user, now=now)


# Running it in a thread ------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    """wsgiref's handler, minus the line per request on stderr."""

    timeout = IDLE_TIMEOUT

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """wsgiref's server with a thread per connection; `server_close` joins them."""

    daemon_threads = False
    block_on_close = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("A connection to the peer failed.", exc_info=True)


class PeerServer:
    """The peer on `127.0.0.1` and a free port, served from a background thread.

    >>> with PeerServer(client) as peer:  # doctest: +SKIP
    ...     requests.get(peer.url + "/health")
    """

    def __init__(
        self,
        client: RegisteredClient,
        *,
        user: User | None = None,
        now: Clock = time.time,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app = make_app(client, user=user, now=now)
        self.host = host
        self._port = port
        self._server: _ThreadingWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port served: the one picked for port 0, once started."""
        return self._port

    @property
    def url(self) -> str:
        """The base URL, such as `http://127.0.0.1:54321`: give it as the auth URL."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> PeerServer:
        """Bind and serve from a thread; the port answers once this returns."""
        if self._server is not None:
            return self
        self._server = make_server(
            self.host,
            self._port,
            self.app,
            server_class=_ThreadingWSGIServer,
            handler_class=_QuietHandler,
        )
        self._port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"authlib-peer-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wait for requests in flight, release the port."""
        server, thread = self._server, self._thread
        if server is None or thread is None:
            return
        server.shutdown()
        server.server_close()
        thread.join()
        self._server = self._thread = None

    def __enter__(self) -> PeerServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

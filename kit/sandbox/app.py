"""The sandbox as one request-to-response function, routing both Atlassian hosts.

`auth.atlassian.com` (`/authorize`, `/oauth/token`) and `api.atlassian.com`
(`/oauth/token/accessible-resources`, `/me`, `/ex/confluence/...`) share one origin
here, so one base URL serves as both `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`.
"""

from __future__ import annotations

import logging

from kit.sandbox import admin, gateway
from kit.sandbox.authorize import answer_consent, authorize
from kit.sandbox.bearer import CORS
from kit.sandbox.context import Context
from kit.sandbox.http import Request, Response, json_response
from kit.sandbox.pages import PAGE_HEADERS, error_page
from kit.sandbox.token import token

logger = logging.getLogger("kit.sandbox")

_API_PREFLIGHT = [
    *CORS,
    ("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS"),
    ("access-control-allow-headers", "Authorization, Content-Type, Accept"),
    ("access-control-max-age", "600"),
]


def handle(request: Request, ctx: Context) -> Response:
    """Answer one request. Never raises: an unexpected failure becomes a 500."""
    try:
        response = _route(request, ctx)
    except Exception:
        logger.exception("The sandbox failed on %s %s.", request.method, request.path)
        response = json_response(500, {"error": "server_error"})
    if not gateway.is_site_domain(request):
        add_api_cors(request.path, response)
    if request.method == "HEAD":
        response.body = b""
    return response


def add_api_cors(path: str, response: Response) -> None:
    """Every answer of the API host allows any origin, errors included (facts 7.1)."""
    is_api = path in _API_PATHS or path.startswith(gateway.PREFIX)
    if is_api and response.header("access-control-allow-origin") is None:
        response.headers.extend(CORS)


def _route(request: Request, ctx: Context) -> Response:  # noqa: PLR0911 - a router
    path, method = request.path, request.method
    if gateway.is_site_domain(request):
        return gateway.site_domain(request, ctx)
    if path.startswith(gateway.PREFIX):
        if method == "OPTIONS":
            return Response(204, list(_API_PREFLIGHT))
        return gateway.confluence(request, ctx)
    if path.startswith(admin.PREFIX):
        return admin.handle(request, ctx)
    if path == "/oauth/token":
        return token(request, ctx)
    if path == "/authorize":
        if method not in ("GET", "HEAD"):
            return _not_allowed("GET")
        return authorize(request, ctx)
    if path == "/authorize/consent":
        if method != "POST":
            return _not_allowed("POST")
        return answer_consent(request, ctx)
    return _api_or_missing(request, ctx)


_API_PATHS = ("/oauth/token/accessible-resources", "/me")


def _api_or_missing(request: Request, ctx: Context) -> Response:
    path, method = request.path, request.method
    api_routes = {
        "/oauth/token/accessible-resources": gateway.accessible_resources,
        "/me": gateway.me,
    }
    handler = api_routes.get(path)
    if handler is not None:
        if method == "OPTIONS":
            return Response(204, list(_API_PREFLIGHT))
        if method not in ("GET", "HEAD"):
            return _not_allowed("GET")
        return handler(request, ctx)
    if (
        path == "/.well-known/oauth-authorization-server"
        and ctx.settings.profile == "rfc"
    ):
        return _metadata(ctx)
    if path == "/":
        return error_page(
            404, "not_found", "This is the 3LO sandbox. Start at /authorize."
        )
    return gateway.not_found(request, ctx)


def _not_allowed(allowed: str) -> Response:
    body = {"error": "invalid_request", "error_description": f"Use {allowed}"}
    return json_response(405, body, [("allow", allowed), *PAGE_HEADERS])


def _metadata(ctx: Context) -> Response:
    """RFC 8414 metadata: how a client detects PKCE and `iss` support."""
    base = ctx.issuer
    body = {
        "issuer": base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": (
            ctx.settings.issue_iss_parameter
        ),
    }
    return json_response(200, body, [("cache-control", "no-store")])

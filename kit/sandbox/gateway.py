"""The API host: `accessible-resources`, `/me`, and the gateway to Confluence.

Calls reach a site only through `/ex/confluence/{cloudid}/...` with a bearer token
(facts 4.2). The gateway authenticates the token, checks that the site is in the grant,
checks the operation's scopes, applies the rate limit, and only then hands the request
to the emulated Confluence.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import deque
from typing import Any

from kit.sandbox.bearer import (
    CORS,
    ApiError,
    authenticate,
    require_scopes,
    unauthorized,
)
from kit.sandbox.context import Context
from kit.sandbox.http import Request, Response, html_response, json_response
from kit.sandbox.scenario import product_of_scope
from kit.sandbox.store import AccessRecord

PREFIX = "/ex/confluence/"
_ME_SCOPES = (frozenset({"read:me"}),)


def accessible_resources(request: Request, ctx: Context) -> Response:
    """The sites the token reaches, one element per product (facts 4.1)."""
    try:
        record = _authorised_call(request, ctx)
    except ApiError as exc:
        return exc.response
    grant = ctx.store.grant_by_id(record.grant_id)
    resources: list[dict[str, Any]] = []
    for cloud_id in grant.cloud_ids if grant else []:
        site = ctx.site(cloud_id)
        if site is None:
            continue
        for product in site.products:
            scopes = sorted(s for s in record.scopes if product_of_scope(s) == product)
            if scopes:
                resources.append(
                    {
                        "id": site.cloud_id,
                        "name": site.name,
                        "url": site.url,
                        "scopes": scopes,
                        "avatarUrl": site.avatar_url,
                    }
                )
    return json_response(200, resources, CORS)


def me(request: Request, ctx: Context) -> Response:
    """The User Identity API's profile of the consenting user (facts 4.3)."""
    try:
        record = _authorised_call(request, ctx)
        require_scopes(ctx, record.scopes, _ME_SCOPES)
    except ApiError as exc:
        return exc.response
    user = ctx.user
    profile = {
        "account_type": "atlassian",
        "account_id": user.account_id,
        "email": user.email,
        "email_verified": True,
        "name": user.name,
        "picture": f"https://avatar-management.example/{user.nickname}.png",
        "account_status": "active",
        "nickname": user.nickname,
        "zoneinfo": user.zoneinfo,
        "locale": user.locale,
        "extended_profile": {
            "job_title": user.job_title,
            "organization": user.organization,
            "department": user.department,
            "location": user.location,
        },
    }
    return json_response(200, profile, CORS)


def confluence(request: Request, ctx: Context) -> Response:
    """`/ex/confluence/{cloudid}/...`: authenticate, route, check scopes, answer."""
    # Route on the path as sent: a parameter may hold an encoded `/` (`%2F`).
    cloud_id, _, rest = request.path_as_sent[len(PREFIX) :].partition("/")
    try:
        record = _authorised_call(request, ctx)
    except ApiError as exc:
        return exc.response
    site = ctx.site(cloud_id)
    if site is None or "confluence" not in site.products:
        return not_found(request, ctx)
    grant = ctx.store.grant_by_id(record.grant_id)
    if grant is None or cloud_id not in grant.cloud_ids:
        return unauthorized()
    from kit.sandbox.confluence.routes import match_operation  # noqa: PLC0415

    matched = match_operation(request.method, "/" + rest)
    if matched is None:
        return not_found(request, ctx)
    operation, params = matched
    try:
        require_scopes(ctx, record.scopes, operation.scope_sets)
    except ApiError as exc:
        return exc.response
    response: Response = ctx.confluence.handle(
        operation, params, request, site, ctx.settings, record.scopes
    )
    response.headers.extend(CORS)
    return response


def _authorised_call(request: Request, ctx: Context) -> AccessRecord:
    record = authenticate(request, ctx)
    _count_call(request, record, ctx)
    return record


def _count_call(request: Request, record: AccessRecord, ctx: Context) -> None:
    """A sliding one-minute window per token (facts 6.7); 429 once it is full."""
    limit = ctx.settings.rate_limit_per_minute
    if limit is None:
        return
    now = ctx.now()
    key = record.grant_id + record.client_id
    with ctx.store.lock:
        calls = ctx.store.api_calls.setdefault(key, deque())
        while calls and calls[0] <= now - 60:
            calls.popleft()
        if len(calls) < limit:
            calls.append(now)
            return
        # The oldest call leaves the window at exactly this many seconds from now.
        retry_after = max(1, math.ceil(calls[0] + 60 - now))
    reset = dt.datetime.fromtimestamp(now + retry_after, dt.UTC)
    headers = [
        ("retry-after", str(retry_after)),
        ("x-ratelimit-limit", str(limit)),
        ("x-ratelimit-remaining", "0"),
        ("x-ratelimit-reset", reset.strftime("%Y-%m-%dT%H:%MZ")),
        *CORS,
    ]
    body = {"code": 429, "message": "Rate limit exceeded"}
    raise ApiError(json_response(429, body, headers))


def not_found(request: Request, ctx: Context) -> Response:
    """The gateway's Spring-style 404 for an unknown route or cloud id (facts 4.2)."""
    stamp = dt.datetime.fromtimestamp(ctx.now(), dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    body = {
        "timestamp": stamp,
        "status": 404,
        "error": "Not Found",
        "message": "No message available",
        "path": request.path,
    }
    return json_response(404, body, CORS)


def site_domain(request: Request, ctx: Context) -> Response:
    """A call sent to `https://<site>.atlassian.net` instead of the gateway.

    3LO tokens work only through `api.atlassian.com/ex/...`; the site domain answers
    401 whatever the token (facts 2.3 [H]), with a Tomcat-style HTML page, not
    JSON (facts 2.3 [M]). The sandbox treats a `Host` under `.atlassian.net`, and
    any `/wiki/...` path on its own origin, as the site domain.
    """
    page = (
        "<!doctype html><html lang='en'><head><title>HTTP Status 401 - "
        "Unauthorized</title></head><body><h1>HTTP Status 401 - Unauthorized"
        "</h1><p>OAuth 2.0 (3LO) tokens are accepted only through the API "
        "gateway: call /ex/confluence/{cloudid}/wiki/... on api.atlassian.com."
        "</p></body></html>"
    )
    return html_response(401, page)


def is_site_domain(request: Request) -> bool:
    """Whether a request is addressed to a site domain rather than the gateway."""
    hostname = request.host.rsplit(":", 1)[0].lower().rstrip(".")
    return hostname.endswith(".atlassian.net") or (
        request.path == "/wiki" or request.path.startswith("/wiki/")
    )

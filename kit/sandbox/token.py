"""`POST /oauth/token`: authorization codes and refresh tokens for tokens.

The request is read strictly (RFC 6749 sections 3.2 and 4.1.3), the client is
authenticated, then the grant runs under the store's lock, so that a code is redeemed,
and a refresh token rotated, exactly once however many clients race for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections import deque
from typing import Any
from urllib.parse import unquote_plus

from kit.sandbox import token_errors as errors
from kit.sandbox.authorize import s256
from kit.sandbox.context import Context
from kit.sandbox.http import (
    BadRequestError,
    Request,
    Response,
    json_response,
    parse_form,
)
from kit.sandbox.issuing import issue_tokens
from kit.sandbox.store import FAILURE_WINDOW, CodeRecord, Family, RefreshRecord

_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
# The names an error may echo; any other name could be anything, a secret included.
_KNOWN_NAMES = frozenset(
    {
        "grant_type",
        "code",
        "redirect_uri",
        "client_id",
        "client_secret",
        "refresh_token",
        "scope",
        "code_verifier",
        "code_challenge_method",
        "audience",
    }
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"


def token(request: Request, ctx: Context) -> Response:
    """Answer the token endpoint: tokens, or an error in the profile's words."""
    if request.method != "POST":
        error = errors.invalid_request("The token endpoint only accepts POST")
        return _with_header(error.response(), 405, ("allow", "POST"))
    try:
        params = _read_parameters(request, ctx)
        client_id = _authenticate(request, params, ctx)
        grant_type = params.get("grant_type")
        if grant_type == "authorization_code":
            body = _redeem_code(params, client_id, ctx)
        elif grant_type == "refresh_token":
            body = _rotate_refresh_token(params, client_id, ctx)
        elif grant_type is None:
            raise errors.invalid_request("grant_type is missing")
        else:
            raise errors.TokenError(
                400,
                "unsupported_grant_type",
                "Only authorization_code and refresh_token are supported",
            )
    except errors.TokenError as exc:
        return exc.response()
    return json_response(200, body, errors.NO_STORE)


def _with_header(response: Response, status: int, header: tuple[str, str]) -> Response:
    response.status = status
    response.headers.append(header)
    return response


def _read_parameters(request: Request, ctx: Context) -> dict[str, str]:
    """The body's parameters; empty values count as omitted, none may repeat."""
    if request.query:
        raise errors.invalid_request(
            "Send parameters in the request body, never in the URL"
        )
    if request.content_type == _JSON and ctx.settings.accept_json_token_requests:
        pairs = _json_pairs(request.body)
    elif request.content_type == _FORM:
        try:
            pairs = parse_form(request.body)
        except BadRequestError as exc:
            raise errors.invalid_request(f"The form body is malformed: {exc}") from exc
    else:
        accepted = _FORM + (
            " or " + _JSON if ctx.settings.accept_json_token_requests else ""
        )
        raise errors.invalid_request(f"Content-Type must be {accepted}")
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise errors.invalid_request(f"{_shown(name)} is repeated")
        if value != "":
            _check_value(name, value, ctx)
            params[name] = value
    return params


class _Members(list[tuple[str, Any]]):
    """The members of one JSON object, in order, repeats kept."""


def _json_pairs(body: bytes) -> list[tuple[str, str]]:
    """The members of a JSON object whose every value is a string (facts 2.1)."""
    try:
        loaded = json.loads(body, object_pairs_hook=_Members)
    except (ValueError, RecursionError) as exc:
        raise errors.invalid_request("The body is not valid JSON") from exc
    if not isinstance(loaded, _Members):
        raise errors.invalid_request("The JSON body must be an object")
    for name, value in loaded:
        if not isinstance(value, str):
            raise errors.invalid_request(f"{_shown(name)} must be a string")
    return list(loaded)


def _shown(name: str) -> str:
    """A parameter's name fit to echo: an OAuth parameter's, else a stand-in."""
    return name if name in _KNOWN_NAMES else "a parameter"


def _check_value(name: str, value: str, ctx: Context) -> None:
    """Refuse control characters: no OAuth value may hold one (RFC 6749 App. A)."""
    if not _CONTROL.search(value):
        return
    if name == "code" and ctx.settings.profile == "atlassian":
        raise errors.bad_code(ctx.settings, "the code is malformed")
    raise errors.invalid_request(f"{_shown(name)} holds a control character")


def _authenticate(request: Request, params: dict[str, str], ctx: Context) -> str:
    """The authenticated client's id (RFC 6749 sections 2.3.1 and 3.2.1)."""
    basic = _basic_credentials(request, ctx)
    if basic is not None:
        if "client_secret" in params:
            raise errors.invalid_request(
                "Use one client authentication method, not Basic and the body both"
            )
        if params.get("client_id", basic[0]) != basic[0]:
            raise errors.invalid_request(
                "client_id in the body differs from the Authorization header"
            )
        client_id, secret = basic
    else:
        client_id = params.get("client_id", "")
        secret = params.get("client_secret", "")
    _check_throttle(client_id, ctx)
    if not ctx.store.check_secret(client_id, secret):
        _record_failure(client_id, ctx)
        raise errors.bad_client(ctx.settings, used_basic=basic is not None)
    return client_id


def _basic_credentials(request: Request, ctx: Context) -> tuple[str, str] | None:
    header = request.header("authorization")
    if header is None or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        raw_id, raw_secret = decoded.split(":", 1)
        _strict_percent(raw_id + raw_secret)
    except (binascii.Error, UnicodeDecodeError, ValueError, BadRequestError) as exc:
        raise errors.bad_client(ctx.settings, used_basic=True) from exc
    return unquote_plus(raw_id), unquote_plus(raw_secret)


def _strict_percent(text: str) -> None:
    for match in re.finditer("%", text):
        escape = text[match.start() + 1 : match.start() + 3]
        if not re.fullmatch("[0-9A-Fa-f]{2}", escape):
            raise BadRequestError("bad percent-escape in Basic credentials")


def _check_throttle(client_id: str, ctx: Context) -> None:
    """Refuse a client with too many recent failures (RFC 6749 section 2.3.1).

    `Retry-After` is exact: the second the oldest failure leaves the window.
    """
    now = ctx.now()
    with ctx.store.lock:
        failures = ctx.store.failed_auth.get(client_id)
        if failures is None:
            return
        while failures and failures[0] <= now - FAILURE_WINDOW:
            failures.popleft()
        if len(failures) >= ctx.settings.failed_auth_limit_per_minute:
            wait = math.ceil(failures[0] + FAILURE_WINDOW - now)
            raise errors.throttled(max(1, wait))


def _record_failure(client_id: str, ctx: Context) -> None:
    with ctx.store.lock:
        failures = ctx.store.failed_auth.setdefault(client_id, deque())
        failures.append(ctx.now())


def _redeem_code(
    params: dict[str, str], client_id: str, ctx: Context
) -> dict[str, Any]:
    """Exchange a code once; a second try is refused and may revoke the first."""
    code = params.get("code")
    if code is None:
        raise errors.invalid_request("code is missing")
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None and ctx.settings.profile == "atlassian":
        raise errors.invalid_request("redirect_uri is missing")
    now = ctx.now()
    store = ctx.store
    with store.lock:
        record = store.codes.get(store.digest(code))
        if record is None:
            raise errors.bad_code(ctx.settings, "the code is unknown")
        _check_code(record, client_id, redirect_uri, params, ctx)
        record.consumed_at = now
        grant = store.grant_by_id(record.grant_id)
        if grant is None or grant.revoked:
            raise errors.bad_code(ctx.settings, "the grant behind the code was revoked")
        body, hashes, family = issue_tokens(ctx, client_id, grant, record.scopes, None)
        record.issued_token_hashes = hashes
        record.family_id = family.family_id if family else None
    return body


def _check_code(
    record: CodeRecord,
    client_id: str,
    redirect_uri: str | None,
    params: dict[str, str],
    ctx: Context,
) -> None:
    now = ctx.now()
    if record.consumed_at is not None:
        if ctx.settings.revoke_on_code_reuse:
            _revoke_issued(record, ctx)
        raise errors.bad_code(ctx.settings, "the code was already used")
    if now >= record.expires_at:
        record.consumed_at = now
        raise errors.bad_code(ctx.settings, "the code has expired")
    if record.client_id != client_id:
        record.consumed_at = now  # a stolen code is not given a second try
        raise errors.bad_code(ctx.settings, "the code was issued to another client")
    _check_redirect_uri(record, redirect_uri, ctx)
    if ctx.settings.pkce == "enforce":
        _check_verifier(record, params.get("code_verifier"), ctx)


def _check_redirect_uri(
    record: CodeRecord, redirect_uri: str | None, ctx: Context
) -> None:
    """RFC 6749 section 4.1.3: the same `redirect_uri`, if authorize had one."""
    if redirect_uri is None and not record.redirect_uri_sent:
        return
    if redirect_uri is None:
        raise errors.bad_code(
            ctx.settings, "redirect_uri is missing; the authorization request had one"
        )
    if redirect_uri != record.redirect_uri:
        raise errors.bad_code(
            ctx.settings,
            "redirect_uri differs from the one in the authorization request",
        )


def _check_verifier(record: CodeRecord, verifier: str | None, ctx: Context) -> None:
    """PKCE (RFC 7636 section 4.6; RFC 9700 section 4.8.2 on downgrades)."""
    if record.code_challenge is None:
        if verifier is not None:
            raise errors.bad_code(
                ctx.settings, "code_verifier sent, but the request had no challenge"
            )
        return
    if verifier is None:
        raise errors.bad_code(ctx.settings, "code_verifier is missing")
    if not _VERIFIER.match(verifier) or s256(verifier) != record.code_challenge:
        record.consumed_at = ctx.now()
        raise errors.bad_code(ctx.settings, "code_verifier does not match")


def _revoke_issued(record: CodeRecord, ctx: Context) -> None:
    """RFC 6749 section 4.1.2: a reused code revokes the tokens it issued."""
    for token_hash in record.issued_token_hashes:
        access = ctx.store.access.get(token_hash)
        if access is not None:
            access.revoked = True
    if record.family_id is not None:
        ctx.store.revoke_family(record.family_id, "the code was reused", access=True)


def _rotate_refresh_token(
    params: dict[str, str], client_id: str, ctx: Context
) -> dict[str, Any]:
    """Refresh: new tokens, and the presented refresh token is used up (facts 3)."""
    presented = params.get("refresh_token")
    if presented is None:
        raise errors.invalid_request("refresh_token is missing")
    store = ctx.store
    with store.lock:
        record = store.refresh.get(store.digest(presented))
        family = store.families.get(record.family_id) if record else None
        if record is None or family is None:
            raise errors.unknown_refresh_token(ctx.settings)
        _check_refresh(record, family, client_id, ctx)
        scopes = _refresh_scopes(params.get("scope"), family, ctx)
        if record.used_at is None:
            record.used_at = ctx.now()
        grant = store.grant_by_id(family.grant_id)
        if grant is None:
            raise errors.dead_refresh_token(ctx.settings, "the grant was revoked")
        body, _, _ = issue_tokens(ctx, client_id, grant, scopes, family)
    return body


def _check_refresh(
    record: RefreshRecord, family: Family, client_id: str, ctx: Context
) -> None:
    now, settings = ctx.now(), ctx.settings
    if family.client_id != client_id:
        raise errors.dead_refresh_token(
            settings, "the refresh token belongs to another client"
        )
    if family.revoked:
        raise errors.dead_refresh_token(
            settings, f"the refresh token was revoked: {family.revoked_reason}"
        )
    if now - record.issued_at >= settings.refresh_idle_limit:
        raise errors.dead_refresh_token(settings, "the refresh token expired unused")
    if now - family.created_at >= settings.refresh_absolute_limit:
        raise errors.dead_refresh_token(
            settings, "the refresh token family passed its absolute lifetime"
        )
    if record.used_at is None:
        return
    if (
        settings.profile == "atlassian"
        and now - record.used_at <= settings.refresh_reuse_leeway
    ):
        return  # inside the reuse leeway: tolerated (facts 3)
    ctx.store.revoke_family(
        family.family_id,
        "a rotated refresh token was reused",
        access=settings.profile == "rfc",
    )
    raise errors.dead_refresh_token(
        settings, "the refresh token was already used; its family is now revoked"
    )


def _refresh_scopes(
    requested: str | None, family: Family, ctx: Context
) -> frozenset[str]:
    """RFC 6749 section 6: a refresh may narrow the scope, never widen it."""
    if requested is None or ctx.settings.profile == "atlassian":
        return family.scopes
    scopes = frozenset(requested.split())
    if not scopes <= family.scopes:
        raise errors.TokenError(
            400, "invalid_scope", "the requested scope exceeds the original grant"
        )
    return scopes

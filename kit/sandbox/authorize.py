"""`GET /authorize` and the consent form: the first leg of the code grant.

A request whose client or redirect URI cannot be trusted gets an error page and no
redirect (RFC 6749 section 4.1.2.1); any other error goes back to the app with `error`
and the exact `state`. A valid request shows the consent page; Accept redirects with a
single-use code, Cancel with `error=access_denied` (facts 1.4).
"""

from __future__ import annotations

import hashlib
import re
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from urllib.parse import quote, urlencode, urlsplit

from kit.sandbox.context import Context
from kit.sandbox.http import BadRequestError, Request, Response, parse_form
from kit.sandbox.pages import GO_BACK, PAGE_HEADERS, consent_page, error_page
from kit.sandbox.scenario import OFFLINE_ACCESS, App, Site, product_of_scope
from kit.sandbox.store import CodeRecord, Grant, PendingConsent

AUDIENCE = "api.atlassian.com"
CONSENT_LIFETIME = 30 * 60
MAX_STATE_LENGTH = 8192
# RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
# A loopback redirect URI split into host, port and the rest (RFC 8252 section 7.3).
_LOOPBACK = re.compile(
    r"http://(127\.0\.0\.1|\[::1\])(?::([0-9]{1,5}))?([/?#].*)?", re.S
)
_PAGE_PARAMS = ("client_id", "redirect_uri", "state")
# Repeats of these go back to the app as invalid_request (RFC 6749 section 3.1).
# `audience` and `prompt` are Atlassian's; the rfc profile ignores them as unknown.
_REDIRECT_PARAMS: tuple[str, ...] = (
    "response_type",
    "scope",
    "code_challenge",
    "code_challenge_method",
)
_ATLASSIAN_PARAMS = ("audience", "prompt")
DECLINED = "User did not authorize the request"


@dataclass
class _Redirect:
    """Where and how to answer once the client and redirect URI are trusted."""

    redirect_uri: str
    state: str | None


class _PageError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


class _RedirectError(Exception):
    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


def authorize(request: Request, ctx: Context) -> Response:
    """Answer `GET /authorize`: an error page, an error redirect or the consent page."""
    try:
        app, target = _trusted_client(request, ctx)
    except _PageError as exc:
        return error_page(400, exc.error, exc.description)
    try:
        return _ask_consent(request, ctx, app, target)
    except _PageError as exc:
        return error_page(400, exc.error, exc.description)
    except _RedirectError as exc:
        return redirect_with(
            ctx, target, {"error": exc.error, "error_description": exc.description}
        )


def _param(request: Request, name: str) -> str | None:
    """A parameter's single value; empty counts as omitted (RFC 6749 section 3.1)."""
    values = [v for v in request.query_values(name) if v != ""]
    if len(values) > 1:
        raise _RedirectError("invalid_request", f"{name} is repeated")
    return values[0] if values else None


def _trusted_client(request: Request, ctx: Context) -> tuple[App, _Redirect]:
    for name in _PAGE_PARAMS:
        if len([v for v in request.query_values(name) if v != ""]) > 1:
            raise _PageError("invalid_request", f"{name} is repeated")
    client_id = _param(request, "client_id")
    app = ctx.store.apps.get(client_id or "")
    if app is None:
        raise _PageError(
            "unauthorized_client",
            "client_id is missing" if not client_id else f"Unknown client: {client_id}",
        )
    redirect_uri = _param(request, "redirect_uri")
    redirect_uri = _check_redirect_uri(ctx, app, redirect_uri)
    state = _param(request, "state")
    if state is not None and len(state) > MAX_STATE_LENGTH:
        raise _PageError(
            "invalid_request",
            f"state is longer than {MAX_STATE_LENGTH} characters; send a shorter value",
        )
    return app, _Redirect(redirect_uri, state)


def _check_redirect_uri(ctx: Context, app: App, redirect_uri: str | None) -> str:
    if redirect_uri is None:
        if ctx.settings.profile == "rfc" and len(app.redirect_uris) == 1:
            return app.redirect_uris[0]  # RFC 6749 section 3.1.2.3
        raise _PageError("invalid_request", "redirect_uri is missing")
    if redirect_uri in app.redirect_uris:
        return redirect_uri
    if ctx.settings.loopback_port_may_vary and any(
        _same_loopback_except_port(redirect_uri, known) for known in app.redirect_uris
    ):
        return redirect_uri  # RFC 8252 section 7.3; RFC 9700 section 4.1.3
    raise _PageError(
        "unauthorized_client",
        f"redirect_uri is not registered for client: {redirect_uri}",
    )


def _same_loopback_except_port(candidate: str, registered: str) -> bool:
    """Whether two loopback IP URIs are the same string but for the port.

    RFC 8252 section 7.3 lets a native app's loopback port vary; everything else,
    case and empty query included, must match character for character.
    """
    a, b = _LOOPBACK.fullmatch(candidate), _LOOPBACK.fullmatch(registered)
    if a is None or b is None:
        return False
    port = a.group(2)
    if port is not None and not 0 < int(port) <= 65535:
        return False
    return (a.group(1), a.group(3) or "") == (b.group(1), b.group(3) or "")


def _ask_consent(
    request: Request, ctx: Context, app: App, target: _Redirect
) -> Response:
    _refuse_repeats(request, ctx)
    _check_response_type(_param(request, "response_type"))
    if ctx.settings.require_audience:
        _check_audience(_param(request, "audience"))
    scopes = _check_scopes(ctx, app, _param(request, "scope"))
    challenge = _check_challenge(ctx, app, request)
    sites = _sites_for(ctx, scopes)
    consent = PendingConsent(
        consent_id=ctx.minter.opaque(),
        client_id=app.client_id,
        redirect_uri=target.redirect_uri,
        scopes=scopes,
        state=target.state,
        code_challenge=challenge,
        expires_at=ctx.now() + CONSENT_LIFETIME,
        redirect_uri_sent=_param(request, "redirect_uri") is not None,
    )
    with ctx.store.lock:
        ctx.store.consents[consent.consent_id] = consent
    return consent_page(app, scopes, sites, consent.consent_id)


def _refuse_repeats(request: Request, ctx: Context) -> None:
    """Send `invalid_request` back if a parameter the profile knows is repeated."""
    known = _REDIRECT_PARAMS
    if ctx.settings.profile == "atlassian":
        known += _ATLASSIAN_PARAMS
    for name in known:
        _param(request, name)


def _check_response_type(response_type: str | None) -> None:
    if response_type is None:
        raise _RedirectError("invalid_request", "response_type is missing")
    if response_type != "code":
        raise _RedirectError(
            "unsupported_response_type",
            "Only response_type=code is supported (the authorization code grant)",
        )


def _check_audience(audience: str | None) -> None:
    if audience != AUDIENCE:
        raise _PageError(
            "invalid_request",
            f"audience must be {AUDIENCE}"
            + (" (it is missing)" if audience is None else ""),
        )


def _check_scopes(ctx: Context, app: App, raw: str | None) -> frozenset[str]:
    # RFC 6749 section 3.3: scope tokens are separated by spaces, nothing else.
    scopes = frozenset(token for token in (raw or "").split(" ") if token)
    if not scopes:
        raise _RedirectError("invalid_scope", "scope is missing")
    malformed = sorted(s for s in scopes if not _SCOPE_TOKEN.fullmatch(s))
    if malformed:
        raise _RedirectError("invalid_scope", "scope holds characters RFC 6749 forbids")
    missing = sorted(scopes - app.scopes - {OFFLINE_ACCESS})
    if missing and ctx.settings.profile == "rfc":
        raise _RedirectError("invalid_scope", "unknown scope: " + " ".join(missing))
    if missing:
        raise _PageError(
            "invalid_scope",
            "This app has requested scopes that have not been added to the app. "
            "Configure the app at https://developer.atlassian.com/apps and add the "
            "following scopes to the app: " + ", ".join(missing) + ".",
        )
    return scopes


def _check_challenge(ctx: Context, app: App, request: Request) -> str | None:
    """The PKCE challenge to bind to the code, or None (RFC 7636 section 4.4.1).

    With `pkce=ignore` (Atlassian) a challenge is accepted and forgotten. With
    `enforce` a challenge must be S256, and a public client must send one
    (RFC 9700 section 2.1.1).
    """
    challenge = _param(request, "code_challenge")
    if ctx.settings.pkce == "ignore":
        return None
    if challenge is None:
        if is_public_client(ctx, app):
            raise _RedirectError(
                "invalid_request", "code_challenge is required for a public client"
            )
        return None
    method = _param(request, "code_challenge_method") or "plain"
    if method != "S256":
        # The method is not echoed: error_description allows only a few
        # characters (RFC 6749 section 4.1.2.1), and a client may send any.
        raise _RedirectError(
            "invalid_request", "code_challenge_method must be S256 (plain is refused)"
        )
    if not _CHALLENGE.fullmatch(challenge):
        raise _RedirectError(
            "invalid_request", "code_challenge must be 43 base64url characters"
        )
    return challenge


def is_public_client(ctx: Context, app: App) -> bool:
    """Whether the app was registered without a secret (RFC 6749 section 2.1).

    Atlassian's console always issues a secret; a lesson or test registers an
    `App` with `client_secret=""` to play a public client.
    """
    return ctx.store.check_secret(app.client_id, "")


def s256(verifier: str) -> str:
    """The S256 code challenge of a verifier (RFC 7636 section 4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _sites_for(ctx: Context, scopes: frozenset[str]) -> list[Site]:
    products = {p for p in map(product_of_scope, scopes) if p}
    if not products:
        return list(ctx.sites)
    return [s for s in ctx.sites if products & set(s.products)]


def redirect_with(ctx: Context, target: _Redirect, params: dict[str, str]) -> Response:
    """A 302 to the app's redirect URI with `params`, `state` and, if on, `iss`."""
    pairs = list(params.items())
    if target.state is not None:
        pairs.append(("state", target.state))
    if ctx.settings.issue_iss_parameter:
        pairs.append(("iss", ctx.issuer))
    separator = "&" if urlsplit(target.redirect_uri).query else "?"
    location = target.redirect_uri + separator + urlencode(pairs, quote_via=quote)
    return Response(302, [("location", location), *PAGE_HEADERS])


def answer_consent(request: Request, ctx: Context) -> Response:
    """Answer the consent form: Accept issues a code, Cancel declines.

    The form's `consent_id` is its CSRF token (RFC 6749 section 10.12): unguessable,
    single-use, and readable only by a page of this origin. A POST that another
    site sent is refused by its `Origin` and `Sec-Fetch-Site` headers first, and
    leaves the consent waiting for the real answer.
    """
    if not _same_origin(request):
        return error_page(
            403, "access_denied", "The consent form came from another site.", GO_BACK
        )
    form = _read_consent_form(request)
    if form is None:
        return error_page(
            400, "invalid_request", "The consent form could not be read.", GO_BACK
        )
    with ctx.store.lock:
        consent = _live_consent(ctx, form["consent_id"])
        if consent is None:
            return error_page(400, "invalid_request", _EXPIRED, _START_AGAIN)
        site = ctx.site(form.get("site", ""))
        accepted = form["decision"] == "accept"
        if accepted and (site is None or site not in _sites_for(ctx, consent.scopes)):
            return error_page(
                400, "invalid_request", "Choose a site before pressing Accept.", GO_BACK
            )
        del ctx.store.consents[consent.consent_id]
    target = _Redirect(consent.redirect_uri, consent.state)
    if not accepted or site is None:
        return redirect_with(
            ctx, target, {"error": "access_denied", "error_description": DECLINED}
        )
    return redirect_with(ctx, target, {"code": _issue_code(ctx, consent, site)})


_EXPIRED = "This consent request has expired or was already answered."
_START_AGAIN = "Nothing was sent to the app. Start again from the app."


def _read_consent_form(request: Request) -> dict[str, str] | None:
    """The form's fields, or None if one repeats or the decision is not a button's."""
    try:
        pairs = parse_form(request.body)
    except BadRequestError:
        return None
    form = dict(pairs)
    if len(form) != len(pairs) or "consent_id" not in form:
        return None
    if form.get("decision") not in ("accept", "cancel"):
        return None
    return form


def _same_origin(request: Request) -> bool:
    """Whether the consent POST came from a page of this origin, as far as we can tell.

    The consent page sends `Referrer-Policy: no-referrer`, so a browser posts its
    form with `Origin: null` (Fetch standard, "append a request Origin header");
    null is trusted only beside `Sec-Fetch-Site: same-origin`. Scripts and tests
    send neither header and are let through: they are not a forged browser form.
    """
    fetch_site = request.header("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.header("origin")
    if origin is None or origin == request.origin:
        return True
    return origin == "null" and fetch_site == "same-origin"


def _live_consent(ctx: Context, consent_id: str) -> PendingConsent | None:
    """The pending consent with this id, unless it is unknown or has expired."""
    consent = ctx.store.consents.get(consent_id)
    if consent is None or consent.expires_at <= ctx.now():
        return None
    return consent


def _issue_code(ctx: Context, consent: PendingConsent, site: Site) -> str:
    now = ctx.now()
    grant = _record_grant(ctx, consent, site, now)
    lifetime = ctx.settings.code_lifetime
    code = ctx.minter.code(consent.client_id, now, lifetime)
    record = CodeRecord(
        client_id=consent.client_id,
        redirect_uri=consent.redirect_uri,
        grant_id=grant.grant_id,
        scopes=consent.scopes,
        code_challenge=consent.code_challenge,
        issued_at=now,
        expires_at=now + lifetime,
        redirect_uri_sent=consent.redirect_uri_sent,
    )
    with ctx.store.lock:
        ctx.store.codes[ctx.store.digest(code)] = record
    return code


def _record_grant(
    ctx: Context, consent: PendingConsent, site: Site, now: float
) -> Grant:
    """One grant per app and account: new sites add up, new scopes replace old ones."""
    key = (consent.client_id, ctx.user.account_id)
    with ctx.store.lock:
        grant = ctx.store.grants.get(key)
        if grant is None:
            grant = Grant(
                grant_id=ctx.minter.opaque(),
                client_id=consent.client_id,
                account_id=ctx.user.account_id,
                scopes=consent.scopes,
                cloud_ids=[site.cloud_id],
                created_at=now,
            )
            ctx.store.grants[key] = grant
        else:
            grant.scopes = consent.scopes
            if site.cloud_id not in grant.cloud_ids:
                grant.cloud_ids.append(site.cloud_id)
    return grant

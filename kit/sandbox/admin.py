"""`/_sandbox/...`: the sandbox's own controls, which Atlassian does not have.

Health, the clock (read it, move it forward), the settings (read them, change some),
and revoking the user's grant as "Connected apps" would. Changes are accepted only
from the loopback interface unless the server was started to allow otherwise (in a
workshop, one learner moving the clock would move it for the whole room), only as
JSON, and never from a page of another site open in the learner's browser.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
from collections.abc import Callable
from typing import Any

from kit.sandbox.context import Context
from kit.sandbox.http import JSON_TYPE, Request, Response, json_response

PREFIX = "/_sandbox/"
_NO_STORE = [("cache-control", "no-store")]

Handler = Callable[[Request, Context], Response]


def handle(request: Request, ctx: Context) -> Response:
    """Route a `/_sandbox/...` request: GET or HEAD reads, POST changes."""
    name = request.path[len(PREFIX) :]
    if request.method not in ("GET", "HEAD", "POST"):
        return _error(405, "Use GET to read and POST to change.", [("allow", _ALLOW)])
    reader, writer = _ROUTES.get(name, (None, None))
    handler = writer if request.method == "POST" else reader
    if handler is None:
        if name not in _ROUTES:
            return _error(404, f"No control at {request.path}.")
        allowed = "POST" if reader is None else "GET, HEAD"
        return _error(405, f"Use {allowed} on {request.path}.", [("allow", allowed)])
    if request.method == "POST":
        refusal = _refuse_change(request, ctx)
        if refusal is not None:
            return refusal
    return handler(request, ctx)


def _refuse_change(request: Request, ctx: Context) -> Response | None:
    """Why a POST may not change the sandbox, as an answer; None if it may."""
    if not _may_change(request, ctx):
        return _error(
            403,
            "Sandbox controls answer only loopback callers. Start the sandbox with "
            "--allow-remote-admin to change that.",
        )
    if _cross_site(request):
        return _error(
            403,
            "Sandbox controls refuse requests sent by a page of another site. "
            "Send them from a notebook, curl or the sandbox's own origin.",
        )
    if request.content_type != JSON_TYPE:
        return _error(
            415,
            "Send the body as JSON, with the header `Content-Type: application/json`.",
        )
    return None


def _may_change(request: Request, ctx: Context) -> bool:
    if ctx.allow_remote_admin:
        return True
    try:
        return ipaddress.ip_address(request.client_host).is_loopback
    except ValueError:
        return False


def _cross_site(request: Request) -> bool:
    """A browser sent this for another site's page (Fetch Metadata, `Origin`)."""
    origin = request.header("origin")
    if origin is not None and origin != request.origin:
        return True
    return request.header("sec-fetch-site") in ("cross-site", "same-site")


def _error(
    status: int, message: str, headers: list[tuple[str, str]] | None = None
) -> Response:
    return json_response(status, {"error": message}, [*_NO_STORE, *(headers or [])])


def _read_object(request: Request) -> dict[str, Any] | None:
    try:
        loaded = json.loads(request.body or b"{}")
    except (ValueError, RecursionError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _health(request: Request, ctx: Context) -> Response:
    body = {"status": "ok", "profile": ctx.settings.profile, "issuer": ctx.issuer}
    return json_response(200, body, _NO_STORE)


def _clock(request: Request, ctx: Context) -> Response:
    now = ctx.now()
    body = {
        "now": now,
        "iso": dt.datetime.fromtimestamp(now, dt.UTC).isoformat(),
        "offset_seconds": ctx.clock.offset,
        "frozen": ctx.clock.frozen,
    }
    return json_response(200, body, _NO_STORE)


def _advance_clock(request: Request, ctx: Context) -> Response:
    payload = _read_object(request)
    if payload is None or set(payload) != {"advance"}:
        return _error(
            400,
            'Send {"advance": SECONDS}, e.g. {"advance": 660} to move 11 minutes on.',
        )
    step = payload["advance"]
    if (
        isinstance(step, bool)
        or not isinstance(step, int | float)
        or not math.isfinite(step)
        or step < 0
    ):
        return _error(
            400,
            f"`advance` must be a number of seconds >= 0, not {_shown(step)}: the "
            'clock only moves forward. Send e.g. {"advance": 660}.',
        )
    ctx.clock.advance(step)
    return _clock(request, ctx)


def _settings(request: Request, ctx: Context) -> Response:
    return json_response(200, ctx.settings.as_dict(), _NO_STORE)


def _change_settings(request: Request, ctx: Context) -> Response:
    payload = _read_object(request)
    if payload is None:
        return _error(
            400,
            "Send a JSON object of the settings to change, "
            'e.g. {"code_lifetime": 120}.',
        )
    if "profile" in payload:
        return _error(
            400,
            "`profile` is chosen when the sandbox starts: restart it with "
            "--profile, or change single settings here.",
        )
    try:
        ctx.settings = ctx.settings.with_changes(**payload)
    except ValueError as exc:
        return _error(400, str(exc))
    return _settings(request, ctx)


def _revoke(request: Request, ctx: Context) -> Response:
    """The user removes the app under Connected apps (RFC 6819 section 5.2.2.4)."""
    payload = _read_object(request) or {}
    client_id = payload.get("client_id")
    if not isinstance(client_id, str):
        return _error(400, 'Send {"client_id": "..."} naming the app to revoke.')
    revoked = ctx.store.revoke_grant(client_id, ctx.user.account_id)
    return json_response(200, {"revoked": revoked}, _NO_STORE)


def _shown(value: Any) -> str:
    """A value as JSON for an error message, cut short if long."""
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


_ROUTES: dict[str, tuple[Handler | None, Handler | None]] = {
    "health": (_health, None),
    "clock": (_clock, _advance_clock),
    "settings": (_settings, _change_settings),
    "revoke": (None, _revoke),
}
_ALLOW = "GET, HEAD, POST"

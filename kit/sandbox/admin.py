"""`/_sandbox/...`: the sandbox's own controls, which Atlassian does not have.

Health, the clock (read it, move it forward), the settings (read them, change some),
and revoking the user's grant as "Connected apps" would. Changes are accepted only
from the loopback interface unless the server was started to allow otherwise: in a
workshop, one learner moving the clock would move it for the whole room.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import math
from typing import Any

from kit.sandbox.context import Context
from kit.sandbox.http import Request, Response, json_response

PREFIX = "/_sandbox/"
_NO_STORE = [("cache-control", "no-store")]


def handle(request: Request, ctx: Context) -> Response:
    """Route a `/_sandbox/...` request."""
    name = request.path[len(PREFIX) :]
    if request.method not in ("GET", "HEAD", "POST"):
        return _error(405, "Use GET to read and POST to change.")
    if request.method == "POST" and not _may_change(request, ctx):
        return _error(
            403,
            "Sandbox controls answer only loopback callers. Start the sandbox with "
            "--allow-remote-admin to change that.",
        )
    routes = {
        "health": (_health, None),
        "clock": (_clock, _advance_clock),
        "settings": (_settings, _change_settings),
        "revoke": (None, _revoke),
    }
    reader, writer = routes.get(name, (None, None))
    handler = writer if request.method == "POST" else reader
    if handler is None:
        return _error(
            404 if name not in routes else 405, f"No control at {request.path}."
        )
    return handler(request, ctx)


def _may_change(request: Request, ctx: Context) -> bool:
    if ctx.allow_remote_admin:
        return True
    try:
        return ipaddress.ip_address(request.client_host).is_loopback
    except ValueError:
        return False


def _error(status: int, message: str) -> Response:
    return json_response(status, {"error": message}, _NO_STORE)


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
    step = payload.get("advance") if payload is not None else None
    if (
        isinstance(step, bool)
        or not isinstance(step, int | float)
        or not math.isfinite(step)
        or step < 0
    ):
        return _error(400, 'Send {"advance": SECONDS} with a number of seconds >= 0.')
    ctx.clock.advance(step)
    return _clock(request, ctx)


def _settings(request: Request, ctx: Context) -> Response:
    return json_response(200, ctx.settings.as_dict(), _NO_STORE)


def _change_settings(request: Request, ctx: Context) -> Response:
    payload = _read_object(request)
    if payload is None:
        return _error(400, "Send a JSON object of the settings to change.")
    if "profile" in payload:
        return _error(400, "The profile is chosen when the sandbox starts.")
    try:
        ctx.settings = ctx.settings.with_changes(**payload)
    except (TypeError, ValueError) as exc:
        return _error(400, str(exc))
    return _settings(request, ctx)


def _revoke(request: Request, ctx: Context) -> Response:
    payload = _read_object(request) or {}
    client_id = payload.get("client_id")
    if not isinstance(client_id, str):
        return _error(400, 'Send {"client_id": "..."} naming the app to revoke.')
    revoked = ctx.store.revoke_grant(client_id, ctx.user.account_id)
    return json_response(200, {"revoked": revoked}, _NO_STORE)

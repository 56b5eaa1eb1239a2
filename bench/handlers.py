"""The sandbox's handlers alone: each step of a flow and a `pages` call, in-process.

No HTTP, no ASGI, no load generator: `kit.sandbox.app.handle` called with a
`Request` built in advance, timed over thousands of calls. What is left of the
sandbox's cost when everything the floor also pays is taken away, so that the
floor targets can be weighed against the work a flow is.
"""

from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qs, urlencode, urlsplit

from kit.sandbox import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, Sandbox, app
from kit.sandbox.context import Context
from kit.sandbox.http import Request, Response
from kit.sandbox.scenario import PINECONE, SANDBOX_REDIRECT_URI

CONSENT_ID = re.compile(rb"name='consent_id' value='([^']+)'")
SITE = re.compile(rb"name='site' required value='([^']+)'")
HOST = "127.0.0.1:1"
FORM = {"host": HOST, "content-type": "application/x-www-form-urlencoded"}
SCOPE = "read:page:confluence read:space:confluence offline_access"


def handler_costs(flows: int = 4000) -> dict[str, float]:
    """Microseconds per call of each step, the median of three rounds."""
    ctx = Sandbox().ctx
    ctx.minter.issuer = f"http://{HOST}"
    rounds = [_round(ctx, flows) for _ in range(3)]
    return {step: sorted(r[step] for r in rounds)[1] for step in rounds[0]}


def _round(ctx: Context, flows: int) -> dict[str, float]:
    spent = {"authorize": 0.0, "consent": 0.0, "token": 0.0, "pages": 0.0}
    access = ""
    for n in range(flows):
        query = [
            ("audience", "api.atlassian.com"),
            ("client_id", SANDBOX_CLIENT_ID),
            ("scope", SCOPE),
            ("redirect_uri", SANDBOX_REDIRECT_URI),
            ("state", f"s{n}"),
            ("response_type", "code"),
            ("prompt", "consent"),
        ]
        page = _timed(
            spent,
            "authorize",
            ctx,
            Request("GET", "/authorize", query, {"host": HOST}, host=HOST),
        )
        form = {
            "consent_id": _found(CONSENT_ID, page.body),
            "decision": "accept",
            "site": _found(SITE, page.body),
        }
        headers = {**FORM, "origin": f"http://{HOST}", "sec-fetch-site": "same-origin"}
        consent = Request(
            "POST",
            "/authorize/consent",
            [],
            headers,
            urlencode(form).encode(),
            host=HOST,
        )
        redirect = _timed(spent, "consent", ctx, consent)
        code = parse_qs(urlsplit(redirect.header("location") or "").query)["code"][0]
        form = {
            "grant_type": "authorization_code",
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "code": code,
            "redirect_uri": SANDBOX_REDIRECT_URI,
        }
        exchange = Request(
            "POST", "/oauth/token", [], FORM, urlencode(form).encode(), host=HOST
        )
        tokens = _timed(spent, "token", ctx, exchange)
        access = access or json.loads(tokens.body)["access_token"]
    path = f"/ex/confluence/{PINECONE.cloud_id}/wiki/api/v2/pages"
    listing = Request(
        "GET",
        path,
        [("limit", "25")],
        {"host": HOST, "authorization": f"Bearer {access}"},
        host=HOST,
    )
    for _ in range(flows):
        _timed(spent, "pages", ctx, listing)
    return {step: 1e6 * seconds / flows for step, seconds in spent.items()}


def _timed(
    spent: dict[str, float], step: str, ctx: Context, request: Request
) -> Response:
    started = time.perf_counter()
    answer = app.handle(request, ctx)
    spent[step] += time.perf_counter() - started
    if answer.status >= 400:
        raise RuntimeError(f"{step}: {answer.status} {answer.body[:200]!r}")
    return answer


def _found(pattern: re.Pattern[bytes], body: bytes) -> str:
    match = pattern.search(body)
    if match is None:
        raise RuntimeError("the consent page has no form")
    return match.group(1).decode()

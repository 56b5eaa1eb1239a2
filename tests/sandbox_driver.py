"""Drives a running sandbox the way a browser and a client would, for the tests.

`Flow` walks the browser's part of the code grant (authorize, then Accept or Cancel on
the consent page) and posts to the token endpoint, so that a test can start from a
fresh code, a fresh token response, or a raw answer it wants to inspect.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests

from kit.sandbox import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    Clock,
    Sandbox,
)

START_TIME = 1_800_000_000.0  # a fixed instant, so that expiry boundaries are exact
DEFAULT_SCOPES = (
    "read:page:confluence read:space:confluence search:confluence "
    "read:me offline_access"
)


@dataclass
class Flow:
    """Drives the browser's part of the code grant against one sandbox."""

    sandbox: Sandbox
    http: requests.Session

    @property
    def url(self) -> str:
        return self.sandbox.url

    def authorize_params(self, **overrides: Any) -> dict[str, Any]:
        params: dict[str, Any] = {
            "audience": "api.atlassian.com",
            "client_id": SANDBOX_CLIENT_ID,
            "scope": DEFAULT_SCOPES,
            "redirect_uri": SANDBOX_REDIRECT_URI,
            "state": "state-1234",
            "response_type": "code",
            "prompt": "consent",
        }
        params.update(overrides)
        return {k: v for k, v in params.items() if v is not None}

    def authorize(self, **overrides: Any) -> requests.Response:
        """GET /authorize with the documented parameters, some overridden."""
        params = self.authorize_params(**overrides)
        return self.http.get(
            f"{self.url}/authorize", params=params, allow_redirects=False
        )

    def consent(
        self, page: requests.Response, decision: str = "accept", site: str | None = None
    ) -> requests.Response:
        """Press Accept (on the first site unless told) or Cancel on a consent page."""
        consent_id = re.search(r"name='consent_id' value='([^']+)'", page.text)
        assert consent_id, f"not a consent page: {page.status_code} {page.text[:300]}"
        sites = re.findall(r"name='site' required value='([^']+)'", page.text)
        form = {"consent_id": consent_id.group(1), "decision": decision}
        if decision == "accept":
            form["site"] = site or sites[0]
        return self.http.post(
            f"{self.url}/authorize/consent", data=form, allow_redirects=False
        )

    def code(self, **overrides: Any) -> str:
        """A fresh authorization code, from authorize and Accept."""
        answer = self.consent(self.authorize(**overrides))
        assert answer.status_code == 302, answer.text
        return redirect_params(answer)["code"]

    def exchange(self, code: str, **overrides: Any) -> requests.Response:
        """POST the code to the token endpoint as Atlassian's docs show (JSON)."""
        body = {
            "grant_type": "authorization_code",
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "code": code,
            "redirect_uri": SANDBOX_REDIRECT_URI,
        }
        body.update(overrides)
        body = {k: v for k, v in body.items() if v is not None}
        if self.sandbox.settings.accept_json_token_requests:
            return self.http.post(f"{self.url}/oauth/token", json=body)
        return self.http.post(f"{self.url}/oauth/token", data=body)

    def tokens(self, **overrides: Any) -> dict[str, Any]:
        """A fresh token response from a complete flow."""
        answer = self.exchange(self.code(**overrides))
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def refresh(self, refresh_token: str, **overrides: Any) -> requests.Response:
        """POST a refresh grant with the kit's sandbox app's credentials."""
        body = {
            "grant_type": "refresh_token",
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
            "refresh_token": refresh_token,
        }
        body.update(overrides)
        body = {k: v for k, v in body.items() if v is not None}
        if self.sandbox.settings.accept_json_token_requests:
            return self.http.post(f"{self.url}/oauth/token", json=body)
        return self.http.post(f"{self.url}/oauth/token", data=body)

    def api(self, path: str, token: str | None, **params: Any) -> requests.Response:
        """GET an API path with a bearer token."""
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.http.get(f"{self.url}{path}", headers=headers, params=params)


def redirect_params(response: requests.Response) -> dict[str, str]:
    """The query parameters of a redirect's `Location`, which must be unique."""
    pairs = parse_qsl(urlsplit(response.headers["location"]).query)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"repeated parameters: {names}"
    return dict(pairs)


@contextmanager
def started_flow(profile: str, **settings: Any) -> Iterator[Flow]:
    """A `Flow` over a sandbox of its own, frozen at START_TIME, stopped on exit.

    For module-scoped fixtures: one sandbox serves every test of a module.
    """
    sandbox = Sandbox(profile, clock=Clock(frozen_at=START_TIME), **settings).start()
    try:
        with requests.Session() as http:
            yield Flow(sandbox, http)
    finally:
        sandbox.stop()


def advance_clock(flow: Flow, seconds: float) -> float:
    """Move the sandbox's clock forward through `/_sandbox/clock`; return its now."""
    answer = flow.http.post(f"{flow.url}/_sandbox/clock", json={"advance": seconds})
    assert answer.status_code == 200, answer.text
    return float(answer.json()["now"])


def kit_frames_text(error: BaseException) -> str:
    """The `repr` of every local of every `kit/` frame in `error`'s displayed chain.

    What `%xmode Verbose` or `capture_locals=True` could show of the kit's frames;
    the chain is followed as Python displays it (`__cause__`, or `__context__`
    unless suppressed).
    """
    shown: list[str] = []
    current: BaseException | None = error
    while current is not None:
        frame_tb = current.__traceback__
        while frame_tb is not None:
            frame = frame_tb.tb_frame
            if "/kit/" in frame.f_code.co_filename:
                shown.extend(f"{k}={v!r}" for k, v in frame.f_locals.items())
            frame_tb = frame_tb.tb_next
        if current.__cause__ is not None:
            current = current.__cause__
        elif current.__suppress_context__:
            current = None
        else:
            current = current.__context__
    return "\n".join(shown)

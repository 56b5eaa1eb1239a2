"""Helpers for the token endpoint's tests: apps, request bodies, expected answers.

Each `*_answer` helper spells out one row of docs/sandbox.md's token table for both
profiles, on top of case 60's common check (`oauth_checks.assert_oauth_error`).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import requests
from oauth_checks import assert_oauth_error
from sandbox_driver import Flow, started_flow

from kit.sandbox import (
    PROFILES,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REDIRECT_URI,
    App,
)

RESOURCES = "/oauth/token/accessible-resources"
OTHER_APP = App(
    client_id="other-app-sandbox",
    client_secret="other-app-secret-not-for-production",
    name="Another app",
    redirect_uris=(SANDBOX_REDIRECT_URI,),
    scopes=frozenset({"read:page:confluence", "read:me"}),
)
PUBLIC_APP = App(
    client_id="public-app-sandbox",
    client_secret="",  # a public client: no secret (RFC 6749 section 2.1)
    name="A public app",
    redirect_uris=(SANDBOX_REDIRECT_URI,),
    scopes=frozenset({"read:me"}),
)
ATLASSIAN_BAD_CODE = {
    "error": "invalid_request",
    "error_description": "authorization_code is invalid",
}
ATLASSIAN_BAD_CLIENT = {"error": "access_denied", "error_description": "Unauthorized"}
ATLASSIAN_DEAD_REFRESH = {
    "error": "invalid_grant",
    "error_description": "Unknown or invalid refresh token.",
}
ATLASSIAN_UNKNOWN_REFRESH = {
    "error": "unauthorized_client",
    "error_description": "refresh_token is invalid",
}


@contextmanager
def flows_of_both_profiles(*apps: App) -> Iterator[dict[str, Flow]]:
    """A running sandbox per profile, each with `apps` registered beside the kit's."""
    with ExitStack() as stack:
        flows = {p: stack.enter_context(started_flow(p)) for p in PROFILES}
        for flow in flows.values():
            for app in apps:
                flow.sandbox.register_app(app)
        yield flows


@contextmanager
def settings_restored(flows: dict[str, Flow]) -> Iterator[None]:
    """Put back every sandbox's settings as they were on entry."""
    saved = {name: flow.sandbox.settings.as_dict() for name, flow in flows.items()}
    yield
    for name, flow in flows.items():
        saved[name].pop("profile")
        flow.sandbox.configure(**saved[name])


def profile_of(flow: Flow) -> str:
    return flow.sandbox.settings.profile


def post_token(flow: Flow, **kwargs: Any) -> requests.Response:
    """POST to the token endpoint exactly as told (`data=`, `json=`, `headers=`)."""
    return flow.http.post(f"{flow.url}/oauth/token", **kwargs)


def code_grant(code: str, **overrides: str | None) -> dict[str, str]:
    """The documented code-exchange parameters; an override of None drops one."""
    body: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "code": code,
        "redirect_uri": SANDBOX_REDIRECT_URI,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def pkce_pair() -> tuple[str, str]:
    """A fresh code verifier and its S256 challenge (RFC 7636 section 4.2)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def bad_code_answer(flow: Flow, response: requests.Response, code: str) -> None:
    """An unknown, expired, used or mismatched code: Atlassian's exact body [H]."""
    if profile_of(flow) == "atlassian":
        body = assert_oauth_error(response, 400, "invalid_request", secrets=[code])
        assert body == ATLASSIAN_BAD_CODE
    else:
        assert_oauth_error(response, 400, "invalid_grant", secrets=[code])


def bad_client_answer(flow: Flow, response: requests.Response, *sent: str) -> None:
    """A failed client authentication: Atlassian's exact 401 body [H].

    `sent` lists codes or tokens the request carried, which must not come back.
    """
    if profile_of(flow) == "atlassian":
        body = assert_oauth_error(response, 401, "access_denied", secrets=sent)
        assert body == ATLASSIAN_BAD_CLIENT
    else:
        assert_oauth_error(response, 401, "invalid_client", secrets=sent)


def dead_refresh_answer(flow: Flow, response: requests.Response, token: str) -> None:
    """An expired, revoked or reused refresh token: Atlassian's 403 [H]."""
    if profile_of(flow) == "atlassian":
        body = assert_oauth_error(response, 403, "invalid_grant", secrets=[token])
        assert body == ATLASSIAN_DEAD_REFRESH
    else:
        assert_oauth_error(response, 400, "invalid_grant", secrets=[token])


def unknown_refresh_answer(flow: Flow, response: requests.Response, token: str) -> None:
    """A refresh token the sandbox never issued: Atlassian's 403 [M]."""
    if profile_of(flow) == "atlassian":
        body = assert_oauth_error(response, 403, "unauthorized_client", secrets=[token])
        assert body == ATLASSIAN_UNKNOWN_REFRESH
    else:
        assert_oauth_error(response, 400, "invalid_grant", secrets=[token])

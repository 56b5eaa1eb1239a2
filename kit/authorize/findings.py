"""What `lint` can report: each finding's severity and its usual fix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from kit.authorize.request import ATLASSIAN_AUDIENCE

Severity: TypeAlias = Literal["error", "warning", "info"]

# Every finding `lint` can report: its severity and the usual fix.
LINT_RULES: dict[str, tuple[Severity, str]] = {
    "unparseable-url": (
        "error",
        "Start from `https://auth.atlassian.com/authorize?...` or the sandbox's URL.",
    ),
    "malformed-parameter": (
        "error",
        "Write each parameter as `name=value`, joined by `&`.",
    ),
    "bad-percent-encoding": (
        "error",
        "Build the query with `urllib.parse.urlencode` (or the kit's "
        "`AuthorizationRequest.url`) instead of by hand.",
    ),
    "unencoded-character": (
        "warning",
        "Percent-encode every value, as `urllib.parse.quote` does.",
    ),
    "insecure-auth-host": (
        "error",
        "Use `https://auth.atlassian.com`, or a sandbox on 127.0.0.1.",
    ),
    "not-authorize-endpoint": (
        "warning",
        "Send the browser to `<auth base URL>/authorize`.",
    ),
    "fragment": (
        "warning",
        "Remove the `#` part, or percent-encode a `#` inside a value as `%23`.",
    ),
    "duplicate-parameter": (
        "error",
        "Keep one of each; put several scopes in one `scope`, space-separated.",
    ),
    "missing-parameter": (
        "error",
        "Add it; `kit.authorize.AuthorizationRequest` writes every parameter.",
    ),
    "response-type-not-code": ("error", "Set `response_type=code`."),
    "missing-audience": ("warning", f"Add `audience={ATLASSIAN_AUDIENCE}`."),
    "wrong-audience": ("error", f"Set `audience={ATLASSIAN_AUDIENCE}`."),
    "missing-prompt": ("warning", "Add `prompt=consent`."),
    "wrong-prompt": ("warning", "Set `prompt=consent`."),
    "no-offline-access": ("warning", "Add `offline_access` to `scope`."),
    "literal-plus-in-scope": (
        "error",
        "Join scopes with a space; encode the space as `%20` (or `+`).",
    ),
    "unknown-scope": (
        "warning",
        "Check the name against the developer console, or `kit.scopes`.",
    ),
    "plus-reads-as-space": (
        "warning",
        "If you meant a plus sign, write `%2B`; better, let `urllib.parse.quote` "
        "encode the value.",
    ),
    "weak-state": (
        "error",
        "Use `kit.authorize.new_state()` (256 bits from `secrets`).",
    ),
    "secret-in-url": (
        "error",
        "Remove it; send it only in the body of the token request.",
    ),
    "pkce-not-s256": (
        "warning",
        "Send `code_challenge_method=S256` (RFC 7636 section 4.3).",
    ),
    "pkce-ignored": (
        "info",
        "Nothing to fix; keep `state`, which is what protects this flow.",
    ),
    "unknown-parameter": ("info", "Remove it unless you know the server reads it."),
    "bad-redirect-uri": (
        "error",
        "Send the app's callback URL, absolute, exactly as the console shows it.",
    ),
    "plain-http-redirect": (
        "warning",
        "Use https, or a loopback callback (`http://127.0.0.1:8765/callback`).",
    ),
    "redirect-uri-mismatch": (
        "error",
        "Send exactly the registered callback URL, or register this one.",
    ),
    "scopes-cannot-reach": (
        "error",
        "Add the missing scopes to `scope` (and to the app in the console).",
    ),
}


@dataclass(frozen=True)
class Finding:
    """One problem `lint` found in an authorization URL, with its fix.

    `code` is a key of `LINT_RULES`; `parameter` names the parameter concerned.
    """

    code: str
    severity: Severity
    parameter: str | None
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.severity.upper()} [{self.code}] {self.message} Fix: {self.fix}"


def finding(
    code: str, parameter: str | None, message: str, fix: str | None = None
) -> Finding:
    severity, usual_fix = LINT_RULES[code]
    return Finding(code, severity, parameter, message, fix or usual_fix)

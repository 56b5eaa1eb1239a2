"""Step 1 of the flow: the authorization URL that sends a person to consent.

`AuthorizationRequest` holds every parameter of facts 1.1 and builds the URL, with
a fresh `state` from `secrets`. `explain` says what each parameter of a URL does;
`lint` finds the traps that make Atlassian refuse a URL, or leave the app without
a refresh token or without the scopes its calls need.
"""

from __future__ import annotations

from kit.authorize.findings import LINT_RULES, Finding, Severity
from kit.authorize.linting import describe_difference, lint
from kit.authorize.reading import (
    ParameterNote,
    estimate_state_bits,
    explain,
    parse_authorization_url,
)
from kit.authorize.request import (
    ATLASSIAN_AUDIENCE,
    ATLASSIAN_AUTH_HOST,
    AUTHORIZE_PATH,
    MEANINGS,
    MIN_STATE_BITS,
    NEVER_IN_URL,
    REQUIRED,
    SECRET_PARAMETERS,
    STATE_BYTES,
    UNKNOWN_MEANING,
    VERIFIER_BYTES,
    AuthorizationRequest,
    build_authorization_url,
    code_challenge_for,
    fingerprint,
    masked,
    masked_url,
    new_authorization_request,
    new_code_verifier,
    new_state,
)

__all__ = [
    "ATLASSIAN_AUDIENCE",
    "ATLASSIAN_AUTH_HOST",
    "AUTHORIZE_PATH",
    "LINT_RULES",
    "MEANINGS",
    "MIN_STATE_BITS",
    "NEVER_IN_URL",
    "REQUIRED",
    "SECRET_PARAMETERS",
    "STATE_BYTES",
    "UNKNOWN_MEANING",
    "VERIFIER_BYTES",
    "AuthorizationRequest",
    "Finding",
    "ParameterNote",
    "Severity",
    "build_authorization_url",
    "code_challenge_for",
    "describe_difference",
    "estimate_state_bits",
    "explain",
    "fingerprint",
    "lint",
    "masked",
    "masked_url",
    "new_authorization_request",
    "new_code_verifier",
    "new_state",
    "parse_authorization_url",
]

"""Step 3 of the flow: catch the redirect that carries the authorization code.

`CallbackCatcher` listens on the loopback interface at the redirect URI's port and
path (RFC 8252 section 7.3), checks `state` before anything else, and hands over a
`CallbackResult`. On a hub, a redirect URI that `jupyter-server-proxy` serves
(`<base>/proxy/<port>/<path>`) is caught on that port of `127.0.0.1`.
`parse_redirected_url` is the fallback for machines whose browser cannot reach
the kernel at all: paste the address you land on; the same checks run.
"""

from __future__ import annotations

from kit.callback.answers import (
    RESPONSE_PARAMETERS,
    CallbackResult,
    ErrorResponse,
    Outcome,
    fingerprint,
    parse_query,
    printable,
    read_answer,
    verify_iss,
    verify_state,
)
from kit.callback.catcher import CallbackCatcher, CatcherStatus, Phase
from kit.callback.paste import parse_redirected_url
from kit.callback.server import START_PATH

__all__ = [
    "RESPONSE_PARAMETERS",
    "START_PATH",
    "CallbackCatcher",
    "CallbackResult",
    "CatcherStatus",
    "ErrorResponse",
    "Outcome",
    "Phase",
    "fingerprint",
    "parse_query",
    "parse_redirected_url",
    "printable",
    "read_answer",
    "verify_iss",
    "verify_state",
]

"""The check of `03-consent-and-callback`: was the callback caught, with its state?"""

from __future__ import annotations

from typing import Any

from kit.authorize import AuthorizationRequest
from kit.callback import CallbackResult, fingerprint
from kit.course.checks import Result, is_done, not_done, result

TITLE = "Exercise: catch the callback"


def caught(my_result: Any, my_request: AuthorizationRequest) -> Result:
    """Whether `my_result` is the callback of `my_request`, its state checked."""
    if not is_done(my_result):
        return not_done(TITLE, "my_result")
    if not isinstance(my_result, CallbackResult):
        kind = type(my_result).__name__
        hint = f"`my_result` is a {kind}; keep what `catcher.wait()` returns."
        return result(TITLE, [(False, hint)])
    return result(
        TITLE,
        [
            (True, "`my_result` is a `CallbackResult`: a code arrived."),
            (
                my_result.state_fingerprint == fingerprint(my_request.state),
                "It answers `my_request`: the catcher checked its `state`.",
            ),
            (
                my_result.redirect_uri == my_request.redirect_uri,
                "It came to the request's own callback URL.",
            ),
        ],
    )

"""Reading an exception: by the exchange it carries, by what it kept of one, or
by its class and words.
"""

from __future__ import annotations

import json

from kit import errors
from kit.doctor.diagnosis import Diagnosis, Step, short
from kit.doctor.exchanges import (
    SCOPES_DEFAULT,
    diagnose_exchange,
    exchange_answer,
    retry_text,
    scope_set,
)
from kit.doctor.pasted import diagnose_url
from kit.doctor.rules import Answer, first_match
from kit.record import Exchange


def diagnose_exception(exc: BaseException) -> Diagnosis:
    if type(exc) is errors.AuthorizationError and exc.error is None:
        # An error page's words, as the robot or a paste reports them.
        found = diagnose_url(_message(exc))
        if "OAuth answer" not in found.what:
            return found
    try:
        exchange = getattr(exc, "exchange", None)
        if isinstance(exchange, Exchange):
            return first_match(exchange_answer(exchange, _exception_extra(exc)))
        synthetic = _synthetic_exchange(exc)
        if synthetic is not None:
            return diagnose_exchange(synthetic)
    except Exception:  # noqa: S110 - the doctor never raises; the class still tells
        pass
    return first_match(_exception_answer(exc))


def _exception_answer(exc: BaseException) -> Answer:
    marks = {cls.__name__ for cls in type(exc).__mro__}
    error = getattr(exc, "error", None)
    marks |= {error} if isinstance(error, str) else set()
    status = getattr(exc, "status", None)
    said = short(_message(exc), 400)
    values = {
        "kind": type(exc).__name__,
        "message": said,
        "said": said,
        "error": short(error, 60) if isinstance(error, str) else "(no error code)",
        "status": str(status),
        "operation": f"`{short(str(getattr(exc, 'operation', '') or 'it'), 80)}`",
        "scopes": SCOPES_DEFAULT,
        "retry": retry_text(None),
        **_exception_extra(exc),
    }
    step: Step = "transport" if isinstance(exc, OSError) else "api"
    seen = f"{type(exc).__name__}: {short(said)}"
    code = status if isinstance(status, int) else 0
    return Answer("exception", step, code, frozenset(marks), said, seen, values)


def _exception_extra(exc: BaseException) -> dict[str, str]:
    """What an exception knows beyond its exchange: accepted scopes, the wait."""
    extra: dict[str, str] = {}
    accepted = getattr(exc, "accepted", ())
    if isinstance(accepted, tuple) and accepted:
        extra["scopes"] = " or ".join(scope_set(group) for group in accepted[:6])
    wait = getattr(exc, "retry_after", None)
    if isinstance(wait, int | float) and wait > 0:
        extra["retry"] = retry_text(f"{wait:g}")
    return extra


def _message(exc: BaseException) -> str:
    """The exception's text; a `__str__` that fails gives its class name."""
    try:
        return str(exc) or type(exc).__name__
    except Exception:  # the doctor never raises
        return type(exc).__name__


def _synthetic_exchange(exc: BaseException) -> Exchange | None:
    """An exchange rebuilt from what a token or API error kept, if it kept one."""
    if isinstance(exc, errors.TokenEndpointError):
        fields = {"error": exc.error, "error_description": exc.description}
        body = json.dumps({k: v for k, v in fields.items() if v is not None})
        refresh = isinstance(exc, errors.RefreshRejectedError)
        step = "refresh" if refresh else "exchange"
        return Exchange(step, "POST", "", status=exc.status, response_body=body)
    special = isinstance(exc, errors.ScopeError | errors.RateLimitedError)
    if isinstance(exc, errors.ApiError) and exc.status is not None and not special:
        return Exchange("api", "GET", "", status=exc.status)
    return None

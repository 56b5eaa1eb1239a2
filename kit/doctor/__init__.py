"""The doctor: any failure of the flow mapped to its step, its cause and the fix.

`diagnose` takes an exception, a recorded `Exchange` or the address the browser
landed on, and answers a `Diagnosis` for whichever step failed: settings,
authorize, callback, exchange, refresh, resources, api or transport. It knows
Atlassian's real answers (facts 1.4 to 6.7) and the sandbox's `rfc` profile's.
"""

from __future__ import annotations

from kit.doctor.diagnosis import SEEN_LIMIT, STEPS, Diagnosis, Step
from kit.doctor.exceptions import diagnose_exception
from kit.doctor.exchanges import diagnose_exchange
from kit.doctor.pasted import diagnose_url
from kit.record import Exchange

__all__ = [
    "SEEN_LIMIT",
    "STEPS",
    "Diagnosis",
    "Step",
    "diagnose",
    "diagnose_exchange",
    "diagnose_url",
]


def diagnose(failure: BaseException | Exchange | str) -> Diagnosis:
    """The diagnosis of an exception, a recorded exchange, or a landing URL.

    An exception that carries its `exchange` is diagnosed by that answer, with
    what the exception adds (a `ScopeError`'s scopes, a `RateLimitedError`'s
    wait). Never raises.
    """
    if isinstance(failure, Exchange):
        return diagnose_exchange(failure)
    if isinstance(failure, str):
        return diagnose_url(failure)
    return diagnose_exception(failure)

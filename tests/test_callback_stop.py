"""Stopping the catcher as soon as `wait()` returns never cuts the browser's page:
the sign-in counts as over only once the page is sent.
"""

from __future__ import annotations

import contextlib
import threading

import pytest
import requests

from kit.authorize import new_state
from kit.callback import CallbackCatcher
from kit.errors import AccessDeniedError

ROUNDS = 25


@pytest.mark.parametrize("answer", ["code=a-code-0123456789", "error=access_denied"])
def test_the_browser_gets_its_page_when_the_caller_stops_at_once(answer: str) -> None:
    statuses: list[int | str] = []
    for _ in range(ROUNDS):
        state = new_state()
        catcher = CallbackCatcher("http://127.0.0.1:0/callback", state, timeout=10)
        catcher.start()

        def browser(url: str = f"{catcher.url}?{answer}&state={state}") -> None:
            try:
                statuses.append(requests.get(url, timeout=5).status_code)
            except requests.ConnectionError as exc:
                statuses.append(type(exc).__name__)

        visit = threading.Thread(target=browser)
        visit.start()
        with contextlib.suppress(AccessDeniedError):
            catcher.wait(5)
        catcher.stop()  # at once, as `with CallbackCatcher(...)` does
        visit.join(5)

    assert statuses == [200] * ROUNDS

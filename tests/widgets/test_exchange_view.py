"""The exchange view: a recorded exchange as raw HTTP, curl and Python, masked."""

from __future__ import annotations

from helpers import all_text, assert_shows_none_of, stored_secrets

from kit.course import Course
from kit.record import HISTORY, Exchange
from kit.widgets import ExchangeView


def test_a_code_exchange_shows_its_summary_and_three_tabs_all_masked(
    course: Course,
) -> None:
    course.sign_in()
    exchange = HISTORY.last
    assert exchange is not None

    view = ExchangeView(exchange)

    assert view.tabs.titles == ("Raw", "curl", "Python")
    assert "POST /oauth/token -&gt; 200" in view.summary.value
    assert "POST /oauth/token HTTP/1.1" in view.raw.value
    assert view.curl.value.count("curl -sS -X POST") == 1
    assert "requests.request(" in view.python.value
    assert "…(masked)" in view.raw.value
    assert_shows_none_of(view, stored_secrets(course.store.path))
    assert "sandbox-secret-not-for-production" not in all_text(view)


def test_what_the_server_said_is_escaped_not_rendered() -> None:
    exchange = Exchange(
        "api",
        "GET",
        "http://127.0.0.1:1/wiki/api/v2/pages",
        status=500,
        reason="Server Error",
        response_body="<script>alert('x')</script>",
    )

    view = ExchangeView(exchange)

    assert "<script>" not in all_text(view)
    assert "&lt;script&gt;" in view.raw.value


def test_no_exchange_yet_says_so_and_show_replaces_what_is_shown() -> None:
    view = ExchangeView()
    assert "No exchange recorded yet." in view.summary.value

    view.show(Exchange("me", "GET", "http://127.0.0.1:1/me", status=200, reason="OK"))

    assert "GET /me -&gt; 200 OK" in view.summary.value
    assert view.exchange is not None

"""The course as a person walks it, in JupyterLab in Chromium: the setup check, the
consent clicked on the sandbox's page with the code timer counting down, Cancel
and the doctor, a deliberate error shown compactly, and the API explorer paging and
warning before a refused call.
"""

from __future__ import annotations

import re
import time

import pytest
from lab_driver import Notebook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

PAGES = "v2 pages: v2 GET /wiki/api/v2/pages"  # the explorer's label for it
TIMER = re.compile(r"(Fresh|Hurry): at most (?:(\d+) min )?(\d+) s left")


def seconds_left(text: str) -> int:
    found = TIMER.search(text)
    assert found, f"no timer in {text!r}"
    return int(found.group(2) or 0) * 60 + int(found.group(3))


def test_start_here_runs_and_the_setup_check_passes(notebook: Notebook) -> None:
    notebook.open("00-start-here.ipynb")

    notebook.run_all()

    check = notebook.cell(notebook.index_of(r"check_setup\(course\)"))
    expect(check.locator(".kit-setup")).to_be_visible()
    expect(check).to_contain_text("All set.")
    expect(check).to_contain_text("shared sandbox")
    expect(
        notebook.page.locator(".jp-RenderedMermaid, .mermaid svg").first
    ).to_be_visible()
    notebook.screenshot("setup-check")


def panel_of(notebook: Notebook) -> object:
    """04's callback panel, run up to its cell and shown."""
    notebook.open("04-code-window.ipynb")
    index = notebook.index_of(r"panel = CallbackPanel\(")
    notebook.run_through(index)
    panel = notebook.cell(index)
    expect(panel.get_by_text("Open the consent page")).to_be_visible()
    notebook.screenshot("callback-panel")
    return panel


def consent(notebook: Notebook, panel: object, button: str) -> object:
    """Click the panel's link, choose a site on the sandbox's page, press `button`."""
    with notebook.context.expect_page() as opened:
        panel.get_by_text("Open the consent page").click()  # type: ignore[attr-defined]
    consent_page = opened.value
    expect(consent_page.locator("h1")).to_contain_text("is requesting access")
    consent_page.get_by_label(re.compile("pinecone-labs")).check()
    consent_page.screenshot(path=str(notebook.shots / "consent-page.png"))
    consent_page.get_by_role("button", name=button).click()
    return consent_page


def test_accept_in_the_browser_starts_the_timer_and_exchange_shows_masked_tokens(
    notebook: Notebook,
) -> None:
    panel = panel_of(notebook)

    landed = consent(notebook, panel, "Accept")
    expect(landed.locator("body")).to_contain_text("go back to the notebook")
    landed.screenshot(path=str(notebook.shots / "catcher-page.png"))
    landed.close()
    notebook.page.bring_to_front()

    timer = panel.locator(".widget-html-content", has_text=TIMER)  # type: ignore[attr-defined]
    expect(timer).to_be_visible(timeout=15_000)
    first = seconds_left(timer.inner_text())
    time.sleep(3)
    second = seconds_left(timer.inner_text())
    assert 1 <= first - second <= 6, (first, second)
    notebook.screenshot("timer-counting")

    panel.get_by_role("button", name="Exchange").click()  # type: ignore[attr-defined]
    expect(panel).to_contain_text("Tokens received.")  # type: ignore[arg-type]
    expect(panel).to_contain_text("…(masked)")  # type: ignore[arg-type]
    expect(panel).to_contain_text("Absolute (365 days)")  # type: ignore[arg-type]
    expect(panel).to_contain_text("POST /oauth/token -> 200")  # type: ignore[arg-type]
    notebook.screenshot("exchanged")


def test_cancel_in_the_browser_ends_in_the_doctors_explanation(
    notebook: Notebook,
) -> None:
    panel = panel_of(notebook)

    landed = consent(notebook, panel, "Cancel")
    expect(landed.locator("body")).to_contain_text("declined")
    landed.close()
    notebook.page.bring_to_front()

    expect(panel).to_contain_text("Consent was declined", timeout=15_000)  # type: ignore[arg-type]
    expect(panel).to_contain_text("access_denied")  # type: ignore[arg-type]
    notebook.screenshot("declined")


def test_the_api_explorer_pages_and_warns_before_a_call_refused_for_scope(
    notebook: Notebook,
) -> None:
    notebook.open("07-confluence-v1-v2.ipynb")
    classic = notebook.index_of(r"ApiExplorer\(kit\.Confluence\(")
    notebook.run_through(classic)
    failing = notebook.cell(notebook.index_of(r"^wiki = course\.confluence\(\)"))
    expect(failing).to_contain_text("ScopeError: ")  # fails on purpose, compactly
    expect(failing).to_contain_text("frames of the kit hidden")
    notebook.screenshot("deliberate-error")
    mixed = notebook.cell(notebook.index_of(r"^from kit.widgets import ApiExplorer"))

    mixed.locator("select").first.select_option(label=PAGES)
    mixed.get_by_role("button", name="Call").click()
    expect(mixed).to_contain_text("200", timeout=15_000)
    first_page = mixed.locator("table").last.inner_text()
    mixed.get_by_role("button", name="Next page").click()
    expect(mixed.locator("table").last).not_to_have_text(first_page, timeout=15_000)
    notebook.screenshot("explorer-paged")

    refused = notebook.cell(classic)
    refused.locator("select").first.select_option(label=PAGES)
    expect(refused).to_contain_text("read:page:confluence")
    expect(refused).to_contain_text("preflight")
    notebook.screenshot("explorer-warns")
    refused.get_by_role("button", name="Call").click()
    expect(refused).to_contain_text("scope", timeout=15_000)
    notebook.screenshot("explorer-refused")

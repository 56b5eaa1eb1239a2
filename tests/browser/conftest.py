"""The course in a real browser: JupyterLab, started as `make lab` starts it, driven
by Playwright in Debian's Chromium. Screenshots of each step go to
`artifacts/browser/` (git-ignored), for a person to look at.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from lab_driver import Lab, Notebook
from lab_server import ARTIFACTS, start_lab, stop_lab

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = (
    "The browser tests need Debian's Chromium: `sudo apt-get install chromium` "
    "(`.ci/run` installs it in CI). Playwright drives it; no browser download."
)


def chromium() -> str:
    """Chromium's path; in CI a missing Chromium fails, elsewhere it skips."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.environ.get("CI"):
        pytest.fail(f"Chromium is missing in CI. {INSTALL_HINT}")
    pytest.skip(INSTALL_HINT)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    return chromium()


# Module scope, not session: Playwright's synchronous API keeps an event loop
# running in the main thread while it is open, and the tests after this folder
# (the bench's, nbclient's) run loops of their own there. (A folder without an
# `__init__.py` is no package to pytest, so "package" would mean the session.)
@pytest.fixture(scope="module")
def lab(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    running = start_lab(tmp_path_factory.mktemp("lab"))
    yield running
    stop_lab(running)


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[object]:
    from playwright.sync_api import sync_playwright  # noqa: PLC0415

    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def notebook(
    lab: Lab, browser: object, request: pytest.FixtureRequest
) -> Iterator[Notebook]:
    """A fresh page, no kernel left from the test before, screenshots kept."""
    lab.delete_sessions()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    driver = Notebook(lab, context, shots)
    yield driver
    driver.screenshot("last")
    context.close()
    lab.delete_sessions()

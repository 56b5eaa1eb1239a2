"""The callback through JupyterLab's jupyter-server-proxy, as on a hub: Lab serves
at `/user/ada/`, the kernel is told it runs on JupyterHub, and after consent the
browser lands on `<Lab>/user/ada/proxy/<port>/callback`, which the proxy hands to
the catcher in the kernel. The sandbox runs in the test, where the browser sees it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import nbformat
import pytest
from lab_driver import Lab, Notebook
from lab_server import ARTIFACTS, free_port, start_lab, stop_lab
from playwright.sync_api import expect

from kit.sandbox import App, Sandbox
from kit.sandbox.scenario import SANDBOX_APP_SCOPES

pytestmark = pytest.mark.browser

PREFIX = "/user/ada/"
CLIENT_ID = "pinecone-reader-hub"
CLIENT_SECRET = "pinecone-reader-hub-secret"
SCRATCH = "hub-proxy-scratch.ipynb"  # made in the test's copy, not in the course
CELLS = (
    "import kit.course\n"
    "from kit.course.setup_check import check_setup\n\n"
    "course = kit.course.start()\n"
    "check_setup(course)",
    "from kit.widgets import CallbackPanel\n\n"
    "panel = CallbackPanel(course, course.new_request())\n"
    "panel",
)


@dataclass(frozen=True)
class HubLab:
    """A Lab at `/user/ada/` whose kernels believe they run on JupyterHub."""

    lab: Lab
    sandbox: Sandbox
    redirect_uri: str


def two_free_ports() -> tuple[int, int]:
    first = free_port()
    second = free_port()
    while second == first:
        second = free_port()
    return first, second


def hub_environment(
    sandbox: Sandbox, public_url: str, redirect_uri: str
) -> dict[str, str]:
    """What a hub sets, and the settings of an app whose callback is proxied."""
    return {
        "JUPYTERHUB_SERVICE_PREFIX": PREFIX,
        "KIT_PUBLIC_URL": public_url,
        "ATLASSIAN_CLIENT_ID": CLIENT_ID,
        "ATLASSIAN_CLIENT_SECRET": CLIENT_SECRET,
        "ATLASSIAN_REDIRECT_URI": redirect_uri,
        "ATLASSIAN_AUTH_URL": sandbox.url,
        "ATLASSIAN_API_URL": sandbox.url,
    }


def write_scratch(path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(notebook, path)


@pytest.fixture(scope="module")
def hub_lab(
    chromium_path: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[HubLab]:
    lab_port, catcher_port = two_free_ports()
    public_url = f"http://127.0.0.1:{lab_port}{PREFIX}"
    redirect_uri = f"{public_url}proxy/{catcher_port}/callback"
    app = App(
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        name="Pinecone Reader (on a hub)",
        redirect_uris=(redirect_uri,),
        scopes=SANDBOX_APP_SCOPES,
    )
    sandbox = Sandbox(apps=(app,)).start()
    try:
        lab = start_lab(
            tmp_path_factory.mktemp("hub-lab"),
            extra_env=hub_environment(sandbox, public_url, redirect_uri),
            port=lab_port,
            base_url=PREFIX,
        )
    except BaseException:
        sandbox.stop()
        raise
    write_scratch(lab.root / "notebooks" / SCRATCH)
    yield HubLab(lab, sandbox, redirect_uri)
    stop_lab(lab)
    sandbox.stop()


@pytest.fixture
def hub_notebook(
    hub_lab: HubLab, browser: object, request: pytest.FixtureRequest
) -> Iterator[Notebook]:
    """A fresh page on the hub's Lab, screenshots kept as the other tests keep them."""
    context = browser.new_context(viewport={"width": 1280, "height": 1000})  # type: ignore[attr-defined]
    shots = ARTIFACTS / request.node.name
    shutil.rmtree(shots, ignore_errors=True)
    shots.mkdir(parents=True)
    driver = Notebook(hub_lab.lab, context, shots)
    yield driver
    driver.screenshot("last")
    context.close()
    hub_lab.lab.delete_sessions()


def test_the_callback_comes_back_through_labs_proxy_and_the_exchange_works(
    hub_lab: HubLab, hub_notebook: Notebook
) -> None:
    notebook = hub_notebook
    notebook.open(SCRATCH)
    notebook.run_all()

    # the setup check: on JupyterHub, and the callback goes through the proxy
    check = notebook.cell(0)
    expect(check.locator(".kit-setup")).to_be_visible()
    expect(check).to_contain_text("on JupyterHub, your browser cannot reach")
    expect(check).to_contain_text(
        f"goes through jupyter-server-proxy at {hub_lab.redirect_uri}"
    )
    expect(check).to_contain_text("All set.")
    notebook.screenshot("setup-check")

    # the panel: a link through the proxy, and the note beside it
    panel = notebook.cell(1)
    link = panel.get_by_text("Open the consent page")
    start = hub_lab.redirect_uri.removesuffix("/callback") + "/start"
    expect(link).to_have_attribute("href", start)
    expect(panel).to_contain_text(
        "this link and the callback go through jupyter-server-proxy"
    )
    notebook.screenshot("callback-panel")

    # the browser: through the proxy's /start to the sandbox's consent page
    with notebook.context.expect_page() as opened:
        link.click()
    consent = opened.value
    expect(consent.locator("h1")).to_contain_text("is requesting access")
    consent.get_by_label(re.compile("pinecone-labs")).check()
    consent.screenshot(path=str(notebook.shots / "consent-page.png"))
    consent.get_by_role("button", name="Accept").click()

    # the landing: Lab's proxy URL, answered by the catcher in the kernel
    consent.wait_for_url(re.compile(re.escape(hub_lab.redirect_uri) + r"\?"))
    expect(consent.locator("body")).to_contain_text("go back to the notebook")
    consent.screenshot(path=str(notebook.shots / "landed-through-the-proxy.png"))
    landed = {name for name, _ in parse_qsl(urlsplit(consent.url).query)}
    assert {"code", "state"} <= landed  # names only: no code in a failure message
    consent.close()
    notebook.page.bring_to_front()

    # the code in the panel, exchanged with the public redirect URI it is bound to
    expect(panel).to_contain_text("Code received", timeout=15_000)
    expect(panel).to_contain_text("Fresh: at most")
    panel.get_by_role("button", name="Exchange").click()
    expect(panel).to_contain_text("Tokens received.", timeout=15_000)
    expect(panel).to_contain_text("POST /oauth/token -> 200")
    notebook.screenshot("exchanged")

"""Every notebook, executed top to bottom against a fresh sandbox, as people run them:
as committed (exercises not done), and with each exercise's solution in its starter
cell, under canary client credentials whose secret, and every code, state and token,
must appear in no output, no saved notebook and no log line (cases 104, 105).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from kit.sandbox import SANDBOX_REDIRECT_URI, App, Sandbox
from kit.sandbox.scenario import SANDBOX_APP_SCOPES

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
ALL = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
CELL_TIMEOUT = 120

CANARY_CLIENT_ID = "canary-reader"
CANARY_SECRET = "CANARY-SECRET-7f3c9a1e5b2d4086a9e1c3f5b7d9e2a4"
LOAD = re.compile(r"^#\s*%load\s+(\S+)\s*$", re.M)
JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")
STATE = re.compile(r"state=(?![^&\s\"']*…)[A-Za-z0-9_-]{20,}")

# What each notebook must show when it runs: the outcomes it teaches.
TEACHES: dict[str, tuple[str, ...]] = {
    "00-start-here": ("All set.",),
    "01-register-an-app": (
        "Pinecone Reader (sandbox)",
        "`ATLASSIAN_CLIENT_SECRET` is not set",
        "still holds the placeholder",
        "redirect-uri-mismatch",
        "(400, False)",
        "Atlassian does not know this callback URL",
    ),
    "02-authorization-url": (
        "state=<masked ",
        "'literal-plus-in-scope'",
        "no-offline-access",
        "redirect-uri-mismatch",
        "scopes-cannot-reach",
        "RFC 6749 section 10.9",
    ),
    "03-consent-and-callback": (
        "CallbackResult(code=<masked",
        "AccessDeniedError",
        "Consent was declined",
        "StateMismatchError",
        "(400, 'listening', 1)",
    ),
    "04-code-window": (
        "most likely expired",
        "CodeRejectedError",
        "(400, 'invalid_request', 'authorization_code is invalid')",
        "Atlassian publishes no code lifetime",
        "ExchangeRefusedError",
        "'error_description': 'the code was already used'",
        "401 invalid_token",
    ),
    "05-exchange": (
        "POST /oauth/token -> 200",
        '--data-urlencode "client_secret=$CLIENT_SECRET"',
        "(3600.0,",
        "(None, ('read:me', 'read:page:confluence'))",
        "'0o600'",
        "TokenEndpointError",
        "(401, 'access_denied', 'Unauthorized')",
        "`access_denied` here is no declined consent",
    ),
    "06-cloud-id": (
        '"id": "3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73"',
        "('3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73', ('jira',))",
        "/ex/confluence/3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73/wiki/api/v2/spaces",
        "'https://pinecone-labs.atlassian.net/wiki'",
        "(401, 'text/html",
        "The token went to the site's own domain, which refuses 3LO tokens.",
    ),
    "07-confluence-v1-v2": (
        "ScopeError",
        "{'code': 401, 'message': 'Unauthorized; scope does not match'}",
        "FAILURE_CLIENT_SCOPE_CHECK",
        "'read:page:confluence': 'granular'",
        "GoneException: This deprecated endpoint has been removed.",
        "[25, 25, 23]",
        "[(30, True), (30, True), (11, False)]",
    ),
    "08-refresh-tokens": (
        "may be sent again for 9 min",
        "RefreshRejectedError",
        '403 invalid_grant "Unknown or invalid refresh token."',
        "'error_description': 'Unknown or invalid refresh token.'",
        "day 320: refreshed",
        "(1, {'",
        "'the refresh token was already used; its family is now revoked'",
        "'the refresh token was revoked: a rotated refresh token was reused'",
    ),
    "09-troubleshooting": (
        "Consent was declined: the person pressed Cancel.",
        "redirect_uri is not registered for client",
        "The app asked for scopes that were not added to it in the console.",
        '400 invalid_request "authorization_code is invalid"',
        '401 access_denied "Unauthorized"',
        "`access_denied` here is no declined consent",
        '401 "Unauthorized; scope does not match"',
        "GoneException: This deprecated endpoint has been removed.",
        '401 HTML page "HTTP Status 401 - Unauthorized"',
        "Wait as asked (`Retry-After: ",
        "429 Too Many Requests",
        "('rate_limit_per_minute', None)",
    ),
}


def test_the_course_has_its_notebooks() -> None:
    names = [path.stem for path in ALL]

    assert names, "no notebooks found in notebooks/"
    assert names[0] == "00-start-here"
    assert set(names) == set(TEACHES), "every notebook lists what it teaches"


@dataclass
class Run:
    notebook: NotebookNode
    outputs: str  # every output, as text
    saved: str  # the executed notebook as saved, sources and widget state too
    log: str  # the kernel's log at DEBUG

    @property
    def text(self) -> str:
        return self.saved + self.outputs


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    server = Sandbox().start()
    server.register_app(
        App(
            client_id=CANARY_CLIENT_ID,
            client_secret=CANARY_SECRET,
            name="Pinecone Reader (canary)",
            redirect_uris=(SANDBOX_REDIRECT_URI,),
            scopes=SANDBOX_APP_SCOPES,
        )
    )
    yield server
    server.stop()


def kernel_environment(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, canary: bool
) -> Path:
    """The kernel's environment: the sandbox, a token file, logs at DEBUG to a file."""
    for name in list(os.environ):
        if name.startswith(("ATLASSIAN_", "KIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", sandbox.url)
    monkeypatch.setenv("ATLASSIAN_API_URL", sandbox.url)
    monkeypatch.setenv("KIT_TOKEN_STORE", str(tmp_path / "tokens" / "t.json"))
    if canary:
        monkeypatch.setenv("ATLASSIAN_CLIENT_ID", CANARY_CLIENT_ID)
        monkeypatch.setenv("ATLASSIAN_CLIENT_SECRET", CANARY_SECRET)
        monkeypatch.setenv("ATLASSIAN_REDIRECT_URI", SANDBOX_REDIRECT_URI)
    log = tmp_path / "kernel.log"
    startup = tmp_path / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-log-everything.py").write_text(
        "import logging\n"
        f"logging.basicConfig(filename={str(log)!r}, level=logging.DEBUG, "
        "format='%(name)s %(message)s')\n"
    )
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    return log


def with_solutions(notebook: NotebookNode) -> NotebookNode:
    """The notebook with each exercise's starter cell replaced by its solution."""
    cells = notebook.cells
    for index, cell in enumerate(cells):
        if "exercise" not in cell.metadata.get("tags", []):
            continue
        loads = [LOAD.search(c.source) for c in cells[index + 1 : index + 3]]
        found = next((m for m in loads if m), None)
        assert found, f"exercise cell {index} has no `# %load solutions/...` after it"
        cell.source = (NOTEBOOKS / found.group(1)).read_text()
    return notebook


def execute(path: Path, tmp_path: Path, log: Path, *, solved: bool) -> Run:
    notebook = nbformat.read(path, as_version=4)
    if solved:
        notebook = with_solutions(notebook)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    saved = tmp_path / path.name
    nbformat.write(notebook, saved)
    outputs = "\n".join(_outputs(notebook))
    return Run(notebook, outputs, saved.read_text(), log.read_text())


def _outputs(notebook: NotebookNode) -> Iterator[str]:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                yield str(output["text"])
            for value in output.get("data", {}).values():
                yield value if isinstance(value, str) else json.dumps(value)
            if output.get("output_type") == "error":
                yield "\n".join(output.get("traceback", []))


def assert_teaches(path: Path, run: Run) -> None:
    for expected in TEACHES[path.stem]:
        assert expected in run.text, f"{path.name} should show {expected!r}"


def assert_failing_cells_are_announced(run: Run) -> None:
    for cell in run.notebook.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        tagged = "raises-exception" in cell.metadata.get("tags", [])
        assert bool(errors) == tagged, (
            "a cell that fails on purpose is tagged `raises-exception`, and only "
            f"such a cell fails:\n{cell.source}"
        )


def secrets_of(tmp_path: Path) -> list[str]:
    """The token file's tokens in clear, as the notebooks saved them."""
    found = []
    for path in (tmp_path / "tokens").glob("*.json"):
        tokens = json.loads(path.read_text()).get("tokens", {})
        found += [v for k, v in tokens.items() if k.endswith("_token") and v]
    return found


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_each_notebook_runs_as_committed_against_the_sandbox(
    path: Path, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = kernel_environment(sandbox, tmp_path, monkeypatch, canary=False)

    run = execute(path, tmp_path, log, solved=False)

    assert_failing_cells_are_announced(run)
    assert_teaches(path, run)


@pytest.mark.slow
@pytest.mark.parametrize("path", ALL, ids=[p.stem for p in ALL])
def test_each_notebook_solved_with_canary_credentials_shows_no_secret(
    path: Path, sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = kernel_environment(sandbox, tmp_path, monkeypatch, canary=True)

    run = execute(path, tmp_path, log, solved=True)

    assert_failing_cells_are_announced(run)
    cells = run.notebook.cells
    exercises = sum("exercise" in c.metadata.get("tags", []) for c in cells)
    assert run.text.count("All correct.") >= exercises
    assert "Not yet:" not in run.text
    for secret in [CANARY_SECRET, *secrets_of(tmp_path)]:
        assert secret not in run.text, f"a secret shows in {path.name}"
        assert secret not in run.log, f"a secret is in the kernel's log for {path.name}"
    assert not JWT.search(run.text), f"a token or code shows in {path.name}"
    assert not JWT.search(run.log), "a token or code is in the kernel's log"
    widget_state = json.dumps(run.notebook.metadata.get("widgets", {}))
    shown = run.outputs + run.log + widget_state
    assert not STATE.search(shown), "a state shows unmasked"
    assert run.log, "the kernel's DEBUG log was captured"


def test_every_load_names_a_solution_that_exists() -> None:
    named = [
        match.group(1)
        for path in ALL
        for cell in nbformat.read(path, as_version=4).cells
        for match in LOAD.finditer(cell.source)
    ]
    files = sorted(p.name for p in SOLUTIONS.glob("*.py"))

    for name in named:
        assert (NOTEBOOKS / name).is_file(), f"{name} does not exist"
    assert sorted(Path(n).name for n in named) == files, "each solution is loaded once"


def test_every_step_notebook_has_an_exercise_with_a_solution() -> None:
    for path in ALL[1:]:
        cells = nbformat.read(path, as_version=4).cells
        exercises = [c for c in cells if "exercise" in c.metadata.get("tags", [])]

        assert exercises, f"{path.name} has no exercise"


def test_every_notebook_opens_and_closes_with_the_frame() -> None:
    for path in ALL:
        cells = nbformat.read(path, as_version=4).cells
        first, last = cells[0].source, cells[-1].source

        assert first.startswith("# "), f"{path.name} opens with its title"
        for heading in ("Objectives", "Questions"):
            assert heading in first, f"{path.name} lists its {heading}"
        assert "Key points" in last, f"{path.name} closes with its key points"
        assert re.search(r"\]\((\.\./)?\d\d-[\w-]+\.ipynb\)", last + first)

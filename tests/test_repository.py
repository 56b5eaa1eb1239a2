"""Repository hygiene: secrets and local state stay out of git, notebooks are stored
without outputs, and the commands the README and CI rely on are where they say.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
GIT = shutil.which("git")

SETTINGS = (
    "ATLASSIAN_CLIENT_ID",
    "ATLASSIAN_CLIENT_SECRET",
    "ATLASSIAN_REDIRECT_URI",
    "ATLASSIAN_AUTH_URL",
    "ATLASSIAN_API_URL",
)
PUBLIC_BASE_URLS = {"https://auth.atlassian.com", "https://api.atlassian.com"}
LOOPBACK_HOSTS = {"localhost", "127.0.0.1"}

# `KEY=value`, or the same commented out: both document a setting.
ASSIGNMENT = re.compile(r"^#?\s*(?P<key>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")

# Runs of letters and digits this long are keys or tokens, not words or names;
# `eyJ` opens a JWT, `ATATT` an Atlassian API token.
SECRET_LOOKING = re.compile(r"[A-Za-z0-9]{20,}|\beyJ[\w-]+\.|\bATATT\w+")

LOCAL_STATE = (
    ".env",
    ".tokens/",
    ".tokens/pinecone-labs.json",
    "token.json",
    "notebooks/token.json",
    ".venv/",
    ".venv/bin/python",
    ".ipynb_checkpoints/",
    "notebooks/.ipynb_checkpoints/00-start-here-checkpoint.ipynb",
)
LOCAL_STATE_PARTS = {".env", ".tokens", ".venv", ".ipynb_checkpoints", "token.json"}


def git(*args: str) -> subprocess.CompletedProcess[str]:
    assert GIT is not None
    return subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [GIT, "-C", str(ROOT), *args],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.fixture(scope="module")
def work_tree() -> Path:
    """The top of the git work tree, or a skip when this copy is not in one."""
    if GIT is None:
        pytest.skip("git is not installed, so nothing here can be checked in git")
    result = git("rev-parse", "--show-toplevel")
    if result.returncode != 0:
        pytest.skip(f"not a git work tree: {result.stderr.strip()}")
    return Path(result.stdout.strip())


def tracked_files(*pathspecs: str) -> list[str]:
    result = git("ls-files", "-z", "--", *pathspecs)
    assert result.returncode == 0, result.stderr
    return [name for name in result.stdout.split("\0") if name]


def env_example_settings() -> list[tuple[str, str]]:
    """Every `KEY=value` line of `.env.example`, commented out or not."""
    text = (ROOT / ".env.example").read_text(encoding="utf-8")
    found = []
    for line in text.splitlines():
        match = ASSIGNMENT.match(line.strip())
        if match:
            found.append((match["key"], match["value"].strip()))
    return found


def is_placeholder(key: str, value: str) -> bool:
    """Whether a value in `.env.example` is obviously not a real credential."""
    if value == "" or value.startswith("your-"):
        return True
    if not key.endswith(("_URL", "_URI")):
        return False
    if value in PUBLIC_BASE_URLS:
        return True
    url = urlsplit(value)
    return (
        url.scheme == "http"
        and url.hostname in LOOPBACK_HOSTS
        and url.username is None
        and not url.query
    )


@pytest.mark.parametrize("path", LOCAL_STATE)
def test_secrets_and_local_state_are_git_ignored(work_tree: Path, path: str) -> None:
    result = git("check-ignore", "--quiet", "--no-index", path)

    assert result.returncode == 0, f"`{path}` is not git-ignored. {result.stderr}"


def test_no_secret_or_local_state_is_tracked(work_tree: Path) -> None:
    tracked = tracked_files()
    assert "pyproject.toml" in tracked, "git ls-files found no pyproject.toml."

    leaked = [name for name in tracked if LOCAL_STATE_PARTS & set(Path(name).parts)]

    assert leaked == []


def test_every_committed_notebook_is_stored_without_outputs(
    work_tree: Path,
) -> None:
    notebooks = tracked_files("*.ipynb")
    if not notebooks:
        pytest.skip("no notebooks committed yet")

    problems = []
    for name in notebooks:
        # Read the staged copy: with the git filter, the working copy may differ.
        shown = git("show", f":./{name}")
        assert shown.returncode == 0, shown.stderr
        notebook = json.loads(shown.stdout)
        if "widgets" in notebook.get("metadata", {}):
            problems.append(f"{name}: metadata.widgets")
        for index, cell in enumerate(notebook["cells"]):
            if cell.get("outputs"):
                problems.append(f"{name}: cell {index} has outputs")
            if cell.get("execution_count") is not None:
                problems.append(f"{name}: cell {index} has an execution_count")

    assert problems == []


def test_env_example_documents_every_setting() -> None:
    keys = {key for key, _ in env_example_settings()}

    assert set(SETTINGS) <= keys


def test_env_example_holds_only_placeholders() -> None:
    settings = [
        (key, value)
        for key, value in env_example_settings()
        if key.startswith("ATLASSIAN_")
    ]
    assert settings, ".env.example lists no ATLASSIAN_* setting."

    not_placeholders = [
        f"{key}={value}" for key, value in settings if not is_placeholder(key, value)
    ]

    assert not_placeholders == []


def test_env_example_contains_nothing_that_looks_like_a_secret() -> None:
    text = (ROOT / ".env.example").read_text(encoding="utf-8")

    assert SECRET_LOOKING.findall(text) == []


def test_gitattributes_sends_notebooks_through_nbstripout() -> None:
    attributes = set()
    for line in (ROOT / ".gitattributes").read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if fields and fields[0] == "*.ipynb":
            attributes.update(fields[1:])

    assert {"filter=nbstripout", "diff=ipynb"} <= attributes


def test_ci_script_is_strict_and_runs_make_test() -> None:
    script = ROOT / ".ci" / "run"
    text = script.read_text(encoding="utf-8")

    assert os.access(script, os.X_OK), "`.ci/run` is not executable."
    assert text.startswith("#!/usr/bin/env bash\n")
    assert re.search(r"^set -euo pipefail$", text, re.MULTILINE)
    assert re.search(r"^(exec )?make test$", text, re.MULTILINE)


def test_makefile_defines_the_documented_targets() -> None:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", text, re.MULTILINE))

    assert {"help", "lab", "test", "lint", "sandbox", "specs", "clean"} <= targets
    assert re.search(r"^\.DEFAULT_GOAL := help$", text, re.MULTILINE)


def test_readme_shows_the_two_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")

    assert "make lab" in text
    assert "make test" in text


def test_readme_sections_come_in_the_house_order() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
    wanted = [
        "Quickstart",
        "Check your setup",
        "Going live against real Atlassian",
        "Running a workshop",
        "Binder and JupyterHub",
        "Tests",
        "Troubleshooting",
    ]

    assert [h for h in headings if h in wanted] == wanted


def test_readme_binder_badge_opens_the_start_and_says_to_name_the_repository() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    badge = (
        "(https://mybinder.org/v2/gh/OWNER/REPO/HEAD"
        "?labpath=notebooks%2F00-start-here.ipynb)"
    )

    assert badge in text
    assert (ROOT / "notebooks" / "00-start-here.ipynb").is_file()
    after = text[text.index(badge) :][:400]
    assert "Replace `OWNER/REPO`" in after

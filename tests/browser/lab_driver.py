"""Drives a JupyterLab page as a person does: open a notebook, run its cells, read
what the outputs and widgets show, click, and keep a screenshot of each step.

Waiting is done on the notebook's own model (every code cell up to the one asked
for has its execution count, and the kernel is idle), never on a fixed sleep.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

CELL_TIMEOUT_MS = 120_000
KERNEL_READY = """() => {
  const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const s = w && w.sessionContext;
  return !!(s && s.session && s.session.kernel && s.kernelDisplayStatus === 'idle');
}"""
EXECUTED = """(upto) => {
  const w = window.jupyterapp.shell.currentWidget;
  if (!w || !w.content) return false;
  if (w.sessionContext.kernelDisplayStatus !== 'idle') return false;
  const cells = w.content.widgets.slice(0, upto + 1)
    .filter(c => c.model.type === 'code');
  return cells.every(c => c.model.executionCount !== null &&
                          !(c.promptNode && c.promptNode.textContent.includes('*')));
}"""


@dataclass
class Lab:
    """A running JupyterLab: its URL, token, served root, process and log."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen[bytes]
    log: Path

    def api(self, path: str) -> str:
        return f"{self.url}/api/{path}?token={self.token}"

    def delete_sessions(self) -> None:
        """Shut every kernel down, so that no state leaks between tests."""
        for session in requests.get(self.api("sessions"), timeout=10).json():
            requests.delete(self.api(f"sessions/{session['id']}"), timeout=30)


@dataclass
class Notebook:
    """One browser tab on one notebook."""

    lab: Lab
    context: Any
    shots: Path
    step: int = 0
    page: Any = field(init=False)

    def __post_init__(self) -> None:
        self.page = self.context.new_page()

    def open(self, name: str) -> Notebook:
        url = f"{self.lab.url}/lab/tree/notebooks/{name}?token={self.lab.token}&reset"
        self.page.goto(url)
        self.page.wait_for_function(KERNEL_READY, timeout=CELL_TIMEOUT_MS)
        self.screenshot("opened")
        return self

    def run_all(self) -> None:
        self.command("notebook:run-all-cells")
        self.wait_executed(self.cell_count() - 1)

    def run_through(self, index: int) -> None:
        """Run every cell from the first to `index`, as Shift+Enter would."""
        self.page.evaluate(
            "(i) => { const w = window.jupyterapp.shell.currentWidget;"
            " w.content.activeCellIndex = i; }",
            index + 1,
        )
        self.command("notebook:run-all-above")
        self.wait_executed(index)

    def wait_executed(self, index: int) -> None:
        self.page.wait_for_function(EXECUTED, arg=index, timeout=CELL_TIMEOUT_MS)

    def command(self, name: str) -> None:
        self.page.evaluate("(c) => window.jupyterapp.commands.execute(c)", name)

    def cell_count(self) -> int:
        return int(
            self.page.evaluate(
                "() => window.jupyterapp.shell.currentWidget.content.widgets.length"
            )
        )

    def cell(self, index: int) -> Any:
        """The cell at `index` of the open notebook, scrolled into view."""
        cell = self.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").nth(
            index
        )
        cell.scroll_into_view_if_needed()
        return cell

    def index_of(self, pattern: str) -> int:
        """The first cell whose source matches `pattern`."""
        sources = self.page.evaluate(
            "() => window.jupyterapp.shell.currentWidget.content.widgets"
            ".map(c => c.model.sharedModel.getSource())"
        )
        for index, source in enumerate(sources):
            if re.search(pattern, source):
                return index
        raise AssertionError(f"no cell matches {pattern!r}")

    def screenshot(self, name: str) -> Path:
        self.step += 1
        path = self.shots / f"{self.step:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        return path

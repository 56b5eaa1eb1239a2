"""Where the sandbox spends a full-flow load: py-spy samples of its process.

Part of the record that `RESULTS.md` keeps where a target is missed: the share
of samples in each of the sandbox's own steps and in the layers beneath them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from loadgen import load
from servers import sandbox

SECONDS = 8
SHOWN = 18


def profile_flows(concurrency: int = 64) -> str:
    """A Markdown section: the inclusive share of the busiest functions."""
    beside = Path(sys.executable).parent / "py-spy"  # the bench's own venv
    spy = str(beside) if beside.exists() else shutil.which("py-spy")
    if spy is None:
        return "## Where the sandbox spends its time\n\npy-spy is not installed.\n"
    server = sandbox()
    with tempfile.TemporaryDirectory() as place:
        raw = Path(place) / "samples.txt"
        worker = threading.Thread(
            target=load, args=(server.target, "flow", concurrency, SECONDS + 2)
        )
        worker.start()
        subprocess.run(
            [
                spy,
                "record",
                "-p",
                str(server.process.pid),
                "-d",
                str(SECONDS),
                "-r",
                "100",
                "-f",
                "raw",
                "-o",
                str(raw),
            ],
            capture_output=True,
            check=False,
        )
        worker.join()
        server.stop()
        shares = _shares(raw.read_text() if raw.exists() else "")
    rows = "\n".join(f"| {share:.0f} % | `{name}` |" for name, share in shares)
    return (
        "## Where the sandbox spends its time\n\n"
        f"py-spy, 100 samples a second for {SECONDS} s of a full-flow load at "
        f"concurrency {concurrency}: the share of samples inside each function, "
        "callees included (so the rows overlap).\n\n"
        f"| share | function |\n|---|---|\n{rows}\n"
    )


def _shares(text: str) -> list[tuple[str, float]]:
    inside: Counter[str] = Counter()
    total = 0
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        total += int(count)
        names = {_name(frame) for frame in stack.split(";")}
        for name in names:
            inside[name] += int(count)
    if not total:
        return []
    skip = (
        "run",
        "_run",
        "run_forever",
        "run_until_complete",
        "_run_once",
        "main",
        "<module>",
        "_run_module_as_main",
        "_run_code",
        "serve_forever",
        "asyncio_run",
        "Runner.run",
        "Server.run",
        "Handle._run",
    )
    ranked = [
        (name, 100 * n / total)
        for name, n in inside.most_common()
        if not name.split(" ")[0].endswith(skip)
    ]
    return ranked[:SHOWN]


def _name(frame: str) -> str:
    function, _, where = frame.partition(" (")
    module = where.split(":")[0].rsplit("/", 2)
    place = "/".join(module[-2:]) if len(module) > 1 else module[0]
    return f"{function} ({place})"

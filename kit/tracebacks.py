"""How a kit error looks in a notebook: the learner's own lines and the message.

IPython asks an exception for `_render_traceback_` before it formats one itself,
and `KitError` answers with `render`: the frames of the cells (and of any code of
the learner's) that led to the call, the kit's own frames counted but not shown,
and the message, which says what to do. That is what a learner needs from an error
the course makes on purpose, and it costs a millisecond where IPython's context
formatting costs 30 to 150 ms a time (most of a failing cell's time in the course).

`KIT_TRACEBACKS=full` in the kernel's environment, or `kit.tracebacks.compact =
False` in a cell, gives IPython's own traceback back, with every frame and the
chained cause, for whoever is debugging the kit itself.
"""

from __future__ import annotations

import linecache
import os
import re
import sys
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from kit.redact import scrub

compact = os.environ.get("KIT_TRACEBACKS", "compact").strip().lower() != "full"

RULE = "-" * 75
RED, GREEN, CYAN, RESET = "\x1b[31m", "\x1b[32m", "\x1b[36m", "\x1b[0m"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
CONTEXT = 2  # lines shown above the line of each frame
_SHELL_PACKAGES = ("IPython", "ipykernel")
_KIT = Path(__file__).parent  # as the kit's code objects name their files


def render(error: BaseException) -> list[str]:
    """The lines IPython prints for `error`: header, frames, message; without
    colours when the shell has none (`--colors=NoColor`).
    """
    lines = _render(error)
    if _shell_colours() == "nocolor":
        return [ANSI.sub("", line) for line in lines]
    return lines


def _render(error: BaseException) -> list[str]:
    name = type(error).__name__
    gap = " " * max(1, 42 - len(name))
    lines = [RULE, f"{RED}{name}{RESET}{gap}Traceback (most recent call last)"]
    hidden = 0
    for frame, lineno in _frames(error.__traceback__):
        if _hidden(frame):
            hidden += 1
            continue
        if hidden:
            lines.append(_skipped(hidden))
            hidden = 0
        lines.append(_frame(frame, lineno))
    if hidden:
        lines.append(_skipped(hidden))
    lines.append(f"{RED}{name}{RESET}: {scrub(str(error))}")
    cause = error.__cause__ or (
        None if error.__suppress_context__ else error.__context__
    )
    if cause is not None:
        lines.append(
            f"{CYAN}(It came from a {type(cause).__name__}: KIT_TRACEBACKS=full shows "
            f"its traceback.){RESET}"
        )
    return lines


def _frames(tb: TracebackType | None) -> list[tuple[FrameType, int]]:
    frames = []
    while tb is not None:
        if not _in_shell(tb.tb_frame):
            frames.append((tb.tb_frame, tb.tb_lineno))
        tb = tb.tb_next
    return frames


def _in_shell(frame: FrameType) -> bool:
    """IPython's own `run_code` frame, which every cell's traceback starts with."""
    module = frame.f_globals.get("__name__", "")
    return isinstance(module, str) and module.split(".")[0] in _SHELL_PACKAGES


def _hidden(frame: FrameType) -> bool:
    """A frame of the kit's own files, or one that asks to be hidden as IPython's
    `__tracebackhide__` convention has it.
    """
    if frame.f_locals.get("__tracebackhide__"):
        return True
    return Path(frame.f_code.co_filename).is_relative_to(_KIT)


def _skipped(count: int) -> str:
    frames = "frame" if count == 1 else "frames"
    return f"    {CYAN}[... {count} {frames} of the kit hidden]{RESET}\n"


def _frame(frame: FrameType, lineno: int) -> str:
    filename = frame.f_code.co_filename
    first = max(1, lineno - CONTEXT)
    body = []
    for number in range(first, lineno + 1):
        text = linecache.getline(filename, number, frame.f_globals).rstrip()
        if number == lineno:
            body.append(f"{GREEN}---> {number:<3}{RESET}{text}")
        elif text:
            body.append(f"     {number:<3}{text}")
    return f"{_where(frame, filename, lineno)}\n" + "\n".join(body) + "\n"


def _shell() -> Any:
    """The running IPython shell, if any, without importing IPython."""
    module = sys.modules.get("IPython")
    return module.get_ipython() if module is not None else None


def _shell_colours() -> str:
    return str(getattr(_shell(), "colors", "")).lower()


def _where(frame: FrameType, filename: str, lineno: int) -> str:
    ip = _shell()
    named = None
    if ip is not None and hasattr(ip.compile, "format_code_name"):
        named = ip.compile.format_code_name(filename)  # ("Cell", "In[16]") for a cell
    if named:
        return f"{CYAN}{named[0]} {named[1]}, line {lineno}{RESET}"
    function = frame.f_code.co_name
    place = Path(filename).name if filename.startswith("<") else filename
    return f"{CYAN}File {place}:{lineno}, in {function}{RESET}"

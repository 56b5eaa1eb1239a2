"""A kit error in IPython: the learner's lines and the message, the kit's frames
counted, in a millisecond; IPython's own traceback when `compact` is off.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

from kit import tracebacks
from kit.errors import KitError, RefreshRejectedError, hide_in_notebooks
from kit.redact import remember

ANSI = re.compile(r"\x1b\[[0-9;]*m")
CANARY = "rt-canary-0123456789abcdef0123456789"


def _kit_step() -> None:
    __tracebackhide__ = hide_in_notebooks
    _kit_deeper()


def _kit_deeper() -> None:
    __tracebackhide__ = hide_in_notebooks
    raise RefreshRejectedError(
        "The refresh token is spent. Authorize again.", status=403
    )


def _learners_helper() -> None:
    _kit_step()


def _plain(lines: list[str]) -> str:
    return ANSI.sub("", "\n".join(lines))


@pytest.fixture
def shell() -> Iterator[InteractiveShell]:
    ip = InteractiveShell.instance()
    ip.user_ns.update(
        learners_helper=_learners_helper, KitError=KitError, remember=remember
    )
    yield ip
    InteractiveShell.clear_instance()


def _shown(
    shell: InteractiveShell, cell: str, capsys: pytest.CaptureFixture[str]
) -> str:
    """What IPython prints for the error of `cell`, without its colours."""
    capsys.readouterr()
    result = shell.run_cell(cell)  # type: ignore[no-untyped-call]
    assert result.error_in_exec is not None
    return ANSI.sub("", capsys.readouterr().out)


def test_the_learners_frames_are_shown_and_the_kits_are_counted() -> None:
    try:
        _learners_helper()
    except RefreshRejectedError as caught:
        text = _plain(tracebacks.render(caught))

    assert "RefreshRejectedError: The refresh token is spent. Authorize again." in text
    assert "in _learners_helper" in text
    assert "---> " in text and "_kit_step()" in text
    assert "[... 2 frames of the kit hidden]" in text
    assert "_kit_deeper" not in text  # the frame that raised is the kit's, hidden


def test_a_cell_is_named_as_ipython_names_it(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    text = _shown(shell, "x = 1\nlearners_helper()", capsys)

    assert "RefreshRejectedError: The refresh token is spent." in text
    assert re.search(r"Cell In\[\d+\], line 2", text)
    assert "---> 2" in text and "learners_helper()" in text
    assert "[... 2 frames of the kit hidden]" in text
    assert "interactiveshell" not in text  # IPython's own run_code frame is left out


def test_a_cause_is_named_but_not_unfolded(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = (
        "try:\n    {}['missing']\nexcept KeyError as exc:\n"
        "    raise KitError('The file is unreadable.') from exc"
    )

    text = _shown(shell, cell, capsys)

    assert "KitError: The file is unreadable." in text
    assert "It came from a KeyError: KIT_TRACEBACKS=full shows its traceback." in text
    assert "'missing'" not in text.split("KitError:")[-1]


def test_a_remembered_secret_in_the_message_stays_masked(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = f"remember({CANARY!r})\nraise KitError('Token ' + {CANARY!r} + ' refused.')"

    text = _shown(shell, cell, capsys)

    assert "KitError: Token " in text
    assert CANARY not in text.split("KitError")[-1]


def test_turned_off_ipython_formats_the_error_itself(
    shell: InteractiveShell,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracebacks, "compact", False)

    assert not hasattr(KitError("x"), "_render_traceback_")
    text = _shown(shell, "learners_helper()", capsys)
    assert "of the kit hidden" not in text
    assert "_kit_deeper" in text  # IPython shows the frame that raised
    assert "RefreshRejectedError" in text


def test_a_frame_of_the_kit_is_hidden_without_asking(
    shell: InteractiveShell, capsys: pytest.CaptureFixture[str]
) -> None:
    # get_scope sets no __tracebackhide__: its file being the kit's is enough.
    text = _shown(
        shell, "import kit.scopes\nkit.scopes.get_scope('read:pagez')", capsys
    )

    assert "CatalogueError: `read:pagez` is not" in text
    assert "[... 1 frame of the kit hidden]" in text
    assert "scopes.py" not in text

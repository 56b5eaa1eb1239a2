"""`import kit` stays light, and every name it offers resolves to the real thing."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import kit
from kit.errors import hide_in_notebooks

HEAVY = ("ipywidgets", "IPython", "jupyter_core", "requests", "oauthlib", "uvicorn")


def test_importing_kit_loads_no_widget_jupyter_http_or_server_module() -> None:
    code = (
        "import json, sys; import kit; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )

    loaded = set(json.loads(done.stdout))
    assert "kit" in loaded
    assert loaded.isdisjoint(HEAVY), loaded & set(HEAVY)


@pytest.mark.parametrize("name", sorted(set(kit.__all__) - {"__version__"}))
def test_each_public_name_resolves_to_its_modules_object(name: str) -> None:
    module, attribute = kit._EXPORTS[name]

    value = getattr(kit, name)

    assert value is getattr(sys.modules[module], attribute)
    assert name in dir(kit)


def test_all_lists_exactly_the_lazy_names_and_the_version() -> None:
    assert set(kit.__all__) == {*kit._EXPORTS, "__version__"}
    assert len(kit.__all__) == len(set(kit.__all__))


def test_an_unknown_name_is_an_attribute_error_that_names_it() -> None:
    with pytest.raises(AttributeError, match="exchange_cod"):
        kit.exchange_cod  # noqa: B018 - the lookup is the test


def test_a_part_of_the_kit_is_imported_when_named_after_import_kit() -> None:
    code = "import kit; kit.tracebacks.compact = False; print(kit.tracebacks.compact)"

    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )

    assert done.stdout.strip() == "False", done.stderr


def test_kit_frames_are_hidden_from_ipython_but_shown_to_pytest() -> None:
    code = (
        "import kit, kit.course\n"
        "course = kit.course.start()\n"
        "tokens = course.sign_in('search:confluence')\n"
        "course.confluence().get('v2', 'spaces')\n"
    )

    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "IPython", "--colors=NoColor", "-c", code],
        capture_output=True,
        text=True,
        check=False,
    )

    shown = done.stdout + done.stderr
    assert "ScopeError" in shown
    assert "frames of the kit hidden" in shown
    assert "\x1b[" not in shown  # the shell was told NoColor
    assert shown.count("/kit/") <= 1, shown
    assert hide_in_notebooks(None) is False  # pytest asks, and is told to show

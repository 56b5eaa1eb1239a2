"""environment.yml (the conda route and Binder) stays in step with pyproject.toml.

conda cannot run here, so the two files are compared statically: the channel, the
Python version, every runtime dependency with its specifier, and the pip line that
installs the kit itself; and what Binder's repo2docker reads of them.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# PyPI name to conda-forge name, where the two differ. None do today: jupyterlab,
# ipywidgets, requests, requests-oauthlib, python-dotenv, pyjwt, uvicorn and
# httptools have the same names on conda-forge.
CONDA_NAMES: dict[str, str] = {}

# Packages environment.yml needs that pyproject.toml states another way.
CONDA_ONLY = {"python", "pip"}

KIT_INSTALL = re.compile(r"^-e \.(\[(?P<extras>[\w,-]+)\])?$")

# The one conda-only line: repo2docker reads the Python version only from a pin
# such as `python=3.11` (its own pattern: `python\s*=+\s*([\d\.]*)`), and
# without one builds on its default, older than the kit's minimum.
BINDER_PYTHON = re.compile(r"^python=(?P<version>3\.\d+)$")


@pytest.fixture(scope="module")
def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


@pytest.fixture(scope="module")
def environment() -> dict[str, Any]:
    loaded = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), "environment.yml is not a YAML mapping."
    return loaded


def conda_requirements(environment: dict[str, Any]) -> dict[str, Requirement]:
    """The conda dependencies, not the pip sub-list, by canonical name."""
    found: dict[str, Requirement] = {}
    for item in environment["dependencies"]:
        if isinstance(item, dict) or BINDER_PYTHON.match(str(item)):
            continue
        try:
            requirement = Requirement(item)
        except InvalidRequirement as exc:
            message = (
                f"environment.yml: `{item}` is not a pip-style requirement. Use "
                "`>=`, `<` or `==`, not conda-only syntax such as `=1.2`."
            )
            raise AssertionError(message) from exc
        name = canonicalize_name(requirement.name)
        assert not requirement.extras and requirement.marker is None, (
            f"environment.yml: conda understands no extras or markers in `{item}`."
        )
        assert name not in found, f"environment.yml lists `{name}` twice."
        found[name] = requirement
    return found


def pip_entries(environment: dict[str, Any]) -> list[str]:
    """The items of the `pip:` sub-list, or an empty list if there is none."""
    for item in environment["dependencies"]:
        if isinstance(item, dict) and "pip" in item:
            return [str(entry) for entry in item["pip"]]
    return []


def runtime_requirements(pyproject: dict[str, Any]) -> list[Requirement]:
    return [Requirement(raw) for raw in pyproject["project"]["dependencies"]]


def conda_name(requirement: Requirement) -> str:
    name = canonicalize_name(requirement.name)
    return CONDA_NAMES.get(name, name)


def test_environment_is_named_after_the_kit(environment: dict[str, Any]) -> None:
    assert environment["name"] == "atlassian-3lo-kit"


def test_environment_uses_only_conda_forge(environment: dict[str, Any]) -> None:
    assert environment["channels"] == ["conda-forge"]


def python_entries(environment: dict[str, Any]) -> list[str]:
    return [
        str(item)
        for item in environment["dependencies"]
        if isinstance(item, str) and re.match(r"python\s*([=<>!~]|$)", item)
    ]


def test_python_is_pinned_once_as_binder_reads_it_within_requires_python(
    pyproject: dict[str, Any], environment: dict[str, Any]
) -> None:
    entries = python_entries(environment)
    assert len(entries) == 1, f"expected one `python=X.Y` line, found {entries}"

    pin = BINDER_PYTHON.match(entries[0])

    assert pin, f"`{entries[0]}` is not a pin `python=3.X` that repo2docker reads."
    required = SpecifierSet(pyproject["project"]["requires-python"])
    assert Version(pin["version"]) in required


def test_binder_reads_the_environment_at_the_top_of_the_repository() -> None:
    shadows = [name for name in ("binder", ".binder") if (ROOT / name).is_dir()]

    # repo2docker would read only that folder; `-e .` is run beside the file,
    # so it installs the kit from the folder that holds pyproject.toml.
    assert shadows == []
    assert (ROOT / "environment.yml").is_file()
    assert (ROOT / "pyproject.toml").is_file()


def test_every_runtime_dependency_is_listed_with_the_same_specifier(
    pyproject: dict[str, Any], environment: dict[str, Any]
) -> None:
    required = runtime_requirements(pyproject)
    listed = conda_requirements(environment)
    assert required, "pyproject.toml lists no runtime dependencies."

    problems = []
    for requirement in required:
        name = conda_name(requirement)
        if name not in listed:
            problems.append(f"{name}: missing from environment.yml")
        elif listed[name].specifier != requirement.specifier:
            problems.append(
                f"{name}: environment.yml '{listed[name].specifier}' "
                f"!= pyproject '{requirement.specifier}'"
            )

    assert problems == []


def test_environment_lists_no_package_that_pyproject_does_not(
    pyproject: dict[str, Any], environment: dict[str, Any]
) -> None:
    expected = {
        conda_name(requirement) for requirement in runtime_requirements(pyproject)
    }
    listed = set(conda_requirements(environment))
    assert listed, "environment.yml lists no conda dependencies."

    assert sorted(listed - expected - CONDA_ONLY) == []


def test_pip_section_installs_only_the_kit_itself(
    pyproject: dict[str, Any], environment: dict[str, Any]
) -> None:
    entries = pip_entries(environment)
    assert "pip" in conda_requirements(environment), "the pip section needs `pip`."

    assert len(entries) == 1, f"expected one `-e .[...]` line, found {entries}"
    match = KIT_INSTALL.match(entries[0])
    assert match, f"`{entries[0]}` does not install the kit (`-e .` or `-e .[test]`)."
    extras = set(filter(None, (match["extras"] or "").split(",")))
    assert extras <= set(pyproject["project"]["optional-dependencies"])

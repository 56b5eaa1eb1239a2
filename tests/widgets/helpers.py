"""What the widget tests share: every string a panel would show or sync."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ipywidgets as widgets


def all_text(widget: widgets.Widget) -> str:
    """Every string trait of `widget` and of every widget under it, one per line.

    Values, descriptions, tooltips, placeholders, tab titles and option labels
    all count: whatever a browser could be sent is in here.
    """
    seen: set[int] = set()
    texts: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, widgets.Widget):
            if id(value) in seen:
                return
            seen.add(id(value))
            for name in value.trait_names():
                walk(getattr(value, name))
        elif isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list | tuple):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(key)
                walk(item)

    walk(widget)
    return "\n".join(texts)


def stored_secrets(path: Path) -> list[str]:
    """The tokens in clear from a token file, read the way an attacker would."""
    document = json.loads(path.read_text("utf-8"))
    tokens = document["tokens"]
    return [v for v in (tokens["access_token"], tokens["refresh_token"]) if v]


def assert_shows_none_of(widget: widgets.Widget, secrets: list[str]) -> None:
    """No secret appears anywhere in `widget`, nor its first 16 characters."""
    text = all_text(widget)
    assert secrets, "no secrets to look for"
    for secret in secrets:
        assert secret not in text
        assert secret[:16] not in text

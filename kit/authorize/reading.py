"""Reading an authorization URL as Atlassian would: its parameters, what each one
does, and how much guessing its `state` would take.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass
from urllib.parse import unquote_plus, urlsplit

from kit.authorize.findings import Finding, finding
from kit.authorize.request import MEANINGS, SECRET_PARAMETERS, UNKNOWN_MEANING, masked
from kit.errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    name: str
    value: str
    raw: str


@dataclass(frozen=True)
class ParsedUrl:
    url: str
    scheme: str = ""
    path: str = ""
    fragment: str = ""
    parameters: tuple[Parameter, ...] = ()
    problems: tuple[Finding, ...] = ()

    def values(self, name: str) -> list[str]:
        return [p.value for p in self.parameters if p.name == name]

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None


_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_QUERY_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*")


def parse_url(url: str) -> ParsedUrl:
    """Split an authorization URL strictly: bad escapes and bytes are findings."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        reason = f"The URL cannot be read: {exc}."
        return ParsedUrl(url, problems=(finding("unparseable-url", None, reason),))
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        reason = "The URL cannot be read: it has no http(s) scheme and host."
        return ParsedUrl(url, problems=(finding("unparseable-url", None, reason),))
    parameters: list[Parameter] = []
    problems: list[Finding] = []
    for piece in parts.query.split("&") if parts.query else []:
        parameter, problem = _parse_piece(piece)
        parameters += [parameter] if parameter else []
        problems += [problem] if problem else []
    if not _QUERY_CHARACTERS.fullmatch(parts.query):
        message = (
            "The query holds characters a URL may not carry as they are (spaces, "
            "quotes, non-ASCII letters); a browser rewrites them, other tools may not."
        )
        problems.append(finding("unencoded-character", None, message))
    return ParsedUrl(
        url,
        parts.scheme,
        parts.path,
        parts.fragment,
        tuple(parameters),
        tuple(problems),
    )


def _parse_piece(piece: str) -> tuple[Parameter | None, Finding | None]:
    raw_name, equals, raw_value = piece.partition("=")
    if not equals or not raw_name:
        message = f"The query holds {piece[:40]!r}, which is not `name=value`."
        return None, finding("malformed-parameter", None, message)
    try:
        if _BAD_ESCAPE.search(piece):
            raise ValueError("a `%` not followed by two hex digits")
        name = unquote_plus(raw_name, errors="strict")
        value = unquote_plus(raw_value, errors="strict")
        if any(ord(char) < 32 or ord(char) == 127 for char in name + value):
            raise ValueError("a control character once decoded")
    except ValueError as exc:  # UnicodeDecodeError is a ValueError
        message = f"`{raw_name[:40]}` is not valid percent-encoded UTF-8: {exc}."
        return None, finding("bad-percent-encoding", raw_name[:40], message)
    return Parameter(name, value, raw_value), None


def parse_authorization_url(url: str) -> dict[str, list[str]]:
    """The query parameters of an authorization URL, each with all its values.

    Parses strictly: a bad percent-escape, invalid UTF-8, a control character or
    a piece that is not `name=value` raises `ConfigError`. `+` reads as a space.
    """
    parsed = parse_url(url)
    errors = [p for p in parsed.problems if p.severity == "error"]
    if errors:
        raise ConfigError(" ".join(f"{p.message} {p.fix}" for p in errors))
    result: dict[str, list[str]] = {}
    for parameter in parsed.parameters:
        result.setdefault(parameter.name, []).append(parameter.value)
    return result


@dataclass(frozen=True)
class ParameterNote:
    """One parameter of an authorization URL, in plain words.

    `value` is None when a documented parameter is missing; secrets are masked.
    """

    name: str
    value: str | None
    meaning: str

    def __str__(self) -> str:
        shown = "(missing)" if self.value is None else self.value
        return f"{self.name} = {shown}: {self.meaning}"


def explain(url: str) -> list[ParameterNote]:
    """One plain-words note per parameter of `url`, then the documented missing ones.

    Secrets (`state`, and anything that has no place in the URL) are masked.
    """
    parsed = parse_url(url)
    notes = [
        ParameterNote(p.name, _shown(p), MEANINGS.get(p.name, UNKNOWN_MEANING))
        for p in parsed.parameters
    ]
    present = {p.name for p in parsed.parameters}
    notes += [
        ParameterNote(name, None, MEANINGS[name])
        for name in MEANINGS
        if name not in present and not name.startswith("code_")
    ]
    return notes


def _shown(parameter: Parameter) -> str:
    if parameter.name in SECRET_PARAMETERS:
        return masked(parameter.value)
    return parameter.value


def estimate_state_bits(state: str) -> float:
    """An upper bound on the entropy of `state`, from its length and alphabet.

    A UUID counts as its 122 random bits. A low figure proves a state weak; a high
    one cannot prove it strong, which is why the kit makes states with `secrets`.
    """
    if re.fullmatch(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}", state):
        return 122.0
    if re.fullmatch(r"[0-9a-f]+|[0-9A-F]+", state) and not state.isdigit():
        return 4.0 * len(state)
    size = sum(
        len(chars)
        for chars in (string.ascii_lowercase, string.ascii_uppercase, string.digits)
        if any(char in chars for char in state)
    )
    size += len({char for char in state if not char.isascii() or not char.isalnum()})
    return len(state) * math.log2(size) if size > 1 else 0.0

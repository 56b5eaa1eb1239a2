"""One call to the emulated Confluence, as its handlers see it.

`api.py` builds a `Call` from what the gateway hands over (the operation's path
parameters, the request, the site's content, the settings and the token's scopes);
the handlers in `v1.py` and `v2.py` read their query parameters through it, so that
every parameter is checked the same way and a bad one is a 400, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from kit.sandbox.confluence.errors import bad_request
from kit.sandbox.confluence.model import SiteContent
from kit.sandbox.http import Request
from kit.sandbox.scenario import User
from kit.sandbox.settings import Settings

_TRUE = ("true", "1")
_FALSE = ("false", "0")


@dataclass(frozen=True)
class Call:
    """The request, its path parameters, and what the handlers may read."""

    params: dict[str, str]
    request: Request
    content: SiteContent
    settings: Settings
    scopes: frozenset[str]
    user: User

    def one(self, name: str) -> str | None:
        """A parameter that may appear once; a 400 when it is repeated."""
        values = self.request.query_values(name)
        if len(values) > 1:
            raise bad_request(f"The parameter `{name}` may appear only once.")
        return values[0] if values else None

    def many(self, name: str, maximum: int | None = None) -> list[str]:
        """An array parameter: repeated (`a=1&a=2`) or comma-separated (`a=1,2`)."""
        values = [
            item.strip()
            for value in self.request.query_values(name)
            for item in value.split(",")
            if item.strip()
        ]
        if maximum is not None and len(values) > maximum:
            raise bad_request(f"`{name}` takes at most {maximum} values.")
        return values

    def choice(self, name: str, allowed: tuple[str, ...]) -> str | None:
        """A parameter whose value must be one of `allowed`."""
        value = self.one(name)
        if value is not None and value not in allowed:
            raise bad_request(
                f"`{name}` must be one of {', '.join(allowed)}, not {value!r}."
            )
        return value

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter: `true` or `false`."""
        value = self.one(name)
        if value is None:
            return default
        if value.lower() in _TRUE:
            return True
        if value.lower() in _FALSE:
            return False
        raise bad_request(f"`{name}` must be `true` or `false`, not {value!r}.")

    def numbers(self, name: str, maximum: int) -> list[str]:
        """An array of numeric ids, as canonical strings."""
        return [self._number(name, item) for item in self.many(name, maximum)]

    def number_param(self, name: str) -> str:
        """A numeric path parameter such as a page id, as a canonical string."""
        return self._number(name, self.params[name])

    @staticmethod
    def _number(name: str, raw: str) -> str:
        if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
            raise bad_request(f"`{name}` must be a number, not {raw!r}.")
        return str(int(raw))

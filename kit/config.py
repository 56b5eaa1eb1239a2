"""Where the kit sends its requests: the authorization host and the API host.

Atlassian splits 3LO over two hosts: `auth.atlassian.com` (authorize, token) and
`api.atlassian.com` (accessible-resources, `/me`, the gateway). The kit reads
them from `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`, so that the same code
talks to Atlassian, to a sandbox in the kernel, or to a workshop's shared sandbox.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from kit.errors import ConfigError

AUTH_URL_VARIABLE = "ATLASSIAN_AUTH_URL"
API_URL_VARIABLE = "ATLASSIAN_API_URL"
DEFAULT_AUTH_URL = "https://auth.atlassian.com"
DEFAULT_API_URL = "https://api.atlassian.com"


@dataclass(frozen=True)
class Hosts:
    """The two base URLs, without a trailing slash."""

    auth_url: str = DEFAULT_AUTH_URL
    api_url: str = DEFAULT_API_URL

    @property
    def is_atlassian(self) -> bool:
        """Whether both point at Atlassian's own hosts."""
        return (self.auth_url, self.api_url) == (DEFAULT_AUTH_URL, DEFAULT_API_URL)

    def as_environ(self) -> dict[str, str]:
        """The variables that make another process use these hosts."""
        return {AUTH_URL_VARIABLE: self.auth_url, API_URL_VARIABLE: self.api_url}


def load_hosts(environ: Mapping[str, str] | None = None) -> Hosts:
    """The hosts named by the environment, or Atlassian's when a variable is unset.

    An empty value counts as unset. A value must be an `http` or `https` URL of a
    host (and a port), with no path, query or fragment: a sandbox's base URL as
    `python -m kit.sandbox` prints it. Plain `http` is a workshop's LAN sandbox.
    """
    source = os.environ if environ is None else environ
    return Hosts(
        auth_url=_base_url(source, AUTH_URL_VARIABLE, DEFAULT_AUTH_URL),
        api_url=_base_url(source, API_URL_VARIABLE, DEFAULT_API_URL),
    )


def is_loopback(url: str) -> bool:
    """Whether `url` points at this machine (`localhost`, 127.0.0.0/8 or `::1`)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _base_url(environ: Mapping[str, str], name: str, default: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        return default
    problem = _url_problem(value)
    if problem:
        shown = value if "@" not in value else "a URL with credentials in it"
        message = (
            f"`{name}` is {shown!r}, which {problem}. Set it to a base URL such as "
            f"`{default}`, or the URL the sandbox printed when it started "
            f"(`http://127.0.0.1:8000`), or unset it to use Atlassian."
        )
        raise ConfigError(message)
    return value.rstrip("/")


def _url_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        return "is not a URL with a valid port"
    checks = (
        (
            parts.scheme not in {"http", "https"},
            "does not start with `https://` or `http://`",
        ),
        (not parts.hostname, "names no host"),
        (parts.username is not None, "carries a user name or password"),
        (
            parts.path not in {"", "/"} or bool(parts.query or parts.fragment),
            "has a path, query or fragment after the host",
        ),
        (port == 0, "has port 0"),
    )
    return next((problem for failed, problem in checks if failed), None)

"""Step 3 of the flow when the browser is not on the kernel's machine: hubs.

On JupyterHub, on Binder or on any remote Jupyter server, `127.0.0.1` in the
learner's browser is the learner's own computer, not the kernel's. `detect`
reads the variables a hub sets and works out the server's public address;
`Hub.callback_uri` then names the redirect URI that `jupyter-server-proxy`
serves, `<public URL>proxy/8765/callback`, which is the one to register.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from kit.config import split_absolute
from kit.errors import ConfigError

logger = logging.getLogger(__name__)

PREFIX_VARIABLE = "JUPYTERHUB_SERVICE_PREFIX"  # `/user/ada/`, set by JupyterHub
PUBLIC_URL_VARIABLE = "KIT_PUBLIC_URL"  # the learner's own word for it
HUB_PUBLIC_URL_VARIABLE = "JUPYTERHUB_PUBLIC_URL"  # with `c.JupyterHub.public_url`
HUB_HOST_VARIABLE = "JUPYTERHUB_HOST"  # with `c.JupyterHub.subdomain_host`
BINDER_VARIABLES = ("BINDER_LAUNCH_HOST", "BINDER_REF_URL", "BINDER_REPO_URL")
HUB_VARIABLES = (
    PREFIX_VARIABLE,
    PUBLIC_URL_VARIABLE,
    HUB_PUBLIC_URL_VARIABLE,
    HUB_HOST_VARIABLE,
    *BINDER_VARIABLES,
)
PROXY_MODULE = "jupyter_server_proxy"
DEFAULT_PORT = 8765
DEFAULT_PATH = "/callback"

# Where JupyterLab's own pages begin in an address bar: what follows the base.
_UI_SEGMENTS = ("lab", "tree", "notebooks", "doc", "edit", "voila")
# `<base>proxy/<port>/<path>`, the route jupyter-server-proxy serves for a port
# on this machine (its `/proxy/absolute/` and `/proxy/<host>:<port>/` are not).
_PROXY_PATH = re.compile(
    r"^(?P<prefix>/(?:.*/)?)proxy/(?P<port>0|[1-9][0-9]{0,4})(?P<path>/.*)$"
)

Kind = Literal["JupyterHub", "Binder", "remote server"]


@dataclass(frozen=True)
class Hub:
    """A server whose learner's browser cannot reach the kernel's loopback.

    `kind` is `JupyterHub`, `Binder` or `remote server`; `prefix` is the
    server's path (`/user/ada/`); `public_url` is its address as the browser's
    address bar shows it, up to and including the prefix, or None when the
    environment does not tell; `proxy_available` says whether
    `jupyter-server-proxy` can be imported here.
    """

    kind: Kind
    prefix: str
    public_url: str | None
    proxy_available: bool

    def callback_uri(
        self, port: int = DEFAULT_PORT, path: str = DEFAULT_PATH
    ) -> str | None:
        """The redirect URI to register: `<public URL>proxy/<port><path>`.

        None while the public URL is unknown; set `KIT_PUBLIC_URL` to know it.
        """
        if self.public_url is None:
            return None
        return f"{self.public_url}proxy/{port}/{path.lstrip('/')}"

    def proxied(self, redirect_uri: str) -> str | None:
        """The proxied form of a loopback redirect URI: the same port and path."""
        parts = urlsplit(redirect_uri)
        return self.callback_uri(parts.port or 80, parts.path or "/")


@dataclass(frozen=True)
class ProxyRoute:
    """A redirect URI that jupyter-server-proxy serves from a port of this machine.

    `uri` is the public redirect URI, as registered; `base` is the server's
    public URL before `proxy/`; `port` and `path` are where the kernel listens
    (`http://127.0.0.1:<port><path>`); `host_names` are the `Host` headers a
    browser sends for `uri`, which the proxy passes on.
    """

    uri: str
    base: str
    port: int
    path: str
    host_names: frozenset[str]

    @property
    def loopback_uri(self) -> str:
        """Where the kernel itself reaches the listener, without the proxy."""
        return f"http://127.0.0.1:{self.port}{self.path}"

    def with_port(self, port: int) -> ProxyRoute:
        """The same route on another port (once a port 0 was given a number)."""
        uri = f"{self.base}proxy/{port}{self.path}"
        return ProxyRoute(uri, self.base, port, self.path, self.host_names)


def detect(
    environ: Mapping[str, str] | None = None, *, proxy_available: bool | None = None
) -> Hub | None:
    """The hub this kernel runs on, from its environment; None on your own machine.

    Binder sets `BINDER_LAUNCH_HOST` or `BINDER_REF_URL` besides JupyterHub's
    `JUPYTERHUB_SERVICE_PREFIX`; `KIT_PUBLIC_URL` alone names a remote server.
    Raises `ConfigError` when `KIT_PUBLIC_URL` is not an http(s) address.
    """
    source = os.environ if environ is None else environ
    prefix = _prefix(source.get(PREFIX_VARIABLE, ""))
    named = source.get(PUBLIC_URL_VARIABLE, "").strip()
    if any(source.get(name, "").strip() for name in BINDER_VARIABLES):
        kind: Kind = "Binder"
    elif prefix is not None:
        kind = "JupyterHub"
    elif named:
        kind = "remote server"
    else:
        return None
    public = public_url(source)
    if prefix is None:
        prefix = urlsplit(public).path if public else "/"
    if proxy_available is None:
        proxy_available = proxy_installed()
    hub = Hub(kind, prefix, public, proxy_available)
    logger.debug(
        "This kernel runs on %s (prefix %s, public URL %s).", kind, prefix, public
    )
    return hub


def public_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The server's public base URL, ending in `/`, or None when nothing says.

    In this order: `KIT_PUBLIC_URL` (cut after the prefix, so that a whole
    address bar may be pasted), `JUPYTERHUB_PUBLIC_URL`'s origin with the
    prefix, `JUPYTERHUB_HOST` with the prefix.
    """
    source = os.environ if environ is None else environ
    prefix = _prefix(source.get(PREFIX_VARIABLE, ""))
    named = source.get(PUBLIC_URL_VARIABLE, "").strip()
    if named:
        return _named_public_url(named, prefix)
    if prefix is None:
        return None
    for name in (HUB_PUBLIC_URL_VARIABLE, HUB_HOST_VARIABLE):
        origin = _origin(source.get(name, ""))
        if origin is not None:
            return origin + prefix
    return None


def proxy_installed() -> bool:
    """Whether `jupyter-server-proxy` can be imported in this kernel's Python."""
    return importlib.util.find_spec(PROXY_MODULE) is not None


def proxy_route(uri: str) -> ProxyRoute | None:
    """The route of a `<http(s) base>/proxy/<port>/<path>` URI, or None.

    None for any other shape, and for a URI with a user name, a query or a
    fragment, which no redirect URI may carry (RFC 6749 section 3.1.2).
    """
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    found = _PROXY_PATH.match(parts.path)
    plain = not (parts.username or parts.query or parts.fragment or "#" in uri)
    if parts.scheme not in {"http", "https"} or not parts.hostname or not plain:
        return None
    if found is None or int(found["port"]) > 65535:
        return None
    base = f"{parts.scheme}://{parts.netloc}{found['prefix']}"
    port = int(found["port"])
    return ProxyRoute(uri, base, port, found["path"], _host_names(parts))


def same_base(one: str, other: str) -> bool:
    """Whether two base URLs name one server and path (host and scheme in any case)."""
    first, second = urlsplit(one), urlsplit(other)
    try:
        return _where(first) == _where(second)
    except (KeyError, ValueError):
        return False


def _where(parts: SplitResult) -> tuple[str, str, int, str]:
    default = {"http": 80, "https": 443}[parts.scheme.lower()]
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return (parts.scheme.lower(), parts.hostname or "", parts.port or default, path)


def _prefix(value: str) -> str | None:
    """A service prefix with one `/` at each end, or None when it is unset."""
    value = value.strip()
    if not value:
        return None
    return "/" + value.strip("/") + "/" if value.strip("/") else "/"


def _origin(value: str) -> str | None:
    """`scheme://host[:port]` of a hub's URL or host (https when it names none)."""
    value = value.strip()
    if not value:
        return None
    if "://" not in value:
        value = "https://" + value
    parts = split_absolute(value)
    if parts is None:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _named_public_url(value: str, prefix: str | None) -> str:
    """`KIT_PUBLIC_URL` checked, and cut after the prefix or before Lab's pages."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        parts = SplitResult("", "", "", "", "")
    problem = _public_url_problem(parts)
    if problem:
        raise ConfigError(
            f"`{PUBLIC_URL_VARIABLE}` is {value!r}, which {problem}. Set it to this "
            "server's address as your browser's address bar shows it, up to and "
            f"including `{prefix or '/user/<name>/'}`, such as "
            f"`https://hub.example.org{prefix or '/user/ada/'}`."
        )
    path = _base_path(parts.path, prefix)
    return f"{parts.scheme}://{parts.netloc}{path}"


def _public_url_problem(parts: SplitResult) -> str | None:
    checks = (
        (parts.scheme not in {"http", "https"}, "is not an `https://` address"),
        (not parts.hostname, "names no host"),
        (parts.username is not None, "carries a user name or password"),
    )
    return next((problem for failed, problem in checks if failed), None)


def _base_path(path: str, prefix: str | None) -> str:
    """The path up to and including the prefix; without one, before Lab's pages."""
    path = path or "/"
    if prefix is not None and prefix != "/":
        if prefix in path + "/":
            return (path + "/")[: (path + "/").index(prefix) + len(prefix)]
        if path == "/":
            return prefix
    segments = path.strip("/").split("/")
    for index, segment in enumerate(segments):
        if segment in _UI_SEGMENTS:
            segments = segments[:index]
            break
    kept = "/".join(s for s in segments if s)
    return f"/{kept}/" if kept else "/"


def _host_names(parts: SplitResult) -> frozenset[str]:
    """The `Host` values a browser may send for this URL, lower case."""
    host = (parts.hostname or "").lower()
    name = f"[{host}]" if ":" in host else host
    default = {"http": 80, "https": 443}[parts.scheme]
    port = parts.port
    if port is None or port == default:
        return frozenset({name, f"{name}:{default}"})
    return frozenset({f"{name}:{port}"})

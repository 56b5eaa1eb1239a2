"""The first cell of the course: is everything in place? One line per item.

Each line says what was found; a failing line says the exact command that fixes
it. The `.env` keys are reported by name only, never by value. On a hub, one
more line says how the callback of step 3 can reach this kernel.
"""

from __future__ import annotations

import html
import importlib.metadata
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from kit import config as settings
from kit import hub as hubs
from kit.course import Course
from kit.errors import ConfigError
from kit.hub import Hub, ProxyRoute, proxy_route

PACKAGES = (
    "jupyterlab",
    "ipywidgets",
    "jupyterlab_widgets",
    "requests-oauthlib",
    "python-dotenv",
    "requests",
)
MIN_PYTHON = (3, 11)
FIX_INSTALL = "make lab (or: .venv/bin/pip install -e '.[test,dev]')"
BROWSER = "Browser and kernel"
PASTE = "or paste the address you land on (kit.parse_redirected_url)"


@dataclass(frozen=True)
class Line:
    """One item of the check: whether it is fine, what was found, and the fix."""

    ok: bool
    item: str
    found: str
    fix: str = ""

    def __str__(self) -> str:
        mark = "✓" if self.ok else "✗"
        fix = f"  →  fix: {self.fix}" if self.fix and not self.ok else ""
        return f"{mark} {self.item}: {self.found}{fix}"


@dataclass(frozen=True)
class Report:
    """Every line of the check; `ok` when all are."""

    lines: tuple[Line, ...]

    @property
    def ok(self) -> bool:
        return all(line.ok for line in self.lines)

    def __str__(self) -> str:
        return "\n".join(str(line) for line in self.lines)

    def _repr_html_(self) -> str:
        rows = "".join(_html_row(line) for line in self.lines)
        verdict = "All set." if self.ok else "Fix the lines marked ✗, then run again."
        return f"<table class='kit-setup'>{rows}</table><p>{verdict}</p>"


def _mark(ok: bool) -> str:
    """✓ in green or ✗ in red: characters every font has, unlike emoji."""
    colour, sign = ("#216e4e", "✓") if ok else ("#ae2e24", "✗")
    return f"<b style='color:{colour}'>{sign}</b>"


def _html_row(line: Line) -> str:
    cells = [
        _mark(line.ok),
        f"<b>{html.escape(line.item)}</b>",
        html.escape(line.found),
        "" if line.ok else f"<code>{html.escape(line.fix)}</code>",
    ]
    return (
        "<tr>"
        + "".join(f"<td style='text-align:left'>{c}</td>" for c in cells)
        + "</tr>"
    )


def check_setup(course: Course | None = None) -> Report:
    """Check Python, the packages, the settings, the sandbox and the callback port."""
    lines = [_python(), *(_package(name) for name in PACKAGES), *_env_keys()]
    if course is not None:
        lines += [_mode(course), _server(course), _callback_port(course)]
        lines += _browser(course)
        lines.append(_store(course))
    return Report(tuple(lines))


def _python() -> Line:
    version = ".".join(str(n) for n in sys.version_info[:3])
    ok = sys.version_info[:2] >= MIN_PYTHON
    return Line(ok, "Python", version, "install Python 3.11+, then: make lab")


def _package(name: str) -> Line:
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return Line(False, name, "not installed", FIX_INSTALL)
    return Line(True, name, version)


def _env_keys() -> list[Line]:
    """Which client settings are present, by name only."""
    found = settings.client_variables_present()
    present = [name for name, there in found.items() if there]
    if not present:
        return [Line(True, ".env", "no app configured: the sandbox's app is used")]
    if len(present) == len(found):
        return [Line(True, ".env", "set: " + ", ".join(found) + " (values not shown)")]
    missing = [name for name, there in found.items() if not there]
    return [
        Line(
            False,
            ".env",
            f"only {', '.join(present)} set; missing {', '.join(missing)}",
            "cp .env.example .env, then fill in all three values",
        )
    ]


def _mode(course: Course) -> Line:
    return Line(True, "Mode", f"{course.config.mode}: {course.where}")


def _server(course: Course) -> Line:
    if course.controls is None:
        return Line(
            True, "Atlassian", f"{course.config.hosts.auth_url} (not checked offline)"
        )
    up = course.controls.is_up()
    fix = "make sandbox (in another terminal), or unset ATLASSIAN_AUTH_URL"
    return Line(
        up,
        "Sandbox",
        f"{course.controls.base_url} " + ("answers" if up else "does not answer"),
        fix,
    )


def _callback_port(
    course: Course, connect: Callable[..., socket.socket] = socket.create_connection
) -> Line:
    route = proxy_route(course.config.redirect_uri)
    port = route.port if route else urlsplit(course.config.redirect_uri).port or 80
    try:
        connect(("127.0.0.1", port), timeout=0.3).close()
    except OSError:
        return Line(True, "Callback port", f"{port} is free for the catcher")
    return Line(
        False,
        "Callback port",
        f"{port} is taken (another notebook's catcher, or another program)",
        "stop the other catcher (catcher.stop()) or restart that notebook's kernel",
    )


def _store(course: Course) -> Line:
    state = "tokens saved" if course.store.path.exists() else "no tokens yet"
    return Line(True, "Token file", f"{course.store.path} ({state})")


def _browser(course: Course) -> list[Line]:
    """On a hub, how the callback reaches this kernel; no line on your machine."""
    try:
        hub = hubs.detect()
    except ConfigError as exc:
        return [Line(False, BROWSER, "`KIT_PUBLIC_URL` cannot be read", exc.message)]
    if hub is None:
        return []
    return [browser_line(hub, course.config.redirect_uri, sandbox=course.is_sandbox)]


def browser_line(hub: Hub, redirect_uri: str, *, sandbox: bool) -> Line:
    """The hub's line: the proxy route, the robot on the sandbox, or what to do.

    The browser cannot reach `127.0.0.1` of a kernel on a hub, so a loopback
    redirect URI works there only for the robot, which consents from inside
    the kernel. For your own app, register the proxied URI (`kit.hub`).
    """
    found = f"on {hub.kind}, your browser cannot reach this kernel's 127.0.0.1"
    route = proxy_route(redirect_uri)
    if route is not None:
        return _proxied(hub, route, found)
    if sandbox:
        return Line(
            True,
            BROWSER,
            f"{found}, so the robot plays the browser here (the callback panel's "
            '"Play the browser" button), which needs nothing from your browser',
        )
    return Line(False, BROWSER, found, _register_fix(hub, redirect_uri))


def _register_fix(hub: Hub, redirect_uri: str) -> str:
    exact = hub.proxied(redirect_uri)
    if exact is None:
        return (
            "set KIT_PUBLIC_URL to this server's address as your address bar shows "
            f"it, up to and including {hub.prefix} (in a cell: %env KIT_PUBLIC_URL="
            f"https://<host>{hub.prefix}), run this check again and register the "
            f"callback URL it shows; {PASTE}"
        )
    if exact.startswith("http://") and not settings.is_loopback(exact):
        return (
            f"this server is plain http ({hub.public_url}), and a callback URL "
            "off this machine must be https (RFC 6749 section 3.1.2.1): open the "
            f"server over https and run this check again; {PASTE}"
        )
    proxy = "installed" if hub.proxy_available else "missing, pip install it"
    return (
        f"register {exact} as the app's callback URL and set "
        f"ATLASSIAN_REDIRECT_URI to it (jupyter-server-proxy: {proxy}), {PASTE}"
    )


def _proxied(hub: Hub, route: ProxyRoute, found: str) -> Line:
    """`ATLASSIAN_REDIRECT_URI` already goes through the proxy: check it fits."""
    via = f"the callback goes through jupyter-server-proxy at {route.uri}"
    if not hub.proxy_available:
        return Line(
            False,
            BROWSER,
            f"{found}; {via}, but jupyter-server-proxy is missing",
            "pip install jupyter-server-proxy (on a hub, in the server's image), "
            f"then restart the server; {PASTE}",
        )
    known = hub.public_url
    if known is not None and not hubs.same_base(route.base, known):
        exact = hub.callback_uri(route.port, route.path)
        return Line(
            False,
            BROWSER,
            f"{found}; ATLASSIAN_REDIRECT_URI goes through {route.base}, but this "
            f"server is at {known}",
            f"register {exact} as the app's callback URL and set "
            f"ATLASSIAN_REDIRECT_URI to it, {PASTE}",
        )
    return Line(True, BROWSER, f"{found}; {via} (jupyter-server-proxy: installed)")

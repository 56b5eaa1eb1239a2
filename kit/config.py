"""Step 0 of the flow, the settings: which app, which callback, which hosts.

`load()` reads the app's client id, secret and redirect URI from the environment
and, only when called, from `.env`; without them it picks the sandbox's own app.
The hosts come from `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL`, so that the same
code talks to Atlassian, to a sandbox in the kernel, or to a workshop's sandbox.
"""

from __future__ import annotations

import getpass
import html
import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import SplitResult, urlsplit

from kit.errors import ConfigError, NoSandboxError
from kit.tokens import Secret

logger = logging.getLogger(__name__)

AUTH_URL_VARIABLE = "ATLASSIAN_AUTH_URL"
API_URL_VARIABLE = "ATLASSIAN_API_URL"
DEFAULT_AUTH_URL = "https://auth.atlassian.com"
DEFAULT_API_URL = "https://api.atlassian.com"

CLIENT_ID_VARIABLE = "ATLASSIAN_CLIENT_ID"
CLIENT_SECRET_VARIABLE = "ATLASSIAN_CLIENT_SECRET"  # noqa: S105 - a name
REDIRECT_URI_VARIABLE = "ATLASSIAN_REDIRECT_URI"
CLIENT_VARIABLES = (CLIENT_ID_VARIABLE, CLIENT_SECRET_VARIABLE, REDIRECT_URI_VARIABLE)
DEFAULT_ENV_FILE = ".env"
CONSOLE_URL = "https://developer.atlassian.com/console/myapps/"

# Copies of the sandbox app's public constants in `kit.sandbox`, which the client
# side must not import; tests/test_config.py pins them equal to the originals.
SANDBOX_CLIENT_ID = "pinecone-reader-sandbox"
SANDBOX_CLIENT_SECRET = "sandbox-secret-not-for-production"  # noqa: S105 - public
SANDBOX_REDIRECT_URI = "http://127.0.0.1:8765/callback"

Mode = Literal["sandbox", "live"]


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


def split_absolute(url: str) -> SplitResult | None:
    """`url` split, or None unless it is http(s) with a host and a valid port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return None
    return parts


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


@dataclass(frozen=True)
class ClientConfig:
    """The app the kit acts as, and where it sends requests.

    `mode` is `sandbox` when the kit uses the sandbox's own app, and `live` when
    the app's values came from the environment or `.env` (then `hosts` is
    Atlassian's unless `ATLASSIAN_AUTH_URL` and `ATLASSIAN_API_URL` say otherwise).
    The secret is a `Secret`: every display masks it.
    """

    client_id: str
    client_secret: Secret
    redirect_uri: str
    hosts: Hosts
    mode: Mode

    @property
    def is_sandbox(self) -> bool:
        """Whether the kit uses the sandbox's own app."""
        return self.mode == "sandbox"

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(repr(self))}</code>"


@dataclass(frozen=True)
class _Settings:
    """The client values as read, the secret already wrapped."""

    client_id: str
    client_secret: Secret
    redirect_uri: str
    hosts_environ: dict[str, str]
    source: str


def load(
    *,
    env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
    environ: Mapping[str, str] | None = None,
    sandbox_url: str | None = None,
) -> ClientConfig:
    """The kit's settings: your app (live) when configured, else the sandbox's.

    Reads `environ` (the process environment by default) and the `env_file`
    with python-dotenv, now and never at import; nothing is copied into
    `os.environ`. A variable present in the environment wins over the file, as
    with `load_dotenv`. A bare file name such as `.env` is looked for in the
    current directory and its parents, so notebooks in `notebooks/` find the
    project's `.env`; `env_file=None` reads the environment only.

    Live mode needs `ATLASSIAN_CLIENT_ID`, `ATLASSIAN_CLIENT_SECRET` and
    `ATLASSIAN_REDIRECT_URI` all set. With none of them set, the sandbox's app is
    used at `sandbox_url` (or at `ATLASSIAN_AUTH_URL`/`ATLASSIAN_API_URL`, for a
    workshop's shared sandbox); `sandbox_url` is ignored in live mode. This
    function never asks for the secret; `load_asking_for_secret` does.
    """
    settings = _read_settings(env_file, environ)
    del environ  # the caller's mapping may hold the secret in clear (case 101)
    return _config_from(settings, sandbox_url)


def load_asking_for_secret(
    *,
    env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
    environ: Mapping[str, str] | None = None,
    sandbox_url: str | None = None,
    ask: Callable[[str], str] = getpass.getpass,
) -> ClientConfig:
    """Like `load`, but asks for a missing client secret with a hidden prompt.

    Use it when `.env` holds the client id and redirect URI but you would rather
    not store the secret. The prompt (`getpass`) hides what you type and keeps it
    out of the notebook and of IPython's history, unlike a secret typed into a
    cell (case 106).
    """
    settings = _read_settings(env_file, environ)
    del environ  # the caller's mapping may hold the secret in clear (case 101)
    if settings.client_id and settings.redirect_uri and not settings.client_secret:
        secret = Secret(ask("Client secret of your Atlassian app (input hidden): "))
        settings = _Settings(
            client_id=settings.client_id,
            client_secret=Secret(secret.reveal().strip()),
            redirect_uri=settings.redirect_uri,
            hosts_environ=settings.hosts_environ,
            source=settings.source + " and the hidden prompt",
        )
    return _config_from(settings, sandbox_url)


def client_variables_present(
    *,
    env_file: str | os.PathLike[str] | None = DEFAULT_ENV_FILE,
    environ: Mapping[str, str] | None = None,
) -> dict[str, bool]:
    """Which of the three client variables are set, in the environment or `.env`.

    By name only: for a setup check that must never show a value.
    """
    found = _read_settings(env_file, environ)
    del environ  # the caller's mapping may hold the secret in clear (case 101)
    return {
        CLIENT_ID_VARIABLE: bool(found.client_id),
        CLIENT_SECRET_VARIABLE: bool(found.client_secret),
        REDIRECT_URI_VARIABLE: bool(found.redirect_uri),
    }


def _config_from(settings: _Settings, sandbox_url: str | None) -> ClientConfig:
    present = {
        CLIENT_ID_VARIABLE: bool(settings.client_id),
        CLIENT_SECRET_VARIABLE: bool(settings.client_secret),
        REDIRECT_URI_VARIABLE: bool(settings.redirect_uri),
    }
    if not any(present.values()):
        config = _sandbox_config(settings, sandbox_url)
    elif all(present.values()):
        config = _live_config(settings)
    else:
        raise ConfigError(_partial_message(present, settings.source))
    logger.debug(
        "Settings read from %s: %s mode, client id %s, client secret %s, "
        "redirect URI %s, auth host %s, API host %s.",
        settings.source,
        config.mode,
        config.client_id,
        config.client_secret.fingerprint,
        config.redirect_uri,
        config.hosts.auth_url,
        config.hosts.api_url,
    )
    return config


def _sandbox_config(settings: _Settings, sandbox_url: str | None) -> ClientConfig:
    if sandbox_url is not None:
        hosts = _sandbox_hosts(sandbox_url)
    else:
        hosts = load_hosts(settings.hosts_environ)
        if hosts.is_atlassian:
            raise NoSandboxError(_no_sandbox_message(settings.source))
    return ClientConfig(
        client_id=SANDBOX_CLIENT_ID,
        client_secret=Secret(SANDBOX_CLIENT_SECRET),
        redirect_uri=SANDBOX_REDIRECT_URI,
        hosts=hosts,
        mode="sandbox",
    )


def _live_config(settings: _Settings) -> ClientConfig:
    _check_client_value(CLIENT_ID_VARIABLE, settings.client_id, "Client ID")
    _check_client_value(CLIENT_SECRET_VARIABLE, settings.client_secret, "Secret")
    _check_redirect_uri(settings.redirect_uri)
    return ClientConfig(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        redirect_uri=settings.redirect_uri,
        hosts=load_hosts(settings.hosts_environ),
        mode="live",
    )


def _read_settings(
    env_file: str | os.PathLike[str] | None, environ: Mapping[str, str] | None
) -> _Settings:
    path = _find_env_file(env_file)
    merged = {**_file_values(path), **_environ_values(environ)}
    hosts = (AUTH_URL_VARIABLE, API_URL_VARIABLE)
    return _Settings(
        client_id=merged.get(CLIENT_ID_VARIABLE, "").strip(),
        client_secret=Secret(merged.get(CLIENT_SECRET_VARIABLE, "").strip()),
        redirect_uri=merged.get(REDIRECT_URI_VARIABLE, "").strip(),
        hosts_environ={name: merged[name] for name in hosts if name in merged},
        source="the environment" + ("" if path is None else f" and {path}"),
    )


def _environ_values(environ: Mapping[str, str] | None) -> dict[str, str]:
    source = os.environ if environ is None else environ
    names = (*CLIENT_VARIABLES, AUTH_URL_VARIABLE, API_URL_VARIABLE)
    return {name: source[name] for name in names if name in source}


def _find_env_file(env_file: str | os.PathLike[str] | None) -> Path | None:
    if env_file is None:
        return None
    candidate = Path(env_file)
    if candidate.name == os.fspath(env_file):
        from dotenv import find_dotenv  # noqa: PLC0415 - read .env only when asked

        found = find_dotenv(candidate.name, usecwd=True)
        return Path(found) if found else None
    if not candidate.is_file():
        message = (
            f"The settings file {candidate} does not exist or is not a file. Check "
            "the path, or pass `env_file=None` to read the environment only."
        )
        raise ConfigError(message)
    return candidate


def _file_values(path: Path | None) -> dict[str, str]:
    if path is None:
        return {}
    from dotenv import dotenv_values  # noqa: PLC0415 - read .env only when asked

    names = (*CLIENT_VARIABLES, AUTH_URL_VARIABLE, API_URL_VARIABLE)
    try:
        values = dotenv_values(path, interpolate=False)
    except (OSError, UnicodeError):
        message = (
            f"Cannot read the settings file {path}. Check that it is a UTF-8 text "
            "file you may read, or pass `env_file=None` to read the environment only."
        )
        # Not chained: the cause can hold the file's bytes, the secret among them.
        raise ConfigError(message) from None
    return {name: value for name, value in values.items() if name in names and value}


_PLACEHOLDER_PREFIX = "your-"


def _check_client_value(name: str, value: str | Secret, label: str) -> None:
    """Refuse a placeholder or a pasted-in stray; a `Secret` is never echoed."""
    problem = _client_value_problem(
        value.reveal() if isinstance(value, Secret) else value
    )
    if problem == "placeholder":
        quoted = "" if isinstance(value, Secret) else f" ({value!r})"
        message = (
            f"`{name}` still holds the placeholder from `.env.example`{quoted}. Paste "
            f"your app's {label} from Settings in the developer console "
            f"({CONSOLE_URL}), or empty all three `ATLASSIAN_CLIENT_*` and "
            "`ATLASSIAN_REDIRECT_URI` values to use the sandbox."
        )
        raise ConfigError(message)
    if problem == "stray character":
        message = (
            f"`{name}` contains a space or a control character. Copy your app's "
            f"{label} again from Settings in the developer console ({CONSOLE_URL}), "
            "without the text around it."
        )
        raise ConfigError(message)


def _client_value_problem(text: str) -> str | None:
    if text.lower().startswith(_PLACEHOLDER_PREFIX):
        return "placeholder"
    if any(char.isspace() or not char.isprintable() for char in text):
        return "stray character"
    return None


def _check_redirect_uri(value: str) -> None:
    problem = _redirect_uri_problem(value)
    if problem:
        message = (
            f"`{REDIRECT_URI_VARIABLE}` is {value!r}, which {problem}. Set it to the "
            "callback URL registered for your app in the developer console, "
            "character for character, such as `http://localhost:8765/callback`."
        )
        raise ConfigError(message)


def _redirect_uri_problem(value: str) -> str | None:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a URL with a valid port"
    checks = (
        (
            parts.scheme not in {"http", "https"},
            "is not an absolute `https://` or `http://` URL",
        ),
        (not parts.hostname, "names no host"),
        (parts.username is not None, "carries a user name or password"),
        (
            bool(parts.fragment) or "#" in value,
            "has a `#fragment`, which RFC 6749 section 3.1.2 forbids",
        ),
        (
            parts.scheme == "http" and not is_loopback(value),
            "uses plain `http` on a host other than this machine; use `https` "
            "there (RFC 6749 section 3.1.2.1), or `http://localhost` for development",
        ),
    )
    return next((problem for failed, problem in checks if failed), None)


def _sandbox_hosts(sandbox_url: str) -> Hosts:
    problem = _url_problem(sandbox_url)
    if problem:
        message = (
            f"`sandbox_url` is {sandbox_url!r}, which {problem}. Pass the `url` of "
            "a started sandbox: `load(sandbox_url=Sandbox().start().url)`."
        )
        raise ConfigError(message)
    url = sandbox_url.rstrip("/")
    return Hosts(auth_url=url, api_url=url)


def _partial_message(present: dict[str, bool], source: str) -> str:
    missing = [name for name, is_set in present.items() if not is_set]
    given = [name for name, is_set in present.items() if is_set]
    message = (
        f"{_names(missing)} {'is' if len(missing) == 1 else 'are'} not set, but "
        f"{_names(given)} {'is' if len(given) == 1 else 'are'} (read from {source}). "
        "Set all three for live mode (copy `.env.example` to `.env` and fill it "
        "in), or empty all three to use the sandbox."
    )
    if missing == [CLIENT_SECRET_VARIABLE]:
        message += (
            " To type the secret into a hidden prompt instead, call "
            "`kit.config.load_asking_for_secret()`."
        )
    return message


def _no_sandbox_message(source: str) -> str:
    return (
        f"No app is configured in {source}, so the kit would use the sandbox's "
        "app, but no sandbox URL was given. Start one and pass its URL "
        "(`load(sandbox_url=sandbox.url)`), or set `ATLASSIAN_AUTH_URL` and "
        "`ATLASSIAN_API_URL` to a workshop's sandbox, or fill in `.env` (see "
        "`.env.example`) to use your own app on Atlassian."
    )


def _names(names: list[str]) -> str:
    quoted = [f"`{name}`" for name in names]
    return (
        quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
    )

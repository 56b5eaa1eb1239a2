"""Keeping secrets out of text: log lines, recorded exchanges, error messages.

`scrub` masks every value of a secret field (`client_secret`, `code`, `state`,
`access_token`, `refresh_token`, ...) in form, JSON, dict-repr and header syntax,
and every secret the kit was told of with `remember`. `protect_library_logs`
puts that scrubbing in front of requests-oauthlib's, oauthlib's and urllib3's
DEBUG lines, which print request bodies and tokens as they are (case 103).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import deque
from collections.abc import Iterable

from kit.tokens import Secret, mask

# Fields whose values are secrets wherever they appear (RFC 6749 sections 4.1, 5.1).
SECRET_FIELDS = (
    "client_secret",
    "code",
    "code_verifier",
    "state",
    "access_token",
    "refresh_token",
    "id_token",
    "password",
)
# The loggers of the libraries under the kit that log secrets at DEBUG level,
# and the modules among them known to log; the filter goes on each one.
LIBRARY_LOGGERS = ("requests_oauthlib", "oauthlib", "urllib3")
KNOWN_MODULE_LOGGERS = (
    "requests_oauthlib.oauth2_session",
    "requests_oauthlib.oauth2_auth",
    "oauthlib.oauth2.rfc6749.parameters",
    "oauthlib.oauth2.rfc6749.clients.base",
    "oauthlib.oauth2.rfc6749.tokens",
    "oauthlib.common",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.response",
    "urllib3.util.retry",
    "urllib3.poolmanager",
)
REMEMBERED_LIMIT = 512  # the newest secrets kept for scrubbing by value
MIN_REMEMBERED_LENGTH = 8  # shorter values would mask ordinary words

_names = "|".join(SECRET_FIELDS)
# name=value in a query or form body; "name": "value" in JSON; 'name': 'value'
# in a Python dict's repr. The name must not be the tail of a longer word, so
# that `status_code=400` and `error_code` stay as they are.
_FIELD = re.compile(
    rf"(?<![\w-])(?P<q>[\"']?)(?P<name>{_names})(?P=q)(?P<sep>\s*[:=]\s*)"
    rf"(?P<vq>[\"']?)(?P<value>[^\"'&\s,;}}\]]+)"
)
# A credential after its scheme; not the auth-params of a `WWW-Authenticate`
# challenge (`Bearer realm="..."`, RFC 6750 section 3), which are no secret.
_AUTHORIZATION = re.compile(
    r"(?P<scheme>\b(?:Bearer|Basic)\s+)"
    r"(?!(?:realm|scope|error|error_description|error_uri|charset)\s*=)"
    r"(?P<value>[A-Za-z0-9\-._~+/=]{6,})",
    re.IGNORECASE,
)

_remembered: deque[str] = deque(maxlen=REMEMBERED_LIMIT)
_remembered_lock = threading.Lock()
_installed: set[str] = set()


def remember(*secrets: str | Secret | None) -> None:
    """Mask these values in everything `scrub` sees from now on.

    For secrets that may turn up where no field name announces them, such as
    an error page that echoes a token. Very short values are not remembered:
    they would mask ordinary words.
    """
    values = [s.reveal() if isinstance(s, Secret) else s for s in secrets]
    with _remembered_lock:
        for value in values:
            if value is None or len(value) < MIN_REMEMBERED_LENGTH:
                continue
            if value not in _remembered:
                _remembered.append(value)


def scrub(text: str) -> str:
    """`text` with every secret field's value and every remembered secret masked."""
    text = _FIELD.sub(_masked_field, text)
    text = _AUTHORIZATION.sub(
        lambda m: m.group("scheme") + mask(m.group("value")), text
    )
    with _remembered_lock:
        remembered = sorted(_remembered, key=len, reverse=True)
    for value in remembered:
        if value in text:
            text = text.replace(value, mask(value))
    return text


# Values of a `code` field that are never secrets: a status in `{"code":401}`
# or an error code in `{"code":"NOT_FOUND"}` (facts 5.4, 6.6). In any other
# field, such as `state` or `password`, they may well be.
_NOT_SECRET_CODE = re.compile(r"\d{1,6}|[A-Z][A-Z0-9_]*")


def _masked_field(match: re.Match[str]) -> str:
    value = match.group("value")
    if value.endswith("(masked)") or value == "(empty)":
        return match.group(0)
    if match.group("name") == "code" and _NOT_SECRET_CODE.fullmatch(value):
        return match.group(0)
    return (
        f"{match.group('q')}{match.group('name')}{match.group('q')}"
        f"{match.group('sep')}{match.group('vq')}{mask(value)}"
    )


class RedactingFilter(logging.Filter):
    """Formats each record once, scrubbed, so that no handler sees the secrets."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a library's own formatting mistake
            message = f"{record.msg!r} {record.args!r}"
        record.msg = scrub(message)
        record.args = ()
        return True


_FILTER = RedactingFilter()


def protect_library_logs(prefixes: Iterable[str] = LIBRARY_LOGGERS) -> None:
    """Scrub the DEBUG lines of requests-oauthlib, oauthlib and urllib3.

    A logger's filter applies only to records logged on that very logger, so
    the filter goes on each module logger known to log secrets (created now if
    the library is not imported yet: it finds the same logger later) and on
    every logger under these names that exists now. `import kit` calls it, and
    so does every kit session. Idempotent.
    """
    wanted = tuple(prefixes)
    existing = list(logging.root.manager.loggerDict)
    for name in (*wanted, *KNOWN_MODULE_LOGGERS, *existing):
        if name in _installed or not _under(name, wanted):
            continue
        logging.getLogger(name).addFilter(_FILTER)
        _installed.add(name)


def _under(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)

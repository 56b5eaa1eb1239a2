"""The sandbox's own controls, from the client's side: its clock and its settings.

Atlassian has no such thing; the sandbox serves them under `/_sandbox/` so that a
notebook can show an expired code or a 91-day-old refresh token in seconds. This
talks to them over HTTP, like any client, and imports nothing of the sandbox, so
it works the same with a sandbox in the kernel or a workshop's shared one.
"""

from __future__ import annotations

from typing import Any

import requests

from kit.config import ClientConfig
from kit.errors import ConfigError, TransportError
from kit.record import History
from kit.transport import new_session

CONTROLS = "/_sandbox"
HEALTH_TIMEOUT = (1.0, 2.0)  # a sandbox answers at once; anything slower is none


class SandboxControls:
    """The clock and settings of the sandbox at `base_url`.

    Moving the clock of a shared sandbox moves it for the whole room; the
    sandbox accepts changes from its own machine only, unless it was started
    with `--allow-remote-admin`.
    """

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        # Not the flow's history: moving the clock is no step of OAuth, and a
        # learner's `HISTORY.last` should stay the last request of the flow.
        self._session = new_session("sandbox", history=History())

    @classmethod
    def of(cls, config: ClientConfig) -> SandboxControls:
        """The controls of the sandbox that `config` points at."""
        if config.hosts.is_atlassian:
            raise ConfigError(
                "The settings point at Atlassian, whose clock cannot be moved. "
                "This step needs the sandbox: unset `ATLASSIAN_CLIENT_ID` or run "
                "the notebook against a sandbox."
            )
        return cls(config.hosts.auth_url)

    def is_up(self) -> bool:
        """Whether `/_sandbox/health` answers 200."""
        try:
            answer = self._session.get(
                f"{self.base_url}{CONTROLS}/health", timeout=HEALTH_TIMEOUT
            )
            return bool(self._read(answer).get("status") == "ok")
        except (ConfigError, TransportError, requests.RequestException):
            return False

    def now(self) -> float:
        """The sandbox's time, in epoch seconds."""
        return float(self._get("clock")["now"])

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, days: float = 0
    ) -> float:
        """Move the sandbox's clock forward; returns its new time."""
        total = seconds + 60 * minutes + 86400 * days
        return float(self._post("clock", {"advance": total})["now"])

    def settings(self) -> dict[str, Any]:
        """The settings in force, such as `code_lifetime` and `profile`."""
        return dict(self._get("settings"))

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings, e.g. `configure(code_lifetime=120)`; returns them all."""
        return dict(self._post("settings", changes))

    def revoke(self, client_id: str) -> dict[str, Any]:
        """Revoke the user's grant of an app, as "Connected apps" would (facts 7.1)."""
        return dict(self._post("revoke", {"client_id": client_id}))

    def close(self) -> None:
        self._session.close()

    def __repr__(self) -> str:
        return f"SandboxControls({self.base_url!r})"

    def _get(self, name: str) -> dict[str, Any]:
        return self._read(self._session.get(f"{self.base_url}{CONTROLS}/{name}"))

    def _post(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = self._session.post(f"{self.base_url}{CONTROLS}/{name}", json=body)
        return self._read(answer)

    def _read(self, answer: requests.Response) -> dict[str, Any]:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if not answer.ok or not isinstance(body, dict):
            said = body.get("error") if isinstance(body, dict) else None
            raise ConfigError(
                f"The sandbox at {self.base_url} refused {answer.request.method} "
                f"{answer.request.path_url} ({answer.status_code}"
                f"{': ' + str(said) if said else ''}). Is this a sandbox, and is "
                "this notebook on its machine?"
            )
        return body

"""What the notebooks stand on: one `Course` with the settings, the sandbox, the tokens.

`start()` finds where to work: your own app when `.env` holds one (live), the
sandbox that `make lab` or a workshop runs (shared), or else a sandbox started in
this kernel. `sign_in` does steps 1 to 5 in one go, with the robot in the
browser's place, so that a later notebook can begin where the earlier one ended.
"""

from __future__ import annotations

import html
import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kit import config as settings
from kit.authorize import AuthorizationRequest, new_authorization_request
from kit.callback import CallbackCatcher
from kit.config import ClientConfig
from kit.confluence import Confluence, accessible_resources, pick_site
from kit.course.robot import Decision, press
from kit.errors import ExchangeRefusedError, KitError, NoSandboxError, hide_in_notebooks
from kit.exchange import exchange_code, refresher
from kit.sandbox_controls import SandboxControls
from kit.scopes import EVERYDAY_SCOPES
from kit.store import DEFAULT_PATH, TokenStore
from kit.tokens import TokenSet

if TYPE_CHECKING:
    from kit.sandbox import Sandbox

logger = logging.getLogger(__name__)

STORE_VARIABLE = "KIT_TOKEN_STORE"  # where the course keeps its token file
COURSE_SCOPES = EVERYDAY_SCOPES
SIGN_IN_TIMEOUT = 30.0

__all__ = ["COURSE_SCOPES", "Course", "start"]


@dataclass
class Course:
    """Where this notebook works: the app, the hosts, the sandbox, the token file.

    `where` says which: `Atlassian` (your app, live), `shared sandbox` (one
    that `make lab` or a workshop runs), `sandbox in this kernel`, or `your app
    on a sandbox` (a workshop's sandbox that registered your app).
    """

    config: ClientConfig
    store: TokenStore
    where: str
    sandbox: Sandbox | None = None
    controls: SandboxControls | None = None
    started: list[Any] = field(default_factory=list, repr=False)

    @property
    def is_sandbox(self) -> bool:
        return self.config.is_sandbox or self.controls is not None

    def now(self) -> float:
        """The course's time: the sandbox's clock, or this computer's when live.

        Notebooks move the sandbox's clock; tokens from `sign_in` are stamped with
        this time, so that their clocks agree with the sandbox after a jump.
        """
        return self.controls.now() if self.controls is not None else time.time()

    def new_request(
        self, scopes: str | tuple[str, ...] = COURSE_SCOPES, **options: Any
    ) -> AuthorizationRequest:
        """A fresh authorization request for this course's app."""
        return new_authorization_request(
            self.config.client_id,
            self.config.redirect_uri,
            scopes,
            auth_url=self.config.hosts.auth_url,
            allow_plain_http=self.is_sandbox,
            **options,
        )

    def sign_in(
        self,
        scopes: str | tuple[str, ...] = COURSE_SCOPES,
        *,
        decision: Decision = "accept",
        site: str | None = None,
    ) -> TokenSet:
        """Steps 1 to 5 at once: authorize, consent (the robot), exchange, save.

        On the sandbox only; in live mode consent is yours to give, in the
        notebook `03-consent-and-callback`.
        """
        __tracebackhide__ = hide_in_notebooks
        if not self.is_sandbox:
            raise ExchangeRefusedError(
                "In live mode you consent yourself: run the cells of "
                "`03-consent-and-callback.ipynb`, which save your tokens."
            )
        request = self.new_request(scopes)
        with CallbackCatcher(
            self.config.redirect_uri, request.state, timeout=SIGN_IN_TIMEOUT
        ) as catcher:
            press(request.url, decision, site=site)
            result = catcher.wait(SIGN_IN_TIMEOUT)
        tokens = exchange_code(self.config, result, request=request, now=self.now)
        self.store.save(tokens)
        return tokens

    def tokens(self) -> TokenSet | None:
        """The saved tokens, or None before the first sign-in."""
        stored = self.store.load()
        return None if stored is None else stored.tokens

    def ensure_signed_in(
        self, scopes: str | tuple[str, ...] = COURSE_SCOPES
    ) -> TokenSet:
        """The saved tokens if they hold `scopes`; otherwise a fresh sign-in."""
        __tracebackhide__ = hide_in_notebooks
        wanted = set(scopes.split() if isinstance(scopes, str) else scopes)
        saved = self.tokens()
        if saved is not None and wanted <= set(saved.scope) and self._accepted(saved):
            return saved
        return self.sign_in(scopes)

    def confluence(self, **options: Any) -> Confluence:
        """Confluence on the course's site, with the saved tokens (refreshed)."""
        __tracebackhide__ = hide_in_notebooks
        refresh = refresher(self.config, now=self.now)
        site = pick_site(accessible_resources(self.config, self.store, refresh=refresh))
        options.setdefault("refresh", refresh)
        return Confluence(self.config, self.store, site.cloud_id, **options)

    def stop(self) -> None:
        """Stop what this course started in the kernel (a sandbox)."""
        if self.controls is not None:
            self.controls.close()
        for thing in reversed(self.started):
            thing.stop()
        self.started.clear()

    def _accepted(self, tokens: TokenSet) -> bool:
        """Whether the server still takes these tokens (a sandbox may restart)."""
        try:
            accessible_resources(self.config, self.store)
        except KitError:  # any refusal means: sign in again
            logger.info("The saved tokens were refused; signing in again.")
            return False
        return not tokens.needs_refresh() or tokens.refresh_token is not None

    def _summary(self) -> list[tuple[str, str]]:
        hosts = self.config.hosts
        return [
            ("Mode", f"{self.config.mode}: {self.where}"),
            ("App", self.config.client_id),
            ("Callback URL", self.config.redirect_uri),
            ("Auth host", hosts.auth_url),
            ("API host", hosts.api_url),
            ("Token file", str(self.store.path)),
        ]

    def __repr__(self) -> str:
        rows = ", ".join(f"{name}={value!r}" for name, value in self._summary())
        return f"Course({rows})"

    def _repr_html_(self) -> str:
        cells = "".join(
            f"<tr><th style='text-align:left'>{html.escape(k)}</th>"
            f"<td style='text-align:left'><code>{html.escape(v)}</code></td></tr>"
            for k, v in self._summary()
        )
        return f"<table class='kit-course'>{cells}</table>"


def start(
    *, store: str | os.PathLike[str] | None = None, private: bool = False
) -> Course:
    """The course's place to work, found as the module's docstring says.

    `private=True` always starts a sandbox in this kernel, for notebooks that
    move the sandbox's clock or change its settings: on a shared sandbox that
    would change time for every notebook, or for a whole workshop room.
    """
    if private:
        return _in_kernel(store)
    try:
        config = settings.load()
    except NoSandboxError:
        return _in_kernel(store)
    if config.hosts.is_atlassian:
        where, controls = "Atlassian", None
    else:
        where = "shared sandbox" if config.is_sandbox else "your app on a sandbox"
        controls = SandboxControls(config.hosts.auth_url)
    if controls is not None and not controls.is_up():
        raise NoSandboxError(
            f"No sandbox answers at {config.hosts.auth_url}, which "
            "`ATLASSIAN_AUTH_URL` names. Start it (`make sandbox`), or unset the "
            "variable to start one in this kernel."
        )
    return Course(config, TokenStore(store or _project_store()), where, None, controls)


def _in_kernel(store: str | os.PathLike[str] | None) -> Course:
    from kit.sandbox import Sandbox  # noqa: PLC0415 - only when none is running

    sandbox = Sandbox().start()
    # The sandbox's own app, whatever `.env` or the environment name: a private
    # sandbox knows no other.
    config = settings.load(env_file=None, environ={}, sandbox_url=sandbox.url)
    # Its tokens die with it, so they get a file of their own, not the project's.
    path = store or Path(tempfile.mkdtemp(prefix="kit-course-")) / DEFAULT_PATH.name
    course = Course(
        config,
        TokenStore(path),
        "sandbox in this kernel",
        sandbox,
        SandboxControls(sandbox.url),
    )
    course.started.append(sandbox)
    return course


def _project_store() -> Path:
    """`KIT_TOKEN_STORE`, or `.tokens/` at the top of the project, or here."""
    named = os.environ.get(STORE_VARIABLE, "").strip()
    if named:
        return Path(named)
    here = Path.cwd()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "kit").is_dir():
            return folder / DEFAULT_PATH
    return here / DEFAULT_PATH

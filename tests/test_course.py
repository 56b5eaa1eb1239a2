"""kit.course: where the notebooks work, the robot in the browser's place, and the
setup check's lines (by name only for `.env`, each failure with its fix).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from sandbox_driver import Flow

import kit.course
import kit.hub
from kit.callback import CallbackCatcher
from kit.config import SANDBOX_REDIRECT_URI
from kit.course import COURSE_SCOPES, Course, start
from kit.course.robot import press
from kit.course.setup_check import Line, check_setup
from kit.errors import AccessDeniedError, AuthorizationError, ExchangeRefusedError
from kit.sandbox import App

SECRET = "CANARY-CLIENT-SECRET-0123456789abcdef"


@pytest.fixture
def in_kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Course]:
    monkeypatch.chdir(tmp_path)
    course = start()
    yield course
    course.stop()


def test_without_settings_a_sandbox_starts_in_the_kernel(in_kernel: Course) -> None:
    assert in_kernel.where == "sandbox in this kernel"
    assert in_kernel.sandbox is not None
    assert in_kernel.controls is not None and in_kernel.controls.is_up()
    assert in_kernel.config.hosts.auth_url == in_kernel.sandbox.url


def test_a_shared_sandbox_named_by_the_environment_is_used(
    atlassian_flow: Flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", atlassian_flow.url)
    monkeypatch.setenv("ATLASSIAN_API_URL", atlassian_flow.url)
    monkeypatch.setenv("KIT_TOKEN_STORE", str(tmp_path / "t.json"))
    monkeypatch.chdir(tmp_path)

    course = start()

    assert course.where == "shared sandbox"
    assert course.sandbox is None
    assert course.store.path == tmp_path / "t.json"


def test_a_named_sandbox_that_does_not_answer_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ATLASSIAN_API_URL", "http://127.0.0.1:9")
    monkeypatch.chdir(tmp_path)

    with pytest.raises(kit.errors.NoSandboxError, match="make sandbox"):
        start()


def test_the_project_store_is_at_the_top_of_the_project(
    atlassian_flow: Flow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = tmp_path / "project"
    (project / "kit").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    (project / "notebooks").mkdir()
    monkeypatch.chdir(project / "notebooks")
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", atlassian_flow.url)
    monkeypatch.setenv("ATLASSIAN_API_URL", atlassian_flow.url)

    course = start()

    assert course.store.path == project / ".tokens" / "atlassian.token.json"


def test_sign_in_saves_tokens_that_reach_confluence(in_kernel: Course) -> None:
    tokens = in_kernel.sign_in()

    saved = in_kernel.tokens()
    assert saved is not None and saved.access_token == tokens.access_token
    assert set(COURSE_SCOPES) <= set(tokens.scope)
    with in_kernel.confluence() as confluence:
        assert list(confluence.spaces())


def test_ensure_signed_in_reuses_good_tokens_and_renews_narrow_ones(
    in_kernel: Course,
) -> None:
    first = in_kernel.sign_in("read:me offline_access")

    same = in_kernel.ensure_signed_in("read:me")
    wider = in_kernel.ensure_signed_in(COURSE_SCOPES)

    assert same.access_token == first.access_token
    assert wider.access_token != first.access_token


def test_a_cancel_through_the_robot_is_a_declined_consent(in_kernel: Course) -> None:
    with pytest.raises(AccessDeniedError):
        in_kernel.sign_in(decision="cancel")


def test_live_mode_has_no_robot(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATLASSIAN_CLIENT_ID", "pinecone-reader-live")
    monkeypatch.setenv("ATLASSIAN_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("ATLASSIAN_REDIRECT_URI", "http://localhost:8765/callback")

    course = start()

    assert course.where == "Atlassian"
    with pytest.raises(ExchangeRefusedError, match="03-consent-and-callback"):
        course.sign_in()
    with pytest.raises(ExchangeRefusedError, match="sandbox only"):
        press(course.new_request().url)


def test_the_robot_lands_on_the_catcher_and_masks_what_it_returns(
    atlassian_flow: Flow,
) -> None:
    url = (
        atlassian_flow.url
        + "/authorize?"
        + "&".join(f"{k}={v}" for k, v in atlassian_flow.authorize_params().items())
    )
    state = atlassian_flow.authorize_params()["state"]

    with CallbackCatcher(SANDBOX_REDIRECT_URI, state, timeout=10) as catcher:
        landing = press(url.replace(" ", "%20"), site="pinecone-labs")
        result = catcher.wait(5)

    assert landing.status == 200
    assert result.code not in landing.url
    assert state not in landing.url
    assert landing.site == "3f9b2c1e-7a4d-4e8b-9c61-2d5e8f0a1b73"


def test_the_robot_takes_a_proxied_callback_straight_to_the_catcher(
    atlassian_flow: Flow,
) -> None:
    proxied = "https://hub.example.org/user/ada/proxy/0/callback"
    state = "state-of-the-hub-0123456789abcdef"

    with CallbackCatcher(proxied, state, timeout=10) as catcher:
        app = App(
            client_id="hub-robot",
            client_secret="hub-robot-secret",
            name="Hub robot",
            redirect_uris=(catcher.url,),
            scopes=frozenset({"read:me"}),
        )
        atlassian_flow.sandbox.register_app(app)
        params = atlassian_flow.authorize_params(
            client_id=app.client_id,
            redirect_uri=catcher.url,
            scope="read:me",
            state=state,
        )
        landing = press(f"{atlassian_flow.url}/authorize?{urlencode(params)}")
        result = catcher.wait(5)

    assert landing.status == 200
    assert landing.url.startswith(catcher.url + "?")
    assert result.redirect_uri == catcher.url


def test_an_error_page_comes_back_in_the_sandboxs_words(atlassian_flow: Flow) -> None:
    url = f"{atlassian_flow.url}/authorize?client_id=nobody&response_type=code"

    with pytest.raises(AuthorizationError, match=r"kit\.diagnose"):
        press(url)


def test_the_setup_check_passes_here(in_kernel: Course) -> None:
    report = check_setup(in_kernel)

    assert report.ok, str(report)
    items = [line.item for line in report.lines]
    assert items[:2] == ["Python", "jupyterlab"]
    assert {"Mode", "Sandbox", "Callback port", "Token file"} <= set(items)


def test_a_half_filled_env_fails_with_the_fix_and_no_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(f"ATLASSIAN_CLIENT_SECRET={SECRET}\n")

    report = check_setup()

    env = next(line for line in report.lines if line.item == ".env")
    assert not env.ok
    assert "ATLASSIAN_CLIENT_ID" in env.found
    assert "cp .env.example .env" in env.fix
    assert SECRET not in str(report) + report._repr_html_()


def test_a_taken_callback_port_fails_with_the_fix(in_kernel: Course) -> None:
    with CallbackCatcher(SANDBOX_REDIRECT_URI, "state-taken-0123456789abcdef"):
        report = check_setup(in_kernel)

    port = next(line for line in report.lines if line.item == "Callback port")
    assert not port.ok
    assert "stop" in port.fix


def test_a_missing_package_names_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        kit.course.setup_check, "PACKAGES", ("a-package-that-is-not-there",)
    )

    report = check_setup()

    line = next(x for x in report.lines if x.item == "a-package-that-is-not-there")
    assert not line.ok
    assert "make lab" in line.fix
    assert "✗" in report._repr_html_()


def test_a_course_displays_its_place_without_secrets(in_kernel: Course) -> None:
    shown = repr(in_kernel) + in_kernel._repr_html_()

    assert "sandbox in this kernel" in shown
    assert in_kernel.config.client_secret.reveal() not in shown


def test_a_private_course_starts_its_own_sandbox_even_beside_a_shared_one(
    atlassian_flow: Flow, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATLASSIAN_AUTH_URL", atlassian_flow.url)
    monkeypatch.setenv("ATLASSIAN_API_URL", atlassian_flow.url)

    course = start(private=True)
    try:
        assert course.where == "sandbox in this kernel"
        assert course.config.hosts.auth_url != atlassian_flow.url
    finally:
        course.stop()


def test_an_unadded_scope_comes_back_in_the_pages_words_and_the_doctor_reads_them(
    in_kernel: Course,
) -> None:
    request = in_kernel.new_request("delete:page:confluence")

    with pytest.raises(AuthorizationError) as caught:
        press(request.url)

    assert "font-family" not in str(caught.value)
    assert "have not been added" in str(caught.value)
    diagnosis = kit.diagnose(caught.value)
    assert diagnosis.step == "authorize"
    assert "not added" in diagnosis.what


def test_a_private_course_uses_the_sandboxs_app_even_when_env_names_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATLASSIAN_CLIENT_ID", "pinecone-reader-live")
    monkeypatch.setenv("ATLASSIAN_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("ATLASSIAN_REDIRECT_URI", "http://localhost:8765/callback")

    course = start(private=True)
    try:
        assert course.config.is_sandbox
        assert course.sandbox is not None
        assert course.config.hosts.auth_url == course.sandbox.url
        assert course.sign_in("read:me").access_token
    finally:
        course.stop()


# The setup check on a hub ------------------------------------------------------

HUB = {
    "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/",
    "JUPYTERHUB_PUBLIC_URL": "https://hub.example.org/",
}
PROXIED = "https://hub.example.org/user/ada/proxy/8765/callback"


def on_a_hub(monkeypatch: pytest.MonkeyPatch, **more: str) -> None:
    for name, value in {**HUB, **more}.items():
        monkeypatch.setenv(name, value)


def live_course(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redirect_uri: str
) -> Course:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ATLASSIAN_CLIENT_ID", "pinecone-reader-live")
    monkeypatch.setenv("ATLASSIAN_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("ATLASSIAN_REDIRECT_URI", redirect_uri)
    return start()


def line_of(course: Course, item: str) -> Line:
    return next(line for line in check_setup(course).lines if line.item == item)


def test_on_your_own_machine_the_setup_check_says_nothing_of_a_hub(
    in_kernel: Course,
) -> None:
    items = [line.item for line in check_setup(in_kernel).lines]

    assert "Browser and kernel" not in items


def test_on_a_hub_the_sandbox_is_left_to_the_robot_and_the_check_passes(
    in_kernel: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_hub(monkeypatch)

    report = check_setup(in_kernel)

    line = next(x for x in report.lines if x.item == "Browser and kernel")
    assert report.ok, str(report)
    assert "on JupyterHub, your browser cannot reach this kernel's 127.0.0.1" in str(
        line
    )
    assert "the robot plays the browser" in line.found
    assert "Play the browser" in line.found


def test_on_a_hub_a_loopback_callback_fails_with_the_exact_url_to_register(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    on_a_hub(monkeypatch)
    course = live_course(monkeypatch, tmp_path, "http://localhost:8765/callback")

    line = line_of(course, "Browser and kernel")

    assert not line.ok
    assert f"register {PROXIED} as the app's callback URL" in line.fix
    assert "set ATLASSIAN_REDIRECT_URI to it" in line.fix
    assert "(jupyter-server-proxy: installed)" in line.fix
    assert "kit.parse_redirected_url" in line.fix


def test_on_binder_without_a_public_url_the_fix_says_to_set_kit_public_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", "/user/org-repo-x1/")
    monkeypatch.setenv("BINDER_LAUNCH_HOST", "https://mybinder.org/")
    course = live_course(monkeypatch, tmp_path, "http://127.0.0.1:8765/callback")

    line = line_of(course, "Browser and kernel")

    assert not line.ok
    assert line.found.startswith("on Binder, ")
    assert "%env KIT_PUBLIC_URL=https://<host>/user/org-repo-x1/" in line.fix
    assert "kit.parse_redirected_url" in line.fix


def test_on_a_hub_the_proxied_callback_passes_and_its_port_is_checked(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    on_a_hub(monkeypatch)
    course = live_course(monkeypatch, tmp_path, PROXIED)

    browser = line_of(course, "Browser and kernel")
    port = line_of(course, "Callback port")

    assert browser.ok, str(browser)
    assert f"goes through jupyter-server-proxy at {PROXIED}" in browser.found
    assert "8765" in port.found


def test_a_proxied_callback_of_another_server_fails_naming_this_ones(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    on_a_hub(monkeypatch)
    other = "https://hub.example.org/user/bob/proxy/8765/callback"
    course = live_course(monkeypatch, tmp_path, other)

    line = line_of(course, "Browser and kernel")

    assert not line.ok
    assert "this server is at https://hub.example.org/user/ada/" in line.found
    assert f"register {PROXIED}" in line.fix


def test_a_proxied_callback_without_jupyter_server_proxy_fails_with_the_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    on_a_hub(monkeypatch)
    monkeypatch.setattr(kit.hub, "PROXY_MODULE", "a_module_that_is_not_there")
    course = live_course(monkeypatch, tmp_path, PROXIED)

    line = line_of(course, "Browser and kernel")

    assert not line.ok
    assert "jupyter-server-proxy is missing" in line.found
    assert "pip install jupyter-server-proxy" in line.fix


def test_a_plain_http_hub_is_told_that_atlassian_needs_https(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    on_a_hub(monkeypatch, JUPYTERHUB_PUBLIC_URL="http://10.0.0.5:8000/")
    course = live_course(monkeypatch, tmp_path, "http://127.0.0.1:8765/callback")

    line = line_of(course, "Browser and kernel")

    assert not line.ok
    assert "must be https" in line.fix


def test_an_unreadable_kit_public_url_fails_its_line_with_the_fix(
    in_kernel: Course, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_a_hub(monkeypatch, KIT_PUBLIC_URL="hub.example.org/user/ada/")

    line = line_of(in_kernel, "Browser and kernel")

    assert not line.ok
    assert "address bar" in line.fix

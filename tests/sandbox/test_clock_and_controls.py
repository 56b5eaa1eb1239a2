"""The sandbox's clock and its `/_sandbox/...` controls: health, clock, settings,
and revoking the app as Connected apps would (security case 59).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_driver import START_TIME, Flow, advance_clock, started_flow

from kit.sandbox import PROFILES, SANDBOX_CLIENT_ID, Clock, Sandbox, Settings
from kit.sandbox import app as sandbox_app
from kit.sandbox.http import Request

RESOURCES = "/oauth/token/accessible-resources"
REMOTE = "203.0.113.7"  # TEST-NET-3: an address that is surely not this machine


@pytest.fixture(scope="module")
def sandboxes() -> Iterator[dict[str, Flow]]:
    """One sandbox per profile for the whole module; tests move only forward."""
    with started_flow("atlassian") as atlassian, started_flow("rfc") as rfc:
        yield {"atlassian": atlassian, "rfc": rfc}


@pytest.fixture(autouse=True)
def _settings_restored(sandboxes: dict[str, Flow]) -> Iterator[None]:
    """A test may change settings; the next one starts from the profile's own."""
    yield
    for profile, flow in sandboxes.items():
        flow.sandbox.ctx.settings = Settings.for_profile(profile)


@pytest.fixture
def shared(sandboxes: dict[str, Flow]) -> Flow:
    """The module's atlassian sandbox, for tests the profile does not change."""
    return sandboxes["atlassian"]


@pytest.fixture(params=PROFILES)
def flow(request: pytest.FixtureRequest, sandboxes: dict[str, Flow]) -> Flow:
    """The module's sandbox of each profile in turn (instead of a fresh one)."""
    return sandboxes[str(request.param)]


@pytest.fixture
def sandbox(flow: Flow) -> Sandbox:
    """The sandbox behind `flow`: shared by the module, like `flow`."""
    return flow.sandbox


def post_control(flow: Flow, name: str, body: Any, **headers: str) -> requests.Response:
    return flow.http.post(f"{flow.url}/_sandbox/{name}", json=body, headers=headers)


def get_control(flow: Flow, name: str) -> requests.Response:
    return flow.http.get(f"{flow.url}/_sandbox/{name}")


def handle_from(
    sandbox: Sandbox, host: str, method: str, name: str, body: Any
) -> tuple[int, dict[str, Any]]:
    """Call the sandbox's handler as if the request came from `host`."""
    request = Request(
        method=method,
        path=f"/_sandbox/{name}",
        headers={"content-type": "application/json"},
        body=json.dumps(body).encode(),
        client_host=host,
    )
    response = sandbox_app.handle(request, sandbox.ctx)
    return response.status, response.json()


# --- Clock --------------------------------------------------------------------


def test_a_frozen_clock_stands_still_until_advanced() -> None:
    clock = Clock(frozen_at=START_TIME)

    first, second = clock.now(), clock.now()
    moved = clock.advance(minutes=11)

    assert first == second == START_TIME
    assert moved == clock.now() == START_TIME + 660
    assert clock.frozen
    assert clock.offset == 660


def test_a_running_clock_follows_real_time_plus_its_offset() -> None:
    clock = Clock()

    clock.advance(hours=1)
    now = clock.now()

    assert not clock.frozen
    assert abs(now - (time.time() + 3600)) < 5


def test_advance_adds_seconds_minutes_hours_and_days_together() -> None:
    clock = Clock(frozen_at=START_TIME)

    clock.advance(1, minutes=2, hours=3, days=4)

    assert clock.offset == 1 + 2 * 60 + 3 * 3600 + 4 * 86400


def test_a_clock_shows_its_kind_its_time_and_how_far_it_moved() -> None:
    clock = Clock(frozen_at=START_TIME)

    clock.advance(minutes=11)

    assert repr(clock) == "<Clock frozen at 2027-01-15T08:11:00+00:00, advanced 660 s>"


@pytest.mark.parametrize("step", [-1, -0.001, math.nan, math.inf, -math.inf])
def test_the_clock_refuses_to_go_back_or_to_infinity(step: float) -> None:
    clock = Clock(frozen_at=START_TIME)

    with pytest.raises(ValueError, match=r"only moves forward.*advance\(minutes=11\)"):
        clock.advance(step)

    assert clock.now() == START_TIME


def test_get_clock_reports_now_its_iso_form_the_offset_and_frozen(shared: Flow) -> None:
    answer = get_control(shared, "clock")

    body = answer.json()
    assert answer.status_code == 200
    assert body["now"] == shared.sandbox.clock.now()
    assert body["offset_seconds"] == shared.sandbox.clock.offset
    assert body["frozen"] is True
    assert body["iso"].endswith("+00:00")
    assert answer.headers["cache-control"] == "no-store"


def test_post_clock_moves_time_so_that_an_access_token_expires(flow: Flow) -> None:
    access_token = flow.tokens()["access_token"]

    started = flow.sandbox.clock.now()

    before = flow.api(RESOURCES, access_token).status_code
    now = advance_clock(flow, 3600)
    after = flow.api(RESOURCES, access_token).status_code

    assert (before, after) == (200, 401)
    assert now == started + 3600


@pytest.mark.parametrize(
    "body",
    [
        '{"advance": -1}',
        '{"advance": "60"}',
        '{"advance": true}',
        '{"advance": null}',
        '{"advance": Infinity}',
        '{"advance": NaN}',
        '{"minutes": 11}',
        '{"advance": 60, "days": 1}',
        "[60]",
        "sixty",
    ],
)
def test_post_clock_refuses_anything_but_a_finite_step_forward(
    shared: Flow, body: str
) -> None:
    before = shared.sandbox.clock.now()

    answer = shared.http.post(
        f"{shared.url}/_sandbox/clock",
        data=body,
        headers={"content-type": "application/json"},
    )

    assert answer.status_code == 400
    assert '{"advance": ' in answer.json()["error"]
    assert shared.sandbox.clock.now() == before


# --- Settings -----------------------------------------------------------------


def test_get_settings_lists_every_setting_of_the_profile(sandbox: Sandbox) -> None:
    answer = requests.get(f"{sandbox.url}/_sandbox/settings", timeout=10)

    profile = sandbox.settings.profile
    assert answer.status_code == 200
    assert answer.json() == Settings.for_profile(profile).as_dict()


def test_post_settings_changes_the_named_settings_and_answers_them_all(
    flow: Flow,
) -> None:
    answer = post_control(flow, "settings", {"code_lifetime": 120, "pkce": "enforce"})

    assert answer.status_code == 200
    assert answer.json()["code_lifetime"] == 120
    assert flow.sandbox.settings.code_lifetime == 120
    assert flow.sandbox.settings.pkce == "enforce"


def test_a_changed_code_lifetime_applies_to_the_next_code(flow: Flow) -> None:
    post_control(flow, "settings", {"code_lifetime": 120})
    code = flow.code()

    advance_clock(flow, 120)
    answer = flow.exchange(code)

    assert answer.status_code == 400


def test_post_settings_refuses_an_unknown_name_and_suggests_the_closest(
    shared: Flow,
) -> None:
    before = shared.sandbox.settings

    answer = post_control(shared, "settings", {"code_lifetim": 120})

    message = answer.json()["error"]
    assert answer.status_code == 400
    assert "code_lifetim." in message
    assert "did you mean `code_lifetime`?" in message
    assert shared.sandbox.settings == before


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("require_audience", "yes", "true or false"),
        ("revoke_on_code_reuse", 1, "true or false"),
        ("code_lifetime", "600", "a number of seconds"),
        ("code_lifetime", True, "a number of seconds"),
        ("code_lifetime", -5, "from 0 to 100 years"),
        ("rate_limit_per_minute", 1.5, "a whole number or null"),
        ("rate_limit_per_minute", 0, "1 or more"),
        ("failed_auth_limit_per_minute", None, "a whole number"),
        ("pkce", "S256", "one of `ignore`, `enforce`"),
        ("bad_code_style", "old", "one of `modern`, `legacy`"),
    ],
)
def test_post_settings_refuses_a_wrong_value_naming_the_setting_and_a_fix(
    shared: Flow, name: str, value: Any, expected: str
) -> None:
    before = shared.sandbox.settings

    answer = post_control(shared, "settings", {name: value})

    message = answer.json()["error"]
    assert answer.status_code == 400
    assert message.startswith(f"`{name}` must be {expected}")
    assert f'For example: {{"{name}": ' in message
    assert shared.sandbox.settings == before


def test_post_settings_refuses_to_change_the_profile(shared: Flow) -> None:
    answer = post_control(shared, "settings", {"profile": "rfc"})

    assert answer.status_code == 400
    assert "--profile" in answer.json()["error"]
    assert shared.sandbox.settings.profile == "atlassian"


def test_post_settings_refuses_a_body_that_is_not_an_object(shared: Flow) -> None:
    answer = post_control(shared, "settings", ["code_lifetime", 120])

    assert answer.status_code == 400
    assert '{"code_lifetime": 120}' in answer.json()["error"]


def test_settings_built_in_python_are_type_checked_too() -> None:
    with pytest.raises(ValueError, match="`require_audience` must be true or false"):
        Settings(require_audience="yes")  # type: ignore[arg-type]

    with pytest.raises(ValueError, match="did you mean `code_lifetime`"):
        Settings().with_changes(code_lifetim=120)


def test_configure_refuses_a_wrong_type_and_keeps_the_settings(
    sandbox: Sandbox,
) -> None:
    before = sandbox.settings

    with pytest.raises(ValueError, match="`code_lifetime` must be a number"):
        sandbox.configure(code_lifetime="ten minutes")

    assert sandbox.settings == before


# --- Health, routing and who may change things -------------------------------


def test_health_reports_the_profile_and_the_issuer(sandbox: Sandbox) -> None:
    answer = requests.get(f"{sandbox.url}/_sandbox/health", timeout=10)

    assert answer.status_code == 200
    assert answer.json() == {
        "status": "ok",
        "profile": sandbox.settings.profile,
        "issuer": sandbox.url,
    }


def test_head_on_a_control_answers_without_a_body(shared: Flow) -> None:
    answer = shared.http.head(f"{shared.url}/_sandbox/health")

    assert answer.status_code == 200
    assert answer.content == b""


@pytest.mark.parametrize(
    ("method", "name", "status", "allow"),
    [
        ("GET", "nothing-here", 404, None),
        ("PUT", "clock", 405, "GET, HEAD, POST"),
        ("DELETE", "settings", 405, "GET, HEAD, POST"),
        ("GET", "revoke", 405, "POST"),
        ("POST", "health", 405, "GET, HEAD"),
    ],
)
def test_unknown_controls_and_wrong_methods_are_refused(
    shared: Flow, method: str, name: str, status: int, allow: str | None
) -> None:
    answer = shared.http.request(method, f"{shared.url}/_sandbox/{name}", json={})

    assert answer.status_code == status
    assert answer.headers.get("allow") == allow
    assert "error" in answer.json()


def test_changes_from_another_machine_are_refused_by_default(
    sandbox: Sandbox,
) -> None:
    before = sandbox.clock.now()

    status, body = handle_from(sandbox, REMOTE, "POST", "clock", {"advance": 60})
    read_status, _ = handle_from(sandbox, REMOTE, "GET", "clock", None)

    assert status == 403
    assert "--allow-remote-admin" in body["error"]
    assert read_status == 200
    assert sandbox.clock.now() == before


def test_changes_from_another_machine_are_accepted_when_allowed() -> None:
    clock = Clock(frozen_at=START_TIME)
    sandbox = Sandbox("atlassian", clock=clock, allow_remote_admin=True)

    status, body = handle_from(sandbox, REMOTE, "POST", "clock", {"advance": 60})

    assert status == 200
    assert body["now"] == START_TIME + 60


def test_a_learner_behind_a_local_proxy_counts_as_another_machine(
    shared: Flow,
) -> None:
    before = shared.sandbox.clock.now()

    answer = post_control(
        shared, "clock", {"advance": 60}, **{"X-Forwarded-For": REMOTE}
    )

    assert answer.status_code == 403
    assert shared.sandbox.clock.now() == before


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://attacker.example"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_changes_sent_by_a_page_of_another_site_are_refused(
    shared: Flow, headers: dict[str, str]
) -> None:
    before = shared.sandbox.clock.now()

    answer = post_control(shared, "clock", {"advance": 60}, **headers)

    assert answer.status_code == 403
    assert "another site" in answer.json()["error"]
    assert shared.sandbox.clock.now() == before


def test_changes_must_be_sent_as_json(shared: Flow) -> None:
    before = shared.sandbox.clock.now()

    # A form post is what a cross-site page can send without a CORS preflight.
    answer = shared.http.post(f"{shared.url}/_sandbox/clock", data={"advance": "60"})

    assert answer.status_code == 415
    assert "Content-Type: application/json" in answer.json()["error"]
    assert shared.sandbox.clock.now() == before


# --- Revoking the app (security case 59) --------------------------------------


def refresh_refused(flow: Flow, answer: requests.Response) -> bool:
    """Whether a refresh got the profile's answer to a dead refresh token."""
    status = 403 if flow.sandbox.settings.profile == "atlassian" else 400
    return (answer.status_code, answer.json().get("error")) == (status, "invalid_grant")


def test_revoking_the_app_kills_every_token_of_the_grant(flow: Flow) -> None:
    first, second = flow.tokens(), flow.tokens()
    no_refresh = flow.tokens(scope="read:me")
    rotated = flow.refresh(second["refresh_token"]).json()
    pending_code = flow.code()

    answer = post_control(flow, "revoke", {"client_id": SANDBOX_CLIENT_ID})

    assert answer.json() == {"revoked": True}
    access_tokens = [t["access_token"] for t in (first, second, no_refresh, rotated)]
    assert {flow.api(RESOURCES, token).status_code for token in access_tokens} == {401}
    assert flow.api("/me", no_refresh["access_token"]).status_code == 401
    for refresh_token in (first["refresh_token"], rotated["refresh_token"]):
        assert refresh_refused(flow, flow.refresh(refresh_token))
    assert flow.exchange(pending_code).status_code == 400


def test_after_a_revocation_a_new_consent_gives_working_tokens(flow: Flow) -> None:
    old = flow.tokens()
    post_control(flow, "revoke", {"client_id": SANDBOX_CLIENT_ID})

    new = flow.tokens()

    assert flow.api(RESOURCES, new["access_token"]).status_code == 200
    assert flow.refresh(new["refresh_token"]).status_code == 200
    assert flow.api(RESOURCES, old["access_token"]).status_code == 401


def test_revoking_an_app_the_user_never_granted_answers_false(shared: Flow) -> None:
    answer = post_control(shared, "revoke", {"client_id": "no-such-app"})

    assert answer.status_code == 200
    assert answer.json() == {"revoked": False}


@pytest.mark.parametrize("body", [{}, {"client_id": 42}, ["client_id"]])
def test_revoke_without_a_client_id_is_refused(shared: Flow, body: Any) -> None:
    answer = post_control(shared, "revoke", body)

    assert answer.status_code == 400
    assert '{"client_id": "..."}' in answer.json()["error"]

"""What the sandbox's store keeps, security case 76, and what its sweep forgets.

After a whole flow no code, token, secret or state is left in the store, only keyed
hashes; used codes stay as consumed records; the frozen clock shows the sweep keeping
each record exactly as long as it can matter, so that memory stays bounded.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_driver import (
    START_TIME,
    Flow,
    advance_clock,
    redirect_params,
    started_flow,
)

from kit.sandbox import PROFILES, SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET
from kit.sandbox.authorize import s256
from kit.sandbox.scenario import sandbox_app
from kit.sandbox.store import (
    SWEEP_MIN_SIZE,
    CodeRecord,
    PendingConsent,
    Retention,
    Store,
)

DAY = 86400
HOUR = 3600
RESOURCES = "/oauth/token/accessible-resources"
HMAC_HEX = re.compile(r"^[0-9a-f]{64}$")


def every_value(thing: Any) -> Iterator[Any]:
    """Every value reachable from `thing`: attributes, fields, keys and items."""
    seen: set[int] = set()
    stack = [thing]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset) or hasattr(
            item, "maxlen"
        ):
            stack.extend(item)
        elif dataclasses.is_dataclass(item) or hasattr(item, "__dict__"):
            stack.extend(vars(item).values())


def stored_text(store: Store) -> list[str]:
    """Every string and byte string the store holds, anywhere in its records."""
    with store.lock:
        values = list(every_value(store))
    return [
        v.decode("latin-1") if isinstance(v, bytes) else v
        for v in values
        if isinstance(v, str | bytes)
    ]


def full_flow(flow: Flow, state: str, verifier: str) -> dict[str, str]:
    """Authorize (with PKCE), exchange, refresh, call the API, fail one login.

    Returns every secret value the flow saw, by name.
    """
    challenge = {"code_challenge": s256(verifier), "code_challenge_method": "S256"}
    code = flow.code(state=state, **challenge)
    tokens = flow.exchange(code, code_verifier=verifier).json()
    refreshed = flow.refresh(tokens["refresh_token"]).json()
    assert flow.api(RESOURCES, refreshed["access_token"]).status_code == 200
    wrong_secret = "wrong-" + secrets.token_urlsafe(16)
    assert flow.refresh(tokens["refresh_token"], client_secret=wrong_secret).ok is False
    return {
        "code": code,
        "state": state,
        "code_verifier": verifier,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "wrong_secret": wrong_secret,
        "access_token": tokens["access_token"],
        "refresh_token": tokens["refresh_token"],
        "new_access_token": refreshed["access_token"],
        "new_refresh_token": refreshed["refresh_token"],
    }


@pytest.fixture(scope="module", params=PROFILES)
def inspected(request: pytest.FixtureRequest) -> Iterator[tuple[Flow, dict[str, str]]]:
    """A whole flow in a sandbox of each profile, and the secret values it used.

    The tests that only look share it; those that move the clock start their own.
    """
    with started_flow(str(request.param)) as flow:
        state = "state-" + secrets.token_urlsafe(16)
        yield flow, full_flow(flow, state, "v" * 43)


def test_after_a_full_flow_no_secret_value_is_left_in_the_store(
    inspected: tuple[Flow, dict[str, str]],
) -> None:
    flow, flow_values = inspected
    store = flow.sandbox.ctx.store

    text = stored_text(store)

    # The walk reaches the records: their hashes are there, the values are not.
    assert store.digest(flow_values["new_refresh_token"]) in text
    for name, value in flow_values.items():
        leaks = [t for t in text if value in t]
        assert leaks == [], f"{name} is stored in the clear"
    assert not [t for t in text if t.startswith("eyJ")], "a JWT is stored"


def test_codes_and_tokens_are_stored_under_keyed_hashes_only(
    inspected: tuple[Flow, dict[str, str]],
) -> None:
    flow, flow_values = inspected
    store = flow.sandbox.ctx.store

    where = {
        "code": store.codes,
        "access_token": store.access,
        "new_access_token": store.access,
        "refresh_token": store.refresh,
        "new_refresh_token": store.refresh,
    }

    for name, records in where.items():
        value = flow_values[name]
        assert store.digest(value) in records, name
        assert hashlib.sha256(value.encode()).hexdigest() not in records, name
    every_key = [*store.codes, *store.access, *store.refresh]
    assert all(HMAC_HEX.match(key) for key in every_key)


def test_each_sandbox_hashes_under_a_key_of_its_own() -> None:
    first, second = Store(), Store()

    assert first.digest("same-code") != second.digest("same-code")


def test_client_secrets_are_kept_only_as_hashes(
    inspected: tuple[Flow, dict[str, str]],
) -> None:
    flow, _ = inspected
    store = flow.sandbox.ctx.store

    app = store.apps[SANDBOX_CLIENT_ID]

    assert app.client_secret == ""
    assert store.secret_digests[SANDBOX_CLIENT_ID] == store.digest(
        SANDBOX_CLIENT_SECRET
    )
    assert store.check_secret(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET)
    assert not store.check_secret(SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET + "x")
    assert not store.check_secret("no-such-app", "")


def test_an_app_never_shows_its_client_secret_in_repr() -> None:
    app = sandbox_app()

    shown = repr(app)

    assert app.client_secret == SANDBOX_CLIENT_SECRET
    assert SANDBOX_CLIENT_SECRET not in shown
    assert SANDBOX_CLIENT_ID in shown


def test_a_used_code_stays_as_a_consumed_record_of_what_it_issued(
    inspected: tuple[Flow, dict[str, str]],
) -> None:
    flow, _ = inspected
    store = flow.sandbox.ctx.store
    code = flow.code()

    tokens = flow.exchange(code).json()

    record = store.codes[store.digest(code)]
    assert record.consumed_at == START_TIME
    assert record.issued_token_hashes == [
        store.digest(tokens["access_token"]),
        store.digest(tokens["refresh_token"]),
    ]
    assert (
        record.family_id
        == store.refresh[store.digest(tokens["refresh_token"])].family_id
    )


def test_a_pending_consent_hides_its_state_from_repr(
    inspected: tuple[Flow, dict[str, str]],
) -> None:
    flow, _ = inspected
    state = "state-" + secrets.token_urlsafe(16)

    flow.authorize(state=state)

    consents = list(flow.sandbox.ctx.store.consents.values())
    assert consents
    assert all(state not in repr(consent) for consent in consents)
    assert all(consent.state == state for consent in consents)


# --- The sweep ------------------------------------------------------------------


def test_a_late_reuse_of_a_code_still_revokes_what_it_issued(rfc_flow: Flow) -> None:
    code = rfc_flow.code()
    tokens = rfc_flow.exchange(code).json()
    advance_clock(rfc_flow, DAY)  # long past the code's life, and a sweep

    answer = rfc_flow.exchange(code)

    assert answer.json()["error_description"] == "the code was already used"
    assert rfc_flow.refresh(tokens["refresh_token"]).status_code == 400


def test_a_code_whose_tokens_are_gone_is_forgotten_after_a_margin(
    flow: Flow,
) -> None:
    store = flow.sandbox.ctx.store
    code = flow.code(scope="read:me")  # no refresh token: only an access token
    flow.exchange(code)
    lifetime = flow.sandbox.settings.access_token_lifetime

    advance_clock(flow, lifetime + Retention(0).margin)
    kept = store.digest(code) in store.codes
    advance_clock(flow, 1)
    gone = store.digest(code) not in store.codes

    assert (kept, gone) == (True, True)


def test_unanswered_consents_and_unused_codes_go_after_their_margin(
    flow: Flow,
) -> None:
    store = flow.sandbox.ctx.store
    flow.authorize()
    code = flow.code()
    code_lifetime = flow.sandbox.settings.code_lifetime
    margin = Retention(0).margin

    advance_clock(flow, code_lifetime + margin + 1)

    assert store.digest(code) not in store.codes
    assert store.consents  # consent pages live 30 minutes, plus the margin
    advance_clock(flow, 30 * 60)
    assert not store.consents


def test_a_refresh_family_is_kept_until_its_absolute_limit_then_forgotten(
    atlassian_flow: Flow,
) -> None:
    flow = atlassian_flow
    store = flow.sandbox.ctx.store
    refresh_token = flow.tokens()["refresh_token"]
    limit = flow.sandbox.settings.refresh_absolute_limit
    family_margin = Retention(0).family_margin

    advance_clock(flow, limit + family_margin)
    dead = flow.refresh(refresh_token).json()
    advance_clock(flow, 1)
    forgotten = flow.refresh(refresh_token).json()

    # Kept: the answer to a dead token. Forgotten: the answer to one never issued.
    assert dead["error"] == "invalid_grant"
    assert forgotten["error"] == "unauthorized_client"
    assert (store.families, store.refresh) == ({}, {})


def test_a_revoked_family_is_kept_like_any_other(rfc_flow: Flow) -> None:
    store = rfc_flow.sandbox.ctx.store
    first = rfc_flow.tokens()["refresh_token"]
    rfc_flow.refresh(first)
    rfc_flow.refresh(first)  # a reuse: the family is revoked

    advance_clock(rfc_flow, 100 * DAY)
    answer = rfc_flow.refresh(first).json()

    assert "revoked" in answer["error_description"]
    assert len(store.families) == 1


def test_failed_logins_are_forgotten_a_minute_after_the_last(flow: Flow) -> None:
    store = flow.sandbox.ctx.store
    for number in range(50):
        flow.refresh("x", client_id=f"stranger-{number}")
    counted = len(store.failed_auth)

    advance_clock(flow, 61)

    assert counted == 50
    assert store.failed_auth == {}


def test_churn_with_a_moving_clock_keeps_the_store_small(flow: Flow) -> None:
    store = flow.sandbox.ctx.store
    sizes = []

    for _ in range(60):
        tokens = flow.tokens()
        flow.refresh(tokens["refresh_token"])
        flow.authorize()  # a consent page nobody answers
        advance_clock(flow, 12 * DAY)
        sizes.append(store.size())

    # Families live 395 days (365 + the margin): at 12 days a cycle, 32 of them,
    # each with its code and two refresh tokens, and no live access token.
    assert len(set(sizes[35:])) == 1
    assert max(sizes) == (365 + 30) // 12 * 4


def test_a_sweep_is_due_when_the_store_doubles_or_the_clock_moves_a_minute() -> None:
    store = Store()
    store.sweep(START_TIME, Retention(365 * DAY))
    for number in range(SWEEP_MIN_SIZE - 1):
        store.consents[str(number)] = pending_consent(str(number), START_TIME + HOUR)

    below = store.sweep_due(START_TIME + 59)
    store.consents["last"] = pending_consent("last", START_TIME + HOUR)
    full = store.sweep_due(START_TIME + 59)
    later = Store()
    later.sweep(START_TIME, Retention(365 * DAY))

    assert (below, full) == (False, True)
    assert later.sweep_due(START_TIME + 60)
    assert not later.sweep_due(START_TIME + 59)


def test_sweep_counts_what_it_removed() -> None:
    store = Store()
    store.consents["old"] = pending_consent("old", START_TIME)
    store.codes["unused"] = code_record(expires_at=START_TIME)
    retention = Retention(365 * DAY)

    removed = store.sweep(START_TIME + retention.margin + 1, retention)

    assert removed == 2
    assert store.size() == 0


def pending_consent(consent_id: str, expires_at: float) -> PendingConsent:
    return PendingConsent(
        consent_id=consent_id,
        client_id=SANDBOX_CLIENT_ID,
        redirect_uri="http://127.0.0.1:8765/callback",
        scopes=frozenset({"read:me"}),
        state=None,
        code_challenge=None,
        expires_at=expires_at,
    )


def code_record(expires_at: float) -> CodeRecord:
    return CodeRecord(
        client_id=SANDBOX_CLIENT_ID,
        redirect_uri="http://127.0.0.1:8765/callback",
        grant_id="grant",
        scopes=frozenset({"read:me"}),
        code_challenge=None,
        issued_at=expires_at - 600,
        expires_at=expires_at,
    )


def test_a_redirect_carries_the_state_the_store_no_longer_keeps(
    inspected: tuple[Flow, dict[str, str]],
) -> None:
    flow, _ = inspected
    state = "state-" + secrets.token_urlsafe(16)

    answer = flow.consent(flow.authorize(state=state))

    assert redirect_params(answer)["state"] == state
    assert all(state not in text for text in stored_text(flow.sandbox.ctx.store))


def test_a_sweep_step_looks_at_its_budget_and_forgets_what_a_full_sweep_would() -> None:
    retention = Retention(365 * DAY)
    stepped, whole = Store(), Store()
    for store in (stepped, whole):
        store.sweep(START_TIME, retention)
        for number in range(3 * SWEEP_MIN_SIZE):
            expiry = START_TIME if number % 2 else START_TIME + 10 * DAY
            store.consents[str(number)] = pending_consent(str(number), expiry)
            store.codes[f"c{number}"] = code_record(expires_at=expiry)
    later = START_TIME + retention.margin + 1

    steps, removed = 0, 0
    while True:
        gone = stepped.sweep_step(later, retention, budget=100)
        steps += 1
        removed += gone
        assert gone <= 100
        if not stepped._pending:
            break
    whole_removed = whole.sweep(later, retention)

    assert removed == whole_removed == 3 * SWEEP_MIN_SIZE
    assert steps == -(-6 * SWEEP_MIN_SIZE // 100)
    assert set(stepped.consents) == set(whole.consents)
    assert set(stepped.codes) == set(whole.codes)
    assert stepped.sweep_step(later, retention) == 0  # not due again so soon


def test_a_clock_jump_still_sweeps_everything_at_once(flow: Flow) -> None:
    store = flow.sandbox.ctx.store
    flow.code()
    issued = len(store.codes)

    advance_clock(flow, DAY)  # the answer comes after the sweep, not steps later

    assert issued == 1
    assert store.codes == {}

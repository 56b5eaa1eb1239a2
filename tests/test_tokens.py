"""The token model: reading token responses (case 116), masking (101), expiry (115).

Masking is pinned in repr, str, format, HTML, DEBUG logs, exception messages and the
locals of the kit's frames that a verbose traceback would show.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import re
from typing import Any

import pytest
import requests
from sandbox_driver import START_TIME, Flow, advance_clock, kit_frames_text

from kit.errors import TokenResponseError
from kit.tokens import Lineage, Secret, TokenSet, fingerprint, mask

CANARY_AT = "CANARY-ACCESS-0123456789abcdefghijklmnopqrstuvwxyz"
CANARY_RT = "CANARY-REFRESH-0123456789abcdefghijklmnopqrstuvwxyz"
T0 = 1_800_000_000.0


def response(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": CANARY_AT,
        "refresh_token": CANARY_RT,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "read:page:confluence offline_access",
    }
    body.update(overrides)
    return {name: value for name, value in body.items() if value is not None}


def read(body: dict[str, Any], at: float = T0) -> TokenSet:
    return TokenSet.from_response(body, now=lambda: at)


def test_a_token_response_becomes_a_token_set_timed_by_the_local_clock() -> None:
    tokens = read(response())

    assert tokens.access_token.reveal() == CANARY_AT
    assert tokens.refresh_token is not None
    assert tokens.refresh_token.reveal() == CANARY_RT
    assert tokens.token_type == "Bearer"
    assert tokens.received_at == T0
    assert tokens.expires_at == T0 + 3600
    assert tokens.expires_in == 3600
    assert tokens.scope == ("read:page:confluence", "offline_access")


def test_a_response_without_an_access_token_is_an_error() -> None:
    with pytest.raises(TokenResponseError, match="holds no `access_token`"):
        read(response(access_token=None))


@pytest.mark.parametrize("body", [[CANARY_AT], "access_token", None])
def test_a_response_that_is_no_json_object_is_an_error(body: Any) -> None:
    with pytest.raises(TokenResponseError, match="not a JSON object") as caught:
        TokenSet.from_response(body)

    assert CANARY_AT not in str(caught.value)


@pytest.mark.parametrize("value", ["", 42, ["x"]])
def test_an_empty_or_non_string_access_token_is_an_error(value: object) -> None:
    with pytest.raises(TokenResponseError, match="holds no `access_token`"):
        read(response(access_token=value))


@pytest.mark.parametrize("token_type", ["mac", "DPoP", "", 7])
def test_a_token_type_other_than_bearer_is_an_error(token_type: object) -> None:
    with pytest.raises(TokenResponseError, match="can only use `Bearer` tokens"):
        read(response(token_type=token_type))


@pytest.mark.parametrize("token_type", ["BEARER", "bearer", "Bearer", None])
def test_bearer_in_any_case_or_absent_is_accepted(token_type: str | None) -> None:
    tokens = read(response(token_type=token_type))

    assert tokens.token_type == "Bearer"


@pytest.mark.parametrize("expires_in", [3600, "3600", " 3600 ", 3600.0])
def test_expires_in_may_be_a_number_or_a_numeric_string(expires_in: object) -> None:
    tokens = read(response(expires_in=expires_in))

    assert tokens.expires_at == T0 + 3600


@pytest.mark.parametrize("expires_in", ["an hour", "-5", -5, True, 3600.5, [3600]])
def test_expires_in_that_is_no_count_of_seconds_is_an_error(expires_in: object) -> None:
    with pytest.raises(TokenResponseError, match="not a number of seconds"):
        read(response(expires_in=expires_in))


def test_without_expires_in_the_expiry_is_unknown_not_guessed() -> None:
    tokens = read(response(expires_in=None))

    assert tokens.expires_at is None
    assert not tokens.needs_refresh(lambda: T0 + 10 * 3600)


def test_extra_fields_are_ignored() -> None:
    body = response(id_token="x", ext_expires_in=99, site="pinecone-labs")

    tokens = read(body)

    assert set(tokens.to_record()) == {
        "access_token",
        "refresh_token",
        "token_type",
        "expires_at",
        "received_at",
        "scope",
    }


def test_without_scope_the_requested_scope_was_granted() -> None:
    tokens = TokenSet.from_response(
        response(scope=None), now=lambda: T0, requested_scope=("read:me",)
    )

    assert tokens.scope == ("read:me",)


def test_a_response_without_a_refresh_token_keeps_none() -> None:
    tokens = read(response(refresh_token=None))

    assert tokens.refresh_token is None
    assert Lineage.begin(tokens) is None


def test_a_new_token_set_keeps_the_previous_refresh_token_when_none_came() -> None:
    previous = read(response())
    received = read(response(access_token="new-access-0123456789", refresh_token=None))

    kept = received.with_refresh_token_of(previous)

    assert kept.refresh_token == previous.refresh_token
    assert kept.access_token.reveal() == "new-access-0123456789"


def test_every_display_of_a_token_set_is_masked() -> None:
    tokens = read(response())

    shown = [
        repr(tokens),
        str(tokens),
        f"{tokens}",
        f"{tokens!r}",
        f"{tokens:>300}",
        format(tokens),
        tokens._repr_html_(),
        repr(tokens.access_token),
        str(tokens.refresh_token),
        f"{tokens.access_token}",
        f"{tokens.access_token:<80}",
        repr([tokens]),
        tokens.describe(),
    ]

    for text in shown:
        assert CANARY_AT not in text
        assert CANARY_RT not in text
    assert "access_token=Secret('CANA…(masked)')" in repr(tokens)
    assert "CANA…(masked)" in tokens._repr_html_()


def test_the_html_table_shows_the_expiry_as_a_utc_time_and_a_lifetime() -> None:
    lasting = read(response())._repr_html_()
    unknown = read(response(expires_in=None))._repr_html_()

    # T0 is 2027-01-15 08:00:00 UTC; the answer said 3600 s
    assert "2027-01-15 09:00:00 UTC, 1 h after it was received" in lasting
    assert str(T0 + 3600) not in lasting  # no raw epoch seconds
    assert "not given (the answer had no expires_in)" in unknown


def test_asdict_and_copies_of_a_token_set_stay_masked() -> None:
    tokens = read(response())

    shown = repr(dataclasses.asdict(tokens)) + repr(copy.deepcopy(tokens))

    assert CANARY_AT not in shown
    assert CANARY_RT not in shown
    assert copy.deepcopy(tokens) == tokens


def test_printing_a_token_set_shows_it_masked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    tokens = read(response())

    print(tokens, tokens.access_token, tokens.refresh_token)

    out = capsys.readouterr().out
    assert CANARY_AT not in out
    assert CANARY_RT not in out
    assert out.count("…(masked)") == 4


def test_a_jwt_masks_to_its_first_four_characters() -> None:
    assert mask("eyJhbGciOiJIUzI1NiJ9.payload.signature") == "eyJh…(masked)"


def test_a_short_secret_shows_none_of_its_characters() -> None:
    assert mask("hunter2hunter2") == "…(masked)"
    assert mask("") == "(empty)"
    assert repr(Secret("hunter2")) == "Secret('…(masked)')"


def test_a_fingerprint_is_a_short_stable_sha256_prefix() -> None:
    first = fingerprint(CANARY_AT)

    assert re.fullmatch(r"[0-9a-f]{12}", first)
    assert fingerprint(Secret(CANARY_AT)) == first == Secret(CANARY_AT).fingerprint
    assert fingerprint(CANARY_RT) != first


def test_debug_logs_name_tokens_by_fingerprint_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="kit")

    tokens = read(response())

    text = caplog.text
    assert tokens.access_token.fingerprint in text
    assert CANARY_AT not in text
    assert CANARY_RT not in text


@pytest.mark.parametrize(
    "override",
    [
        {"token_type": "mac"},
        {"expires_in": "soon"},
        {"scope": ["read:me"]},
        {"refresh_token": ""},
    ],
)
def test_a_refused_response_leaves_no_token_in_the_error_or_the_kit_frames(
    override: dict[str, Any],
) -> None:
    with pytest.raises(TokenResponseError) as caught:
        read(response(**override))

    assert CANARY_AT not in str(caught.value)
    assert CANARY_AT not in kit_frames_text(caught.value)
    assert CANARY_RT not in kit_frames_text(caught.value)


def test_the_record_round_trips_and_is_the_only_clear_text_form() -> None:
    tokens = read(response())

    record = tokens.to_record()

    assert record["access_token"] == CANARY_AT
    assert TokenSet.from_record(record) == tokens


def test_a_lineage_keeps_each_rotation_as_fingerprints_with_its_time() -> None:
    first = read(response())
    second = read(response(refresh_token="rotated-once-0123456789"), at=T0 + 3600)
    third = read(response(refresh_token="rotated-twice-0123456789"), at=T0 + 7200)
    lineage = Lineage.begin(first)
    assert lineage is not None
    assert first.refresh_token is not None
    assert second.refresh_token is not None
    assert third.refresh_token is not None

    lineage = lineage.rotated(first.refresh_token, second.refresh_token, T0 + 3600)
    lineage = lineage.rotated(second.refresh_token, third.refresh_token, T0 + 7200)

    assert lineage.chain == (
        first.refresh_token.fingerprint,
        second.refresh_token.fingerprint,
        third.refresh_token.fingerprint,
    )
    assert lineage.rotations[1].parent == second.refresh_token.fingerprint
    assert lineage.rotations[1].at == T0 + 7200
    assert lineage.current == third.refresh_token.fingerprint
    assert lineage.started_at == T0
    assert lineage.last_used_at == T0 + 7200
    assert CANARY_RT not in repr(lineage)
    assert Lineage.from_record(lineage.to_record()) == lineage


def test_a_lineage_gives_the_policy_clocks_of_its_family() -> None:
    tokens = read(response())
    lineage = Lineage.begin(tokens)
    assert lineage is not None
    assert tokens.refresh_token is not None
    lineage = lineage.rotated(
        tokens.refresh_token, Secret("next-0123456789abc"), T0 + 50
    )

    policy = lineage.policy(lambda: T0 + 100)

    assert policy.family_started_at == T0
    assert policy.rotated_at == T0 + 50
    leeway = policy.reuse_leeway()
    assert leeway is not None
    assert leeway.remaining() == 550


def test_peek_claims_reads_the_sandbox_jwt_without_verifying_it(flow: Flow) -> None:
    tokens = TokenSet.from_response(flow.tokens())

    claims = tokens.peek_claims()

    assert claims is not None
    assert "read:page:confluence" in str(claims.get("scope"))


def test_peek_claims_of_an_opaque_token_is_none() -> None:
    assert read(response()).peek_claims() is None


@pytest.mark.parametrize("skew", [-600.0, 0.0, 600.0])
def test_expiry_follows_local_receipt_time_whatever_the_clock_skew(
    atlassian_flow: Flow, skew: float
) -> None:
    # The client's clock runs `skew` seconds off the sandbox's (case 115).
    body = atlassian_flow.tokens()
    local = START_TIME + skew
    tokens = TokenSet.from_response(body, now=lambda: local)
    claims = tokens.peek_claims()
    assert claims is not None

    # Both clocks move to one second before the kit's refresh point.
    advance_clock(atlassian_flow, 3600 - 61)
    before = tokens.needs_refresh(lambda: local + 3600 - 61)
    # One more second: the kit refreshes, and the token still works.
    advance_clock(atlassian_flow, 1)
    due = tokens.needs_refresh(lambda: local + 3600 - 60)
    still_works = atlassian_flow.api(
        "/oauth/token/accessible-resources", tokens.access_token.reveal()
    )
    # Past `expires_in`, the sandbox refuses it.
    advance_clock(atlassian_flow, 60)
    refused = atlassian_flow.api(
        "/oauth/token/accessible-resources", tokens.access_token.reveal()
    )

    assert tokens.expires_at == local + int(body["expires_in"])
    assert claims["exp"] == START_TIME + 3600  # the server's, never read by the kit
    assert (before, due) == (False, True)
    assert still_works.status_code == 200
    assert refused.status_code == 401


def test_a_token_set_survives_a_request_it_authorises(flow: Flow) -> None:
    tokens = TokenSet.from_response(flow.tokens())

    answer = requests.get(
        f"{flow.url}/oauth/token/accessible-resources",
        headers={"Authorization": f"Bearer {tokens.access_token.reveal()}"},
        timeout=5,
    )

    assert answer.status_code == 200

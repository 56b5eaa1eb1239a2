"""The check of `05-exchange`: refreshable tokens, saved owner-only, with the scopes
asked for. Tokens are made from a token response; no server is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kit.authorize import AuthorizationRequest, new_authorization_request
from kit.course import COURSE_SCOPES
from kit.course.checks import ALL_CORRECT
from kit.course.checks.exchange import saved
from kit.store import TokenStore
from kit.tokens import TokenSet

ACCESS = "access-token-for-the-check-" + "a" * 20
REFRESH = "refresh-token-for-the-check-" + "r" * 20


def request_for(scopes: tuple[str, ...]) -> AuthorizationRequest:
    return new_authorization_request(
        "pinecone-reader-sandbox",
        "http://127.0.0.1:8765/callback",
        scopes,
        auth_url="http://127.0.0.1:9",
        allow_plain_http=True,
    )


def tokens_for(
    scopes: tuple[str, ...], *, refresh: bool = True, access: str = ACCESS
) -> TokenSet:
    body = {"access_token": access, "expires_in": 3600, "scope": " ".join(scopes)}
    if refresh:
        body["refresh_token"] = REFRESH
    return TokenSet.from_response(body)


@pytest.fixture
def store(tmp_path: Path) -> TokenStore:
    return TokenStore(tmp_path / ".tokens" / "t.json")


def test_saved_refreshable_tokens_with_the_scopes_are_correct(
    store: TokenStore,
) -> None:
    tokens = tokens_for(COURSE_SCOPES)
    store.save(tokens)

    check = saved(tokens, request_for(COURSE_SCOPES), store)

    assert check.ok, str(check)
    assert check.verdict == ALL_CORRECT


def test_the_starter_value_is_not_done(store: TokenStore) -> None:
    check = saved(..., request_for(COURSE_SCOPES), store)

    assert not check.ok
    assert "`my_tokens` in the cell above: it is still `...`" in str(check)


def test_something_else_than_tokens_says_what_to_keep(store: TokenStore) -> None:
    check = saved("eyJh", request_for(COURSE_SCOPES), store)

    assert "keep what `kit.exchange_code` returns" in str(check)


def test_tokens_not_saved_say_to_save_them(store: TokenStore) -> None:
    check = saved(tokens_for(COURSE_SCOPES), request_for(COURSE_SCOPES), store)

    assert not check.ok
    assert "call `course.store.save`" in str(check)


def test_other_tokens_on_file_say_to_save_these(store: TokenStore) -> None:
    store.save(tokens_for(COURSE_SCOPES, access="older-access-token-" + "o" * 20))

    check = saved(tokens_for(COURSE_SCOPES), request_for(COURSE_SCOPES), store)

    assert "The token file holds other tokens" in str(check)


def test_without_offline_access_the_hint_names_it(store: TokenStore) -> None:
    scopes = ("read:me", "read:page:confluence")
    tokens = tokens_for(scopes, refresh=False)
    store.save(tokens)

    check = saved(tokens, request_for(scopes), store)

    assert not check.ok
    assert "Add `offline_access` to the scopes of `my_request`." in str(check)
    assert "No refresh token came" in str(check)


def test_a_file_others_may_read_is_found_before_the_kit_fixes_it(
    store: TokenStore,
) -> None:
    tokens = tokens_for(COURSE_SCOPES)
    store.save(tokens)
    store.path.chmod(0o644)

    check = saved(tokens, request_for(COURSE_SCOPES), store)

    assert "mode is 0o644, not 0o600" in str(check)


def test_scopes_missing_from_the_saved_grant_are_listed(store: TokenStore) -> None:
    tokens = tokens_for(("read:me", "offline_access"))
    store.save(tokens)

    check = saved(tokens, request_for(COURSE_SCOPES), store)

    assert "The saved tokens lack `read:page:confluence`" in str(check)


def test_no_hint_shows_a_token(store: TokenStore) -> None:
    tokens = tokens_for(COURSE_SCOPES)
    store.save(tokens)

    text = str(saved(tokens, request_for(COURSE_SCOPES), store))

    assert ACCESS not in text
    assert REFRESH not in text

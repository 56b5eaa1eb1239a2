"""`kit.scopes`: the catalogue, which scopes reach which operation (facts 5.2, 5.3),
the advice for a chosen set of operations, and a check against the sandbox's gateway.
"""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest
from sandbox_driver import Flow

from kit import scopes
from kit.errors import CatalogueError, ConfigError, KitError

# Facts 5.3: the sample calls and the scope sets each accepts, in the catalogue's order.
FACTS_5_3 = {
    "v1 spaces": (
        ("read:confluence-space.summary",),
        ("read:content-details:confluence",),
    ),
    "v1 space": (
        ("read:confluence-space.summary",),
        ("read:content-details:confluence",),
    ),
    "v1 content": (
        ("read:confluence-content.summary",),
        ("read:content-details:confluence",),
    ),
    "v1 content item": (
        ("read:confluence-content.summary",),
        ("read:content-details:confluence",),
    ),
    "v1 search": (("search:confluence",), ("read:content-details:confluence",)),
    "v1 current user": (
        ("read:confluence-user",),
        ("read:content-details:confluence",),
    ),
    "v2 spaces": (("read:space:confluence",),),
    "v2 space": (("read:space:confluence",),),
    "v2 pages": (("read:page:confluence",),),
    "v2 page": (("read:page:confluence",),),
    "v2 pages in space": (("read:page:confluence",),),
    "me": (("read:me",),),
}
CLASSIC_ONLY = ("read:confluence-space.summary", "search:confluence", "offline_access")


@pytest.mark.parametrize("name", sorted(FACTS_5_3))
def test_each_friendly_name_opens_with_the_scopes_facts_5_3_gives(name: str) -> None:
    operation = scopes.find_operation(name)

    assert operation.scope_sets == FACTS_5_3[name]
    assert operation.friendly_name == name


def test_every_friendly_name_is_in_the_table_of_facts_5_3() -> None:
    assert set(scopes.FRIENDLY_NAMES) == set(FACTS_5_3)


def test_importing_kit_and_kit_scopes_reads_no_catalogue() -> None:
    code = (
        "import sys, kit; assert 'kit.scopes' not in sys.modules; "
        "import kit.scopes as s; print(s._catalogue.cache_info().currsize)"
    )

    result = subprocess.run(  # noqa: S603 - the test's own interpreter
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_every_v2_operation_takes_granular_scopes_only() -> None:
    v2 = [op for op in scopes.all_operations() if op.api == "v2"]

    families = {scopes.family(s) for op in v2 for group in op.scope_sets for s in group}

    assert len(v2) > 100
    assert families == {"granular"}


def test_every_v1_alternative_set_is_granular() -> None:
    v1 = [op for op in scopes.all_operations() if op.api == "v1"]
    second = [op.scope_sets[1] for op in v1 if len(op.scope_sets) == 2]

    assert len(second) > 100
    assert {scopes.family(s) for group in second for s in group} == {"granular"}


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ("search:confluence", "classic"),
        ("read:space:confluence", "granular"),
        ("read:me", "identity"),
        ("offline_access", "offline"),
    ],
)
def test_family_names_each_of_the_four_families(scope: str, expected: str) -> None:
    assert scopes.family(scope) == expected


def test_describe_says_family_meaning_and_what_the_scope_opens() -> None:
    text = scopes.describe("read:space:confluence")

    assert text.startswith("`read:space:confluence` (granular): View spaces")
    assert "v2 GET /wiki/api/v2/spaces," in text


def test_describe_offline_access_explains_the_refresh_token() -> None:
    assert "refresh token" in scopes.describe("offline_access")


def test_an_unknown_scope_is_a_config_error_that_suggests_the_right_one() -> None:
    with pytest.raises(CatalogueError, match="Did you mean `read:space:confluence`"):
        scopes.family("read:spaces:confluence")


def test_catalogue_errors_belong_to_the_kits_hierarchy() -> None:
    assert issubclass(CatalogueError, ConfigError)
    assert issubclass(CatalogueError, KitError)


def test_an_unknown_operation_suggests_a_friendly_name() -> None:
    with pytest.raises(CatalogueError, match="Did you mean `v2 page`"):
        scopes.find_operation("v2 pagez")


def test_an_operation_is_found_by_key_tuple_or_concrete_path() -> None:
    by_key = scopes.find_operation("v2 GET /wiki/api/v2/pages/{id}")

    assert scopes.find_operation(("v2", "get", "/wiki/api/v2/pages/123")) == by_key
    assert scopes.find_operation("v2 page") == by_key


def test_a_v1_path_without_wiki_finds_the_same_operation() -> None:
    operation = scopes.find_operation(("v1", "GET", "/rest/api/search"))

    assert operation.key == "v1 GET /wiki/rest/api/search"


def test_a_literal_path_segment_beats_a_path_parameter() -> None:
    operation = scopes.find_operation(("v1", "GET", "/wiki/rest/api/content/search"))

    assert operation.operation_id == "searchContentByCQL"


def test_a_classic_grant_reaches_v1_but_not_v2() -> None:
    assert scopes.can_reach(CLASSIC_ONLY, "v1 search")
    assert not scopes.can_reach(CLASSIC_ONLY, "v2 spaces")


def test_the_granular_alternative_alone_reaches_v1() -> None:
    assert scopes.can_reach("read:content-details:confluence", "v1 search")
    assert scopes.can_reach("read:content-details:confluence", "v1 current user")


def test_one_grant_mixing_both_families_reaches_v1_and_v2() -> None:
    grant = "search:confluence read:space:confluence"

    assert scopes.can_reach(grant, "v1 search")
    assert scopes.can_reach(grant, "v2 spaces")


def test_missing_scopes_names_the_granular_scope_a_classic_grant_lacks() -> None:
    assert scopes.missing_scopes(CLASSIC_ONLY, "v2 spaces") == (
        "read:space:confluence",
    )
    assert scopes.missing_scopes(CLASSIC_ONLY, "v1 search") == ()


def test_missing_scopes_prefers_the_classic_set_when_both_need_one_scope() -> None:
    assert scopes.missing_scopes((), "v1 search") == ("search:confluence",)


def test_an_operation_no_scope_opens_is_refused_with_the_reason() -> None:
    operation = ("v1", "GET", "/wiki/rest/api/group/{groupName}")

    assert not scopes.can_reach(["read:confluence-groups"], operation)
    with pytest.raises(CatalogueError, match="lists none"):
        scopes.missing_scopes((), operation)


def test_advice_for_v2_operations_is_granular_only() -> None:
    advice = scopes.scopes_for(["v2 spaces", "v2 pages", "v2 page"])

    assert advice.minimal_sets == (("read:page:confluence", "read:space:confluence"),)
    assert "granular scopes only" in advice.operations[0].explanation


def test_advice_for_v1_offers_the_classic_set_or_the_granular_alternative() -> None:
    advice = scopes.scopes_for(["v1 search", "v1 current user"])

    assert set(advice.minimal_sets) == {
        ("read:content-details:confluence",),
        ("read:confluence-user", "search:confluence"),
    }
    assert advice.recommended == ("read:content-details:confluence",)
    assert "or its granular alternative" in advice.operations[0].explanation


def test_advice_for_v1_and_v2_together_may_mix_both_families() -> None:
    advice = scopes.scopes_for(["v1 search", "v2 spaces"])

    assert advice.minimal_sets == (
        ("read:space:confluence", "search:confluence"),
        ("read:content-details:confluence", "read:space:confluence"),
    )
    assert "mixes classic and granular scopes" in advice.explanation


def test_every_advised_set_is_minimal_and_reaches_every_operation() -> None:
    chosen = [*scopes.FRIENDLY_NAMES]

    advice = scopes.scopes_for(chosen)

    for option in advice.minimal_sets:
        assert all(scopes.can_reach(option, op) for op in chosen)
        for smaller in itertools.combinations(option, len(option) - 1):
            assert not all(scopes.can_reach(smaller, op) for op in chosen)


def test_advice_for_every_operation_stays_quick_and_reaches_them_all() -> None:
    chosen = [op for op in scopes.all_operations() if op.scope_sets]

    advice = scopes.scopes_for(chosen)

    assert 0 < len(advice.minimal_sets) <= scopes.MAX_ADVISED_SETS
    for option in advice.minimal_sets:
        assert all(scopes.can_reach(option, op) for op in chosen)


def test_each_operation_is_explained_in_one_sentence() -> None:
    advice = scopes.scopes_for(["v1 spaces", "v2 pages in space", "me"])

    sentences = [item.explanation for item in advice.operations]

    assert all(s.endswith(".") and ". " not in s for s in sentences)
    assert "deprecated" in sentences[0]
    assert str(advice).splitlines()[:3] == sentences


def test_advice_for_nothing_asks_for_nothing() -> None:
    advice = scopes.scopes_for([])

    assert advice.recommended == ()
    assert advice.scope_param() == "offline_access"


def test_the_scope_parameter_adds_offline_access_once() -> None:
    advice = scopes.scopes_for(["v2 spaces"])

    assert advice.scope_param() == "read:space:confluence offline_access"
    assert advice.scope_param(offline_access=False) == "read:space:confluence"


# The sandbox's gateway checks scopes with its own extraction: the two must agree.


def _cloud_id(flow: Flow, token: str) -> str:
    answer = flow.api("/oauth/token/accessible-resources", token)
    assert answer.status_code == 200, answer.text
    return str(answer.json()[0]["id"])


def test_the_advised_scopes_pass_the_sandbox_gateway_and_classic_ones_fail_v2(
    flow: Flow,
) -> None:
    chosen = {"v1 search": "/wiki/rest/api/search", "v2 spaces": "/wiki/api/v2/spaces"}
    advised = flow.tokens(scope=scopes.scopes_for(chosen).scope_param())
    classic = flow.tokens(scope=" ".join(CLASSIC_ONLY))
    base = f"/ex/confluence/{_cloud_id(flow, advised['access_token'])}"

    answers = {
        name: flow.api(base + path, advised["access_token"], cql="type=page")
        for name, path in chosen.items()
    }
    refused = flow.api(base + chosen["v2 spaces"], classic["access_token"])

    assert {name: a.status_code for name, a in answers.items()} == {
        "v1 search": 200,
        "v2 spaces": 200,
    }
    assert refused.status_code in {401, 403}
    assert not scopes.can_reach(classic["scope"], "v2 spaces")

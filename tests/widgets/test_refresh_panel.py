"""The refresh panel: rotations drawn as a lineage, and the spent token sent again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from helpers import assert_shows_none_of, stored_secrets
from sandbox_driver import START_TIME

from kit.config import ClientConfig
from kit.course import Course
from kit.tokens import Lineage, Rotation
from kit.widgets import RefreshPanel
from kit.widgets.common import AMBER, RED
from kit.widgets.refresh_panel import lineage_svg


def nodes(svg: str) -> int:
    return svg.count("class='kit-node")


@pytest.fixture
def panel(course: Course) -> Iterator[RefreshPanel]:
    """A refresh panel over freshly signed-in tokens, on the sandbox's clock."""
    course.sign_in()
    made = RefreshPanel(
        course.config, course.store, controls=course.controls, now=lambda: START_TIME
    )
    yield made
    made.close()


def test_a_lineage_draws_one_node_per_refresh_token_and_an_arrow_per_rotation() -> None:
    lineage = Lineage(
        root="aaaaaaaaaaaa",
        started_at=0.0,
        rotations=(
            Rotation("aaaaaaaaaaaa", "bbbbbbbbbbbb", 10.0),
            Rotation("bbbbbbbbbbbb", "cccccccccccc", 20.0),
        ),
    )

    svg = lineage_svg(lineage)

    assert svg.count("<svg") == 1 and "<script" not in svg
    assert nodes(svg) == 3
    assert svg.count("class='kit-rotation'") == 2
    assert svg.count("class='kit-node spent'") == 2
    assert "class='kit-node current'><rect" in svg
    assert svg.index("cccccccccccc") > svg.index("class='kit-node current'")


def test_a_revoked_family_is_drawn_red_with_its_caption() -> None:
    lineage = Lineage(root="aaaaaaaaaaaa", started_at=0.0)

    svg = lineage_svg(lineage, revoked=True)

    assert "class='kit-node revoked'" in svg
    assert "family revoked" in svg
    assert RED in svg


def test_a_rotation_from_an_older_token_arcs_over_the_chain() -> None:
    lineage = Lineage(
        root="aaaaaaaaaaaa",
        started_at=0.0,
        rotations=(
            Rotation("aaaaaaaaaaaa", "bbbbbbbbbbbb", 10.0),
            Rotation("aaaaaaaaaaaa", "cccccccccccc", 20.0),
        ),
    )

    svg = lineage_svg(lineage)

    assert svg.count("<path d='M ") == 1
    assert nodes(svg) == 3


def test_the_lineage_escapes_what_it_is_given_and_says_when_there_is_none() -> None:
    svg = lineage_svg(Lineage(root="<b>x</b>", started_at=0.0))

    assert "<b>" not in svg and "&lt;b&gt;x&lt;/b&gt;" in svg
    assert "offline_access" in lineage_svg(None)


def test_each_refresh_adds_one_node_and_the_rotated_token_is_saved(
    panel: RefreshPanel, course: Course
) -> None:
    assert nodes(panel.graph.value) == 1

    panel.refresh_button.click()
    after_one = nodes(panel.graph.value)
    panel.refresh_button.click()

    stored = course.store.load()
    assert stored is not None and stored.lineage is not None
    assert (after_one, nodes(panel.graph.value)) == (2, 3)
    assert stored.lineage.current in panel.graph.value
    assert len(stored.lineage.rotations) == 2
    assert "is spent" in panel.outcome.value
    assert panel.dashboard.bars["leeway"].colour == AMBER
    assert panel.errors.value == ""


def test_the_spent_token_is_accepted_again_inside_the_leeway(
    panel: RefreshPanel, course: Course
) -> None:
    panel.refresh_button.click()
    before = course.store.load()

    panel.reuse_button.click()

    assert panel.errors.value == ""
    assert "Accepted" in panel.outcome.value
    assert "inside the leeway" in panel.outcome.value
    assert course.store.load() == before
    assert not panel.revoked


def test_after_eleven_minutes_the_reuse_revokes_the_family(
    panel: RefreshPanel,
) -> None:
    panel.refresh_button.click()

    panel.clock_buttons["+11 min"].click()
    panel.reuse_button.click()

    assert "RefreshRejectedError" in panel.errors.value
    assert "refused the refresh token for good" in panel.errors.value
    assert "came back 11 min after its first use" in panel.outcome.value
    assert "revoke its whole family" in panel.outcome.value
    assert panel.revoked
    assert "family revoked" in panel.graph.value
    assert nodes(panel.graph.value) == panel.graph.value.count("kit-node revoked")

    panel.refresh_button.click()

    assert "RefreshRejectedError" in panel.errors.value


def test_reuse_is_off_until_a_refresh_has_spent_a_token(
    panel: RefreshPanel,
) -> None:
    assert panel.reuse_button.disabled

    panel.reuse_button.click()

    assert "No refresh token has been spent in this panel yet" in panel.errors.value


def test_ninety_one_days_later_the_refresh_token_has_expired_unused(
    panel: RefreshPanel,
) -> None:
    panel.clock_buttons["+91 days"].click()
    panel.refresh_button.click()

    assert panel.dashboard.bars["idle"].colour == RED
    assert "RefreshRejectedError" in panel.errors.value
    assert "sat unused 90 days" in panel.errors.value


def test_the_panel_shows_fingerprints_and_never_a_token(
    panel: RefreshPanel, course: Course
) -> None:
    first = stored_secrets(course.store.path)

    panel.refresh_button.click()
    panel.reuse_button.click()

    assert_shows_none_of(panel, [*first, *stored_secrets(course.store.path)])


def test_without_controls_there_are_no_clock_buttons(
    course: Course, config: ClientConfig
) -> None:
    course.sign_in()

    panel = RefreshPanel(config, course.store)

    assert panel.clock_buttons == {}
    panel.close()


def test_in_the_rfc_profile_a_reuse_revokes_the_family_at_once(
    rfc_course: Course,
) -> None:
    rfc_course.sign_in()
    panel = RefreshPanel(
        rfc_course.config, rfc_course.store, controls=rfc_course.controls
    )

    panel.refresh_button.click()
    panel.reuse_button.click()

    assert "RefreshRejectedError" in panel.errors.value
    assert panel.revoked
    panel.close()

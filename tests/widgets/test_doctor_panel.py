"""The doctor panel: a diagnosis shown, and pasted addresses diagnosed, masked."""

from __future__ import annotations

from helpers import all_text

from kit.errors import AccessDeniedError
from kit.record import Exchange
from kit.widgets import DoctorPanel

STATE = "Zk3s9QmPq7VhT2wLx8RbN4cY6aE1uJ0o"
DECLINED = (
    "http://127.0.0.1:8765/callback?error=access_denied"
    f"&error_description=User+did+not+authorize+the+request&state={STATE}"
)


def test_without_a_failure_the_panel_asks_for_one() -> None:
    panel = DoctorPanel()

    assert "Nothing to diagnose yet" in panel.diagnosis_html.value
    assert panel.errors.value == ""


def test_a_failure_given_is_diagnosed_at_once() -> None:
    panel = DoctorPanel(AccessDeniedError("The person pressed Cancel."))

    assert "kit-diagnosis" in panel.diagnosis_html.value
    assert "Cancel" in panel.diagnosis_html.value


def test_a_pasted_address_is_diagnosed_and_kept_with_its_state_masked() -> None:
    panel = DoctorPanel()

    panel.pasted.value = DECLINED
    panel.diagnose_button.click()

    assert "Consent was declined" in panel.diagnosis_html.value
    assert STATE not in all_text(panel)
    assert "error=access_denied" in panel.pasted.value


def test_show_diagnoses_a_recorded_exchange() -> None:
    panel = DoctorPanel()
    refused = Exchange(
        "api",
        "GET",
        "http://127.0.0.1:1/ex/confluence/x/wiki/api/v2/pages",
        status=401,
        reason="Unauthorized",
        response_body='{"code": 401, "message": "Unauthorized; scope does not match"}',
    )

    panel.show(refused)

    assert "scope" in panel.diagnosis_html.value
    assert "401" in panel.diagnosis_html.value

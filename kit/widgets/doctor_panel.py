"""The doctor as a panel: any failure of the flow, its step, cause and fix.

`DoctorPanel` shows `kit.doctor.diagnose` of an exception, a recorded exchange
or the address the browser landed on; paste an address or an error page's text
into its box and press Diagnose; the box then keeps it with its secrets masked.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from kit.doctor import diagnose
from kit.record import Exchange
from kit.redact import scrub
from kit.widgets.common import GREY, WIDE, button, heading, new_errors, shows_errors

Failure = BaseException | Exchange | str
NOTHING_YET = "Nothing to diagnose yet: paste an address or an error page below."


class DoctorPanel(widgets.VBox):
    """The doctor's diagnosis of `failure`, and a box to paste another into.

    `show(failure)` diagnoses another; `diagnosis_html` is the diagnosis shown
    (a `kit.doctor.Diagnosis`'s HTML), `pasted` the text box, `diagnose_button`
    its button.
    """

    def __init__(self, failure: Failure | None = None) -> None:
        self.errors = new_errors()
        self.diagnosis_html = widgets.HTML(value="", layout=widgets.Layout(width=WIDE))
        self.pasted = widgets.Textarea(
            value="",
            placeholder="Paste the address you landed on, or an error page's text",
            layout=widgets.Layout(width=WIDE, height="5em"),
        )
        self.diagnose_button = button("Diagnose", style="primary")
        self.diagnose_button.on_click(lambda _: self.diagnose_pasted())
        super().__init__(
            children=[
                heading("Doctor: what went wrong, and the fix"),
                self.diagnosis_html,
                self.pasted,
                self.diagnose_button,
                self.errors,
            ],
            layout=widgets.Layout(width=WIDE),
        )
        self.show(failure)

    @shows_errors
    def show(self, failure: Failure | None) -> None:
        """Diagnose `failure` (an exception, an `Exchange`, an address or a page)."""
        if failure is None:
            self.diagnosis_html.value = (
                f"<span style='color:{GREY}'>{html.escape(NOTHING_YET)}</span>"
            )
            return
        self.diagnosis_html.value = diagnose(failure)._repr_html_()

    @shows_errors
    def diagnose_pasted(self) -> None:
        """Diagnose what is in the text box, then leave it there masked.

        A pasted address carries the code and the state; the box keeps the
        text with them masked, so that the notebook never holds them.
        """
        text = self.pasted.value.strip()
        self.pasted.value = scrub(text)
        self.show(text or None)

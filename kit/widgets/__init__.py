"""Panels for the notebooks: thin ipywidgets over the kit's plain functions.

Each panel is a `VBox` that shows itself, takes kit objects, exposes its parts
as attributes, and shows every failure through the doctor in its `errors`.
Importing `kit` never imports this package, nor ipywidgets.
"""

from __future__ import annotations

from kit.widgets.api_explorer import ApiExplorer
from kit.widgets.callback_panel import CallbackPanel
from kit.widgets.doctor_panel import DoctorPanel
from kit.widgets.exchange_view import ExchangeView
from kit.widgets.refresh_panel import RefreshPanel
from kit.widgets.token_dashboard import TokenDashboard
from kit.widgets.url_builder import AuthorizationUrlBuilder

__all__ = [
    "ApiExplorer",
    "AuthorizationUrlBuilder",
    "CallbackPanel",
    "DoctorPanel",
    "ExchangeView",
    "RefreshPanel",
    "TokenDashboard",
]

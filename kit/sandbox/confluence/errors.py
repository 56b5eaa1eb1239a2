"""The error bodies of Confluence's two APIs, and the exception handlers raise.

v2 answers `{"errors":[{"status","code","title","detail"}]}`; v1 answers its older
envelope with `statusCode`, `data`, `message` and `reason` (facts 6.6). Handlers
raise `ConfluenceError`; `api.py` turns it into the envelope of the operation's API.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from kit.sandbox.http import Response, json_response

GONE_MESSAGE = (
    "com.atlassian.confluence.api.service.exceptions.GoneException: "
    "This deprecated endpoint has been removed."
)

_V2_CODES = {
    400: "INVALID_REQUEST_PARAMETER",
    404: "NOT_FOUND",
    410: "GONE",
    500: "INTERNAL_SERVER_ERROR",
    501: "NOT_IMPLEMENTED",
}


class ConfluenceError(Exception):
    """A request the emulated Confluence refuses: a status and a message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad_request(message: str) -> ConfluenceError:
    """A 400 for a parameter Confluence would reject."""
    return ConfluenceError(400, message)


def not_found(message: str) -> ConfluenceError:
    """A 404; Confluence uses it for "missing" and "not allowed to see" alike."""
    return ConfluenceError(404, message)


def v2_error(status: int, title: str, detail: str | None = None) -> Response:
    """The v2 error envelope (facts 6.6)."""
    error = {
        "status": status,
        "code": _V2_CODES.get(status, HTTPStatus(status).name),
        "title": title,
        "detail": detail,
    }
    return json_response(status, {"errors": [error]})


def v1_error(status: int, message: str) -> Response:
    """The v1 error envelope (facts 6.6); `reason` is the HTTP reason phrase."""
    data: dict[str, Any] = {
        "authorized": True,
        "valid": True,
        "allowedInReadOnlyMode": True,
        "errors": [],
        "successful": False,
    }
    body = {
        "statusCode": status,
        "data": data,
        "message": message,
        "reason": HTTPStatus(status).phrase,
    }
    return json_response(status, body)


def error_for(api: str, status: int, message: str) -> Response:
    """The envelope of `api` ("v1" or "v2") for a status and message."""
    return v1_error(status, message) if api == "v1" else v2_error(status, message)


def gone() -> Response:
    """A removed v1 endpoint: 410 with Confluence's GoneException text (facts 6.1)."""
    return v1_error(410, GONE_MESSAGE)


def not_implemented(api: str, operation_id: str) -> Response:
    """501 for an operation the gateway routes but the sandbox does not emulate."""
    message = (
        f"The sandbox does not implement {operation_id}; see the README's list "
        "of emulated operations."
    )
    return error_for(api, 501, message)

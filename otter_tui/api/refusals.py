"""Every refusal the API gives: one line naming the problem, the right status, and an audit row.

A handler raises :class:`Refused` (or lets a service's typed error through); the handlers here
turn either into a response: JSON ``{"error": ...}`` under ``/v1``, one plain-text line on the
Otter-compatible ``/api`` paths (scripts print it). A database busy or away is ``503`` with its
one line. Anything else is a bug: it is logged with its traceback and the client gets
``internal error`` and nothing more.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from otter_tui.api.state import api_state, client_address
from otter_tui.errors import (
    ConflictError,
    NotFoundError,
    OtterError,
    PermissionDenied,
    database_trouble,
)
from otter_tui.logfmt import emit

ANONYMOUS = "api:anonymous"
"""The actor of a refusal before any key was recognised."""
RETRY_AFTER = 1
"""Seconds a client is told to wait when the database is busy or away."""


class Refused(Exception):
    """A refusal decided by the API itself (bad key, bad body, too many tries)."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.headers = headers or {}


def status_of(exc: OtterError) -> int:
    if isinstance(exc, PermissionDenied):
        return 403
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    return 400 if exc.exit_code == 2 else 500


def error_response(
    request: Request, status: int, message: str, headers: dict[str, str]
) -> Response:
    if request.url.path.startswith("/api/"):
        return PlainTextResponse(message + "\n", status, headers=headers)
    return JSONResponse({"error": message}, status, headers=headers)


async def on_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Refused)
    await audit_refusal(request, exc.status, str(exc))
    return error_response(request, exc.status, str(exc), exc.headers)


async def on_otter_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, OtterError)
    status = status_of(exc)
    if status == 500:
        return await on_unexpected(request, exc)
    await audit_refusal(request, status, str(exc))
    return error_response(request, status, str(exc), {})


async def on_database_error(request: Request, exc: Exception) -> Response:
    """A database busy (another process holds SQLite's write lock past the busy timeout) or
    away answers ``503`` with its one line and ``Retry-After``: no bug, and a script should try
    again. Not audited: the audit is in that database. Any other database error is a bug."""
    said = database_trouble(exc)
    if said is None:
        return await on_unexpected(request, exc)
    emit("api.unavailable", logging.WARNING, path=request.url.path, reason=said)
    return error_response(request, 503, said, {"Retry-After": str(RETRY_AFTER)})


async def on_unexpected(request: Request, exc: Exception) -> Response:
    # Starlette calls this inside its ``except`` block: ``exc_info=True`` logs the traceback.
    emit(
        "api.error",
        logging.ERROR,
        exc_info=True,
        path=request.url.path,
        error=type(exc).__name__,
    )
    return error_response(request, 500, "internal error", {})


async def audit_refusal(request: Request, status: int, message: str) -> None:
    """An audit row per refusal (a rate-limited client is recorded once per window)."""
    if status == 429 and not request.scope.get("otter.audit_429", False):
        return
    state = api_state(request)
    key = request.scope.get("otter.key")
    actor = key.owner if key is not None else ANONYMOUS
    client, name = client_address(request), key.name if key is not None else ""
    path, method = request.url.path, request.method
    emit("api.refused", logging.WARNING, path=path, status=status, reason=message, key=name)
    detail = {"status": status, "reason": message, "method": method, "client": client, "key": name}
    await state.call(state.audit, actor, "api.refused", path, detail)


__all__ = ["Refused", "on_otter_error", "on_refused", "on_unexpected"]

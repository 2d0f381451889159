"""The Starlette app: routes from each module, and one place that turns errors into answers.

Handlers are thin: they read the request, call a service (in a thread: the services use
blocking SQLAlchemy sessions) and render what comes back. Starlette runs without debug, so no
response ever carries a traceback.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from otter_tui.api import openapi, ops, otter, v1_jobs, v1_more
from otter_tui.api.refusals import (
    Refused,
    error_response,
    on_database_error,
    on_otter_error,
    on_refused,
    on_unexpected,
)
from otter_tui.api.state import ApiState, FailureLimiter
from otter_tui.errors import OtterError
from otter_tui.runtime import Runtime


async def on_http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods: a plain answer, not audited (scanners are not callers)."""
    assert isinstance(exc, HTTPException)
    return error_response(request, exc.status_code, exc.detail, dict(exc.headers or {}))


def build_app(runtime: Runtime) -> Starlette:
    routes = [*ops.ROUTES, *otter.ROUTES, *v1_jobs.ROUTES, *v1_more.ROUTES, *openapi.ROUTES]
    app = Starlette(
        debug=False,
        routes=routes,
        exception_handlers={
            Refused: on_refused,
            OtterError: on_otter_error,
            HTTPException: on_http_error,
            DBAPIError: on_database_error,
            Exception: on_unexpected,
        },
    )
    limit = runtime.ctx.settings.api.key_failures_per_minute
    app.state.api = ApiState(runtime, FailureLimiter(limit))
    app.state.metrics = ops.ApiMetrics(runtime.ctx)
    app.add_middleware(ops.CountRequests, metrics=app.state.metrics)
    return app


__all__ = ["build_app"]

"""The Otter-compatible endpoints, so Otter users' scripts work unchanged.

- ``GET|POST /api/jobs/trigger?template=NAME``: every other query, form or JSON pair is a job
  variable; answers the job token (this product's job id) as one line;
- ``/api/jobs/status?token=``: ``Pending``, ``Executing``, ``Succeeded``, ``Warning`` or ``Error``;
- ``/api/jobs/logs?token=``: the whole log, one line each, ``DEBUG:|INFO:|WARN:|ERROR:`` first;
- ``/api/configuration/remediate/{server|role|environment}/{name}?job=&start=&simulate=``.

A template's own trigger key (``otter-tui templates key``) is accepted on the trigger endpoint
as well as an API key, as Otter accepts both.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from otter_tui.api.auth import (
    BadKey,
    acting,
    authenticated,
    bad_key,
    check_rate,
    require_scope,
    token_of,
)
from otter_tui.api.bodies import body_fields, text_value, unique_query
from otter_tui.api.refusals import Refused
from otter_tui.api.state import ApiState, api_state
from otter_tui.errors import NotFoundError, PermissionDenied
from otter_tui.services.api_jobs import KeyedJobs
from otter_tui.services.api_keys import ApiKeyView
from otter_tui.services.jobs import JobView, LogView
from otter_tui.targeting import TargetSpec

STATUS = {
    "pending_approval": "Pending",
    "scheduled": "Pending",
    "queued": "Pending",
    "running": "Executing",
    "succeeded": "Succeeded",
    "warning": "Warning",
}
"""Otter's execution status of each job state; every other (finished) state is ``Error``."""
PREFIX = {"debug": "DEBUG", "info": "INFO", "warning": "WARN", "warn": "WARN", "error": "ERROR"}
KEY_FIELDS = ("key", "API_Key")
LOG_PAGE = 5000


def otter_status(state: str) -> str:
    return STATUS.get(state, "Error")


def otter_log_line(line: LogView) -> str:
    where = f"[{line.server}] " if line.server else ""
    return f"{PREFIX.get(line.level, 'INFO')}: {where}{line.text}"


def text(value: str) -> PlainTextResponse:
    return PlainTextResponse(value + "\n")


async def trigger(request: Request) -> PlainTextResponse:
    fields: dict[str, Any] = {**unique_query(request), **(await body_fields(request))}
    name = fields.pop("template", None)
    check_rate(request)
    token = token_of(request, fields)
    if not isinstance(name, str) or not name:
        raise Refused(400, "missing 'template': name the template to trigger")
    for field in KEY_FIELDS:
        fields.pop(field, None)
    variables = {k: text_value(k, v) for k, v in fields.items()}
    state = api_state(request)
    try:
        job = await state.call(_triggered, request, state, name, token, variables)
    except BadKey:
        raise bad_key(request) from None
    return text(str(job.id))


def _triggered(
    request: Request, state: ApiState, name: str, token: str, variables: dict[str, str]
) -> JobView:
    """The job an API key (or else the template's own trigger key) creates; on a worker."""
    key = authenticated(request, state, token)
    if key is None:
        job = _template_key(state, name, token, variables)
        if job is None:
            raise BadKey
        return job
    require_scope(key, "trigger")
    return KeyedJobs(state.runtime.ctx, state.runtime.plans, key).trigger(name, variables)


def _template_key(
    state: ApiState, name: str, token: str, variables: dict[str, str]
) -> JobView | None:
    """The job a template's own trigger key creates; None when ``token`` is not that key."""
    templates = state.runtime.templates
    try:
        view = templates.show(name)
    except NotFoundError:
        return None
    if not view.has_trigger_key:
        return None
    try:
        return templates.trigger(name, token, variables).job
    except PermissionDenied as exc:
        if str(exc).startswith("bad trigger key"):
            return None
        raise


async def status(request: Request) -> PlainTextResponse:
    fields = unique_query(request)
    jobs = api_state(request).runtime.jobs
    job = await acting(request, "view", fields, lambda _: jobs.show(job_token(fields)))
    return text(otter_status(job.state))


async def logs(request: Request) -> PlainTextResponse:
    fields = unique_query(request)
    state = api_state(request)
    lines = await acting(request, "view", fields, lambda _: whole_log(state, job_token(fields)))
    return PlainTextResponse("".join(otter_log_line(x) + "\n" for x in lines))


def whole_log(state: ApiState, job_id: int) -> list[LogView]:
    out: list[LogView] = []
    while True:
        after = out[-1].seq if out else 0
        page = state.runtime.jobs.logs(job_id, after_seq=after, limit=LOG_PAGE)
        out += page
        if len(page) < LOG_PAGE:
            return out


def job_token(fields: dict[str, str]) -> int:
    token = fields.get("token", "")
    if not token.isdigit():
        raise Refused(400, "missing or malformed 'token': give the token trigger answered")
    return int(token)


async def remediate(request: Request) -> PlainTextResponse:
    fields = unique_query(request)
    state = api_state(request)
    path = request.path_params
    job = await acting(
        request, "remediate", fields, lambda key: _remediated(state, key, path, fields)
    )
    return text(str(job.id))


def _remediated(
    state: ApiState, key: ApiKeyView, path: dict[str, Any], fields: dict[str, str]
) -> JobView:
    """The remediation job of the path's target (on a worker, after the key was checked)."""
    kind, name = path["kind"], path["name"]
    if not flag(fields, "start", True):
        raise Refused(400, "start=false is not supported: a remediation job starts when claimed")
    targets = {
        "server": TargetSpec(servers=(name,)),
        "role": TargetSpec(roles=(name,)),
        "environment": TargetSpec(environments=(name,)),
    }.get(kind)
    if targets is None:
        raise Refused(404, f"unknown target kind '{kind}' (use server, role or environment)")
    keyed = KeyedJobs(state.runtime.ctx, state.runtime.plans, key)
    simulate = flag(fields, "simulate", False)
    return keyed.remediate(targets, simulation=simulate, label=fields.get("job", ""))


def flag(fields: dict[str, str], name: str, default: bool) -> bool:
    value = fields.get(name, "").strip().lower()
    if not value:
        return default
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise Refused(400, f"'{name}' must be true or false, got {value!r}")


ROUTES = [
    Route("/api/jobs/trigger", trigger, methods=["GET", "POST"]),
    Route("/api/jobs/status", status, methods=["GET"]),
    Route("/api/jobs/logs", logs, methods=["GET"]),
    Route(
        "/api/configuration/remediate/{kind}/{name}",
        remediate,
        methods=["GET", "POST"],
    ),
]

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

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from otter_tui.api.auth import bad_key, caller, check_rate, key_for, require_scope, token_of
from otter_tui.api.bodies import body_fields, text_value, unique_query
from otter_tui.api.refusals import Refused
from otter_tui.api.state import ApiState, api_state
from otter_tui.errors import NotFoundError, PermissionDenied
from otter_tui.services.api_jobs import KeyedJobs
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
    key = await key_for(request, token)
    if key is None:
        job = await asyncio.to_thread(_template_key, state, name, token, variables)
        if job is None:
            raise bad_key(request)
    else:
        require_scope(key, "trigger")
        keyed = KeyedJobs(state.runtime.ctx, state.runtime.plans, key)
        job = await asyncio.to_thread(keyed.trigger, name, variables)
    return text(str(job.id))


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
    await caller(request, "view", fields)
    job = await asyncio.to_thread(api_state(request).runtime.jobs.show, job_token(fields))
    return text(otter_status(job.state))


async def logs(request: Request) -> PlainTextResponse:
    fields = unique_query(request)
    await caller(request, "view", fields)
    lines = await asyncio.to_thread(whole_log, api_state(request), job_token(fields))
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
    kind, name = request.path_params["kind"], request.path_params["name"]
    fields = unique_query(request)
    key = await caller(request, "remediate", fields)
    if not flag(fields, "start", True):
        raise Refused(400, "start=false is not supported: a remediation job starts when claimed")
    targets = {
        "server": TargetSpec(servers=(name,)),
        "role": TargetSpec(roles=(name,)),
        "environment": TargetSpec(environments=(name,)),
    }.get(kind)
    if targets is None:
        raise Refused(404, f"unknown target kind '{kind}' (use server, role or environment)")
    state = api_state(request)
    keyed = KeyedJobs(state.runtime.ctx, state.runtime.plans, key)
    simulate = flag(fields, "simulate", False)
    label = fields.get("job", "")
    job = await asyncio.to_thread(keyed.remediate, targets, simulation=simulate, label=label)
    return text(str(job.id))


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

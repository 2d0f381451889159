"""``/v1/jobs``: list with filters, create from a plan or a template, show, cancel, logs by page.

Every call carries a key; reading needs any scope, creating and cancelling the ``trigger`` scope.
Creating and cancelling act as the key's owner, through the same services as the CLI.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from otter_tui.api.auth import acting
from otter_tui.api.bodies import job_id, json_fields, known_query, number, text_value, unique_query
from otter_tui.api.refusals import Refused
from otter_tui.api.render import Json
from otter_tui.api.state import ApiState, api_state
from otter_tui.api.stream import LogPage, log_page, stream_logs
from otter_tui.services.api_jobs import KeyedJobs
from otter_tui.services.api_keys import ApiKeyView
from otter_tui.services.context import ServiceContext
from otter_tui.services.job_queries import JobFilter, find_jobs
from otter_tui.services.jobs import JobRequest, JobService, JobView
from otter_tui.targeting import TargetSpec

CREATE_FIELDS = ("plan", "template", "targets", "variables", "simulation", "queue", "run_at")
TARGET_FIELDS = ("servers", "roles", "environments", "include_inactive")
LIST_FIELDS = ("state", "plan", "requested_by", "before", "limit", "key")
PAGE = 1000


async def list_jobs(request: Request) -> Json:
    fields = known_query(request, LIST_FIELDS)
    ctx = api_state(request).runtime.ctx
    return Json({"jobs": await acting(request, "view", fields, lambda _: _found(ctx, fields))})


def _found(ctx: ServiceContext, fields: dict[str, str]) -> list[JobView]:
    where = JobFilter(
        states=tuple(x for x in fields.get("state", "").split(",") if x),
        plan=fields.get("plan", ""),
        requested_by=fields.get("requested_by", ""),
        before=number(fields, "before", None),
        limit=number(fields, "limit", 100) or 0,
    )
    return find_jobs(ctx, where)


async def create_job(request: Request) -> Json:
    body = await json_fields(request, CREATE_FIELDS)
    state = api_state(request)
    job = await acting(request, "trigger", body, lambda key: _create(state, key, body))
    return Json(job, status_code=201)


def _create(state: ApiState, key: ApiKeyView, body: dict[str, Any]) -> JobView:
    keyed = KeyedJobs(state.runtime.ctx, state.runtime.plans, key)
    variables = _variables(body.get("variables", {}))
    if bool(body.get("plan")) == bool(body.get("template")):
        raise Refused(400, "give exactly one of 'plan' and 'template'")
    if body.get("template"):
        extra = sorted(set(body) & {"targets", "simulation", "queue", "run_at"})
        if extra:
            raise Refused(400, f"a template fixes {', '.join(extra)}: give only its variables")
        return keyed.trigger(_text(body, "template"), variables)
    request = JobRequest(
        plan=_text(body, "plan"),
        targets=_targets(body.get("targets", {})),
        variables=variables,
        simulation=_flag(body, "simulation"),
        queue=body.get("queue") and _text(body, "queue"),
        run_at=_time(body.get("run_at")),
    )
    return keyed.create(request)


def _text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value:
        raise Refused(400, f"'{name}' must be a non-empty string")
    return value


def _flag(body: dict[str, Any], name: str) -> bool | None:
    value = body.get(name)
    if value is not None and not isinstance(value, bool):
        raise Refused(400, f"'{name}' must be true or false")
    return value


def _variables(raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise Refused(400, "'variables' must be an object of name: value")
    return {str(k): text_value(str(k), v) for k, v in raw.items()}


def _targets(raw: Any) -> TargetSpec:
    if not isinstance(raw, dict):
        raise Refused(400, "'targets' must be an object")
    unknown = sorted(set(raw) - set(TARGET_FIELDS))
    if unknown:
        raise Refused(400, f"unknown field(s) in 'targets': {', '.join(unknown)}")
    lists = {}
    for name in TARGET_FIELDS[:3]:
        names = raw.get(name, [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise Refused(400, f"'targets.{name}' must be a list of names")
        lists[name] = tuple(names)
    inactive = raw.get("include_inactive", False)
    if not isinstance(inactive, bool):
        raise Refused(400, "'targets.include_inactive' must be true or false")
    return TargetSpec(**lists, include_inactive=inactive)


def _time(raw: Any) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(str(raw))
    except ValueError:
        raise Refused(400, f"'run_at' must be an ISO 8601 time, got {raw!r}") from None
    if moment.tzinfo is None:
        raise Refused(400, "'run_at' needs a UTC offset (e.g. 2030-01-01T02:00:00+00:00)")
    return moment


async def show_job(request: Request) -> Json:
    jobs = api_state(request).runtime.jobs
    fields = known_query(request, ())
    return Json(await acting(request, "view", fields, lambda _: jobs.show(job_id(request))))


async def cancel_job(request: Request) -> Json:
    body = await json_fields(request, ())
    state = api_state(request)

    def cancel(key: ApiKeyView) -> JobView:
        jobs = JobService(state.ctx_for(key.owner), state.runtime.plans)
        return jobs.cancel(job_id(request))

    return Json(await acting(request, "trigger", {**unique_query(request), **body}, cancel))


async def job_logs(request: Request) -> Json:
    fields = known_query(request, ("after", "server", "limit"))
    state = api_state(request)

    def read(_: ApiKeyView) -> LogPage:
        limit = number(fields, "limit", PAGE) or PAGE
        after = number(fields, "after", 0) or 0
        job = job_id(request)
        return log_page(state, job, after, fields.get("server", ""), min(limit, PAGE))

    page = await acting(request, "view", fields, read)
    return Json({"lines": page.lines, "after": page.after, "more": page.more})


ROUTES = [
    Route("/v1/jobs", list_jobs, methods=["GET"]),
    Route("/v1/jobs", create_job, methods=["POST"]),
    Route("/v1/jobs/{job_id}", show_job, methods=["GET"]),
    Route("/v1/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
    Route("/v1/jobs/{job_id}/logs", job_logs, methods=["GET"]),
    Route("/v1/jobs/{job_id}/logs/stream", stream_logs, methods=["GET"]),
]

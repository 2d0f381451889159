"""``/v1/approvals``, ``/v1/schedules`` and ``/v1/drift``: reading, and deciding on jobs.

Approving and denying act as the key's owner through the approval service, so the four-eyes rule
holds over HTTP as at the keyboard: the requester (the owner of the key that created a job, too)
cannot decide on their own job.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from otter_tui.api.auth import acting
from otter_tui.api.bodies import json_fields, unique_query
from otter_tui.api.refusals import Refused
from otter_tui.api.render import Json
from otter_tui.api.state import ApiState, api_state
from otter_tui.services.api_keys import ApiKeyView
from otter_tui.services.approvals import ApprovalService
from otter_tui.services.drift import DriftService
from otter_tui.services.jobs import JobView
from otter_tui.services.schedules import ScheduleService

NEXT_FIRINGS = 3


async def list_approvals(request: Request) -> Json:
    approvals = api_state(request).runtime.approvals
    fields = unique_query(request)
    return Json({"jobs": await acting(request, "view", fields, lambda _: approvals.pending())})


async def decide(request: Request) -> Json:
    body = await json_fields(request, ("comment",))
    state = api_state(request)

    def act(key: ApiKeyView) -> JobView:
        comment = body.get("comment", "")
        if not isinstance(comment, str):
            raise Refused(400, "'comment' must be a string")
        raw, verb = request.path_params["job_id"], request.path_params["decision"]
        if not raw.isdigit() or verb not in ("approve", "deny"):
            raise Refused(404, f"no such decision: {verb} on job {raw}")
        approvals = ApprovalService(state.ctx_for(key.owner), state.runtime.plans)
        decided = approvals.approve if verb == "approve" else approvals.deny
        return decided(int(raw), comment)

    return Json(await acting(request, "trigger", {**unique_query(request), **body}, act))


async def list_schedules(request: Request) -> Json:
    state = api_state(request)
    found = await acting(request, "view", unique_query(request), lambda _: _schedules(state))
    return Json({"schedules": found})


def _schedules(state: ApiState) -> list[dict[str, Any]]:
    service = ScheduleService(state.runtime.ctx, state.runtime.plans)
    out = []
    for view in service.list_schedules():
        entry = view.as_dict()
        entry["rule"] = view.rule
        upcoming = service.upcoming(view.name, NEXT_FIRINGS) if view.enabled else None
        entry["next_firings"] = [] if upcoming is None else upcoming.as_dict()["firings"]
        out.append(entry)
    return out


async def drift(request: Request) -> Json:
    service = DriftService(api_state(request).runtime.ctx)
    fields = unique_query(request)
    servers, groups = await acting(
        request, "view", fields, lambda _: (service.servers(), service.groups())
    )
    return Json({"servers": servers, **groups})


async def drift_of_server(request: Request) -> Json:
    service = DriftService(api_state(request).runtime.ctx)
    server = request.path_params["server"]
    items = await acting(request, "view", unique_query(request), lambda _: service.items(server))
    return Json({"server": server, "items": items})


ROUTES = [
    Route("/v1/approvals", list_approvals, methods=["GET"]),
    Route("/v1/approvals/{job_id}/{decision}", decide, methods=["POST"]),
    Route("/v1/schedules", list_schedules, methods=["GET"]),
    Route("/v1/drift", drift, methods=["GET"]),
    Route("/v1/drift/{server}", drift_of_server, methods=["GET"]),
]

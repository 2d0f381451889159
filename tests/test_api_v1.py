"""The JSON API against a real uvicorn: jobs (list, create, show, cancel, logs by page),
approvals with the four-eyes rule, schedules with their next firings, drift."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import httpx
import pytest

from otter_tui.runtime import Runtime
from otter_tui.services.context import system_clock
from otter_tui.services.jobs import JobRequest
from otter_tui.services.schedules import ScheduleFields, ScheduleService
from otter_tui.services.templates import TemplateFields
from otter_tui.targeting import TargetSpec
from tests.api_support import api_runtime, issue_key, serving
from tests.engine_support import run_now


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = api_runtime(tmp_path, clock=system_clock)
    yield runtime
    runtime.close()


def key_of(rt: Runtime, owner: str, scope: str = "trigger", **limits: tuple[str, ...]) -> str:
    return issue_key(rt, owner, scope, **limits)


def client(url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=20)


@pytest.fixture
def url(rt: Runtime) -> Iterator[str]:
    with serving(rt) as base:
        yield base


def test_create_show_list_and_cancel_jobs(rt: Runtime, url: str) -> None:
    bob = client(url, key_of(rt, "bob"))
    made = bob.post("/v1/jobs", json={"plan": "api_plans.Greet", "variables": {"who": "api"}})
    assert made.status_code == 201, made.text
    job = made.json()
    assert (job["state"], job["requested_by"], job["variables"]) == (
        "queued",
        "bob",
        {"who": "api"},  # what was given; the plan's default applies at run time, lowest layer
    )
    rt.templates.add("greet", TemplateFields(plan="api_plans.Greet", variables={"who": "t"}))
    from_template = bob.post("/v1/jobs", json={"template": "greet", "variables": {"times": 3}})
    assert from_template.json()["variables"] == {"who": "t", "times": 3}
    shown = bob.get(f"/v1/jobs/{job['id']}").json()
    assert (shown["id"], shown["plan_name"]) == (job["id"], "Greet")
    listed = bob.get("/v1/jobs", params={"plan": "Greet", "requested_by": "bob"}).json()["jobs"]
    assert [j["id"] for j in listed] == [from_template.json()["id"], job["id"]]
    assert bob.get("/v1/jobs", params={"state": "running"}).json()["jobs"] == []
    assert bob.get("/v1/jobs", params={"before": job["id"]}).json()["jobs"] == []
    cancelled = bob.post(f"/v1/jobs/{job['id']}/cancel")
    assert cancelled.json()["state"] == "cancelled"
    again = bob.post(f"/v1/jobs/{job['id']}/cancel")
    assert again.status_code == 409 and "already finished" in again.json()["error"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"plan": "api_plans.Greet", "colour": "red"}, "unknown field(s) 'colour'"),
        ({"plan": "api_plans.Greet", "targets": {"hosts": []}}, "unknown field(s) in 'targets'"),
        ({"variables": {"who": "x"}}, "give exactly one of 'plan' and 'template'"),
        ({"plan": "api_plans.Greet"}, "missing required variable 'who'"),
        ({"plan": "api_plans.Greet", "variables": ["who"]}, "'variables' must be an object"),
        ({"plan": "api_plans.Greet", "simulation": "yes"}, "'simulation' must be true or false"),
        ({"plan": "api_plans.Greet", "run_at": "tomorrow"}, "'run_at' must be an ISO 8601"),
    ],
)
def test_bad_job_requests_are_400_naming_the_problem(
    rt: Runtime, url: str, body: dict[str, object], message: str
) -> None:
    answer = client(url, key_of(rt, "bob")).post("/v1/jobs", json=body)
    assert answer.status_code == 400
    assert message in answer.json()["error"]


def test_unknown_query_parameters_are_named(rt: Runtime, url: str) -> None:
    answer = client(url, key_of(rt, "bob", "view")).get("/v1/jobs", params={"colour": "red"})
    assert (answer.status_code, answer.json()["error"]) == (400, "unknown parameter(s) colour")


def test_a_view_key_reads_but_cannot_create_or_cancel(rt: Runtime, url: str) -> None:
    view = client(url, key_of(rt, "bob", "view"))
    assert view.get("/v1/jobs").status_code == 200
    refused = view.post("/v1/jobs", json={"plan": "api_plans.Greet", "variables": {"who": "x"}})
    assert refused.status_code == 403
    assert "scope 'view': it may not trigger" in refused.json()["error"]
    assert view.post("/v1/jobs/1/cancel").status_code == 403


def test_a_key_bound_to_dev_cannot_start_jobs_on_prod(rt: Runtime, url: str) -> None:
    dev = client(url, key_of(rt, "bob", environments=("dev",)))
    body = {"plan": "api_plans.Greet", "variables": {"who": "x"}}
    ok = dev.post("/v1/jobs", json={**body, "targets": {"environments": ["dev"]}})
    assert ok.status_code == 201
    refused = dev.post("/v1/jobs", json={**body, "targets": {"servers": ["prod1"]}})
    assert refused.status_code == 403 and "prod1" in refused.json()["error"]


def test_logs_by_page_and_by_server(rt: Runtime, url: str) -> None:
    web = TargetSpec(roles=("web",))
    job = rt.jobs.create(
        JobRequest(plan="api_plans.Greet", targets=web, variables={"who": "x", "times": "3"})
    )
    assert run_now(rt, job.id) == "warning"
    everything = [(x.seq, x.server) for x in rt.jobs.logs(job.id)]
    bob = client(url, key_of(rt, "bob", "view"))
    seen, after = [], 0
    while True:
        page = bob.get(f"/v1/jobs/{job.id}/logs", params={"after": after, "limit": 2}).json()
        seen += [(x["seq"], x["server"]) for x in page["lines"]]
        after = page["after"]
        if not page["more"]:
            break
    assert seen == everything
    one = bob.get(f"/v1/jobs/{job.id}/logs", params={"server": "demo-web2"}).json()["lines"]
    assert one and {x["server"] for x in one} == {"demo-web2"}
    assert [x["text"] for x in one].count("hello x") == 3


def test_approvals_keep_the_four_eyes_rule(rt: Runtime, url: str) -> None:
    rt.users.add("dave", permissions=("jobs.approve",))
    bob, dave = client(url, key_of(rt, "bob")), client(url, key_of(rt, "dave"))
    job = bob.post("/v1/jobs", json={"plan": "api_plans.Gated"}).json()
    assert job["state"] == "pending_approval"
    assert [j["id"] for j in dave.get("/v1/approvals").json()["jobs"]] == [job["id"]]
    own = bob.post(f"/v1/approvals/{job['id']}/approve", json={"comment": "mine"})
    assert own.status_code == 403
    assert "requested job" in own.json()["error"] and "may not decide" in own.json()["error"]
    decided = dave.post(f"/v1/approvals/{job['id']}/approve", json={"comment": "looks fine"})
    assert decided.status_code == 200 and decided.json()["state"] == "queued"
    assert dave.post(f"/v1/approvals/{job['id']}/deny").status_code == 409


def test_schedules_show_their_next_firings(rt: Runtime, url: str) -> None:
    ScheduleService(rt.ctx, rt.plans).add(
        "hourly", ScheduleFields(plan="api_plans.Greet", cron="0 * * * *", variables={"who": "h"})
    )
    listed = client(url, key_of(rt, "bob", "view")).get("/v1/schedules").json()["schedules"]
    assert [s["name"] for s in listed] == ["hourly"]
    firings = [f["utc"] for f in listed[0]["next_firings"]]
    assert len(firings) == 3
    moments = [datetime.fromisoformat(x) for x in firings]
    assert all(b - a == timedelta(hours=1) for a, b in pairwise(moments))
    assert all(m.minute == 0 for m in moments)


def test_drift_lists_servers_and_groups(rt: Runtime, url: str) -> None:
    answer = client(url, key_of(rt, "bob", "view")).get("/v1/drift").json()
    assert {s["server"] for s in answer["servers"]} >= {"demo-web1", "prod1"}
    assert answer["environments"]["prod"] == "never checked"
    items = client(url, key_of(rt, "carol", "view")).get("/v1/drift/demo-web1").json()
    assert items == {"server": "demo-web1", "items": []}

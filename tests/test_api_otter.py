"""The Otter-compatible endpoints against a real uvicorn: a script that worked with Otter works
here, keys are accepted the ways Otter accepts them, and scopes and limits hold."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from otter_tui.runtime import Runtime
from otter_tui.services.context import system_clock
from otter_tui.services.templates import TemplateFields
from otter_tui.store.models import AuditEvent, Job
from otter_tui.targeting import TargetSpec
from tests.api_support import api_runtime, issue_key, serving
from tests.engine_support import run_now


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = api_runtime(tmp_path, clock=system_clock)
    runtime.templates.add("greet", TemplateFields(plan="api_plans.Greet"))
    runtime.templates.add(
        "greet-dev", TemplateFields(plan="api_plans.Greet", targets=TargetSpec(roles=("web",)))
    )
    yield runtime
    runtime.close()


@pytest.fixture
def http(rt: Runtime) -> Iterator[httpx.Client]:
    with serving(rt) as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client


def key(rt: Runtime, scope: str, owner: str = "bob", **limits: tuple[str, ...]) -> str:
    return issue_key(rt, owner, scope, **limits)


def job(rt: Runtime, job_id: int) -> Job:
    with rt.db.session() as s:
        found = s.get(Job, job_id)
        assert found is not None
        return found


def test_trigger_status_logs_round_trip(rt: Runtime, http: httpx.Client) -> None:
    trigger, view = key(rt, "trigger"), key(rt, "view")
    answer = http.get(
        "/api/jobs/trigger",
        params={"template": "greet", "who": "world", "times": "2"},
        headers={"X-ApiKey": trigger},
    )
    assert answer.status_code == 200, answer.text
    token = answer.text.strip()
    created = job(rt, int(token))
    assert (created.variables, created.requested_by) == ({"who": "world", "times": 2}, "bob")
    status = http.get("/api/jobs/status", params={"token": token}, headers={"X-ApiKey": view})
    assert status.text == "Pending\n"
    assert run_now(rt, int(token)) == "warning"
    status = http.get("/api/jobs/status", params={"token": token}, headers={"X-ApiKey": view})
    assert status.text == "Warning\n"
    logs = http.get("/api/jobs/logs", params={"token": token}, headers={"X-ApiKey": view})
    lines = logs.text.splitlines()
    assert [x for x in lines if "hello" in x or "loud" in x] == [
        "INFO: hello world",
        "INFO: hello world",
        "WARN: that was loud",
    ]
    assert all(x.split(":")[0] in ("DEBUG", "INFO", "WARN", "ERROR") for x in lines)


@pytest.mark.parametrize("way", ["query", "form", "json"])
def test_keys_are_accepted_as_otter_accepts_them(rt: Runtime, http: httpx.Client, way: str) -> None:
    token = key(rt, "trigger")
    fields = {"template": "greet", "who": way}
    if way == "query":
        answer = http.post("/api/jobs/trigger", params={**fields, "key": token})
    elif way == "form":
        answer = http.post("/api/jobs/trigger", data={**fields, "key": token})
    else:
        answer = http.post("/api/jobs/trigger", json={**fields, "API_Key": token})
    assert answer.status_code == 200, answer.text
    assert job(rt, int(answer.text)).variables["who"] == way


def test_a_templates_own_trigger_key_works_too(rt: Runtime, http: httpx.Client) -> None:
    token = rt.templates.issue_trigger_key("greet")
    answer = http.post("/api/jobs/trigger?template=greet&who=old", headers={"X-ApiKey": token})
    assert answer.status_code == 200, answer.text
    assert job(rt, int(answer.text)).requested_by == "alice"


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("template=greet", 400, "missing required variable 'who' for plan Greet"),
        ("template=greet&who=x&colour=red", 400, "unknown variable 'colour' for plan Greet"),
        ("template=greet&who=x&times=many", 400, "variable 'times'"),
        ("template=nope&who=x", 404, "unknown template 'nope'"),
        ("who=x", 400, "missing 'template'"),
    ],
)
def test_a_bad_trigger_is_refused_naming_the_problem(
    rt: Runtime, http: httpx.Client, query: str, status: int, message: str
) -> None:
    answer = http.get(f"/api/jobs/trigger?{query}", headers={"X-ApiKey": key(rt, "trigger")})
    assert (answer.status_code, answer.text.count("\n")) == (status, 1)
    assert message in answer.text
    with rt.db.session() as s:
        assert s.scalar(select(Job.id)) is None


def test_scopes_and_limits_are_refused_with_403(rt: Runtime, http: httpx.Client) -> None:
    cases = [
        ("bad key", "not-a-key", "greet", "bad API key"),
        ("view key", key(rt, "view"), "greet", "scope 'view': it may not trigger"),
        (
            "other template",
            key(rt, "trigger", templates=("greet-dev",)),
            "greet",
            "template 'greet' is not open to API key",
        ),
        (
            "carol lacks jobs.run",
            key(rt, "trigger", owner="carol"),
            "greet",
            "lacks permission 'jobs.run'",
        ),
    ]
    for what, token, template, message in cases:
        answer = http.get(
            f"/api/jobs/trigger?template={template}&who=x", headers={"X-ApiKey": token}
        )
        assert answer.status_code == 403, what
        assert message in answer.text, what
    with rt.db.session() as s:
        assert s.scalar(select(Job.id)) is None
        refused = s.scalars(select(AuditEvent).where(AuditEvent.action == "api.refused"))
        assert len(list(refused)) == len(cases)


def test_revoking_a_key_or_the_owners_permission_takes_effect_at_once(
    rt: Runtime, http: httpx.Client
) -> None:
    token = key(rt, "trigger")
    url = "/api/jobs/trigger?template=greet&who=x"
    assert http.get(url, headers={"X-ApiKey": token}).status_code == 200
    rt.users.revoke("bob", "jobs.run")
    assert http.get(url, headers={"X-ApiKey": token}).status_code == 403
    rt.users.grant("bob", "jobs.run")
    rt.api_keys.revoke("bob-trigger")
    assert http.get(url, headers={"X-ApiKey": token}).text == "bad API key\n"


def test_a_key_bound_to_dev_remediates_dev_but_not_prod(rt: Runtime, http: httpx.Client) -> None:
    token = key(rt, "remediate", environments=("dev",))
    url = "/api/configuration/remediate"
    answer = http.post(
        f"{url}/environment/dev?simulate=true&job=nightly", headers={"X-ApiKey": token}
    )
    assert answer.status_code == 200, answer.text
    made = job(rt, int(answer.text))
    assert (made.plan_name, made.simulation, made.requested_by) == (
        "drift remediation",
        True,
        "bob",
    )
    for path in ("environment/prod", "server/prod1"):
        refused = http.post(f"{url}/{path}", headers={"X-ApiKey": token})
        assert refused.status_code == 403
        assert "may not reach server 'prod1' (dev)" in refused.text
    assert http.post(f"{url}/role/nope", headers={"X-ApiKey": token}).status_code == 404
    trigger_only = key(rt, "trigger")
    answer = http.post(f"{url}/server/prod1", headers={"X-ApiKey": trigger_only})
    assert "scope 'trigger': it may not remediate" in answer.text

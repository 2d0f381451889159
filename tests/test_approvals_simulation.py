"""Simulating a job that waits for approval: exactly what it requests, run without approval,
changing nothing, linked to the pending job; refused for sensitive values; approvers only."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.errors import ConflictError, PermissionDenied, UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.context import system_clock
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import AuditEvent, Job
from otter_tui.targeting import TargetSpec
from tests.engine_support import run_now, snapshot
from tests.fixtures_core import make_runtime

pytestmark = pytest.mark.both_stores

PLANS = Path(__file__).resolve().parent.parent / "plans"
DEPLOY = "demo_deploy.DemoDeploy"


@pytest.fixture
def runtime(tmp_path: Path, store_url: str | None) -> Iterator[Runtime]:
    """Admin ``alice``; deploys need an approval."""
    sections = {"paths": {"plans_dir": str(PLANS)}}
    rt = make_runtime(tmp_path, clock=system_clock, sections=sections, url=store_url)  # type: ignore[arg-type]
    rt.plans.set_enabled(DEPLOY, True)
    rt.plans.override(DEPLOY, "approval_required", "true")
    yield rt
    rt.close()


def as_user(rt: Runtime, name: str, *permissions: str) -> Runtime:
    rt.users.add(name, permissions=permissions)
    return replace(rt, ctx=rt.ctx.as_user(name))


def request_deploy(rt: Runtime) -> int:
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "9.9.9"}, False)
    job = rt.jobs.create(request)
    assert job.state == "pending_approval"
    return job.id


def test_a_simulation_runs_what_was_requested_without_approval_and_changes_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    bob = as_user(runtime, "bob", "jobs.run")
    pending = request_deploy(bob)
    assert runtime.approvals.latest_simulation(pending) is None
    sandbox = tmp_path / "data" / "sandbox"
    before = snapshot(sandbox)

    sim = runtime.approvals.simulate(pending)

    assert sim.state == "queued" and sim.simulation and not sim.approval_required
    asked = runtime.jobs.show(pending)
    assert (sim.plan_key, sim.targets, sim.variables, sim.queue) == (
        asked.plan_key,
        asked.targets,
        asked.variables,
        asked.queue,
    )
    assert sim.variables["version"] == "9.9.9"
    latest = runtime.approvals.latest_simulation(pending)
    assert latest is not None and latest.job.id == sim.id
    assert latest.describe() == f"job {sim.id} — queued"
    assert run_now(runtime, sim.id) == "succeeded"
    assert snapshot(sandbox) == before
    latest = runtime.approvals.latest_simulation(pending)
    assert latest is not None
    assert latest.describe() == f"job {sim.id} — 9 would change, 3 unknown"
    assert runtime.jobs.show(pending).state == "pending_approval"  # still waits for a decision
    again = runtime.approvals.simulate(pending)
    latest = runtime.approvals.latest_simulation(pending)
    assert latest is not None and latest.job.id == again.id
    with runtime.db.session() as s:
        audited = s.scalars(select(AuditEvent).where(AuditEvent.action == "job.simulate")).all()
    assert [(a.actor, a.object_name, a.detail) for a in audited] == [
        ("alice", str(pending), {"simulation": sim.id}),
        ("alice", str(pending), {"simulation": again.id}),
    ]


def test_only_who_may_approve_may_simulate(runtime: Runtime) -> None:
    bob = as_user(runtime, "bob", "jobs.run")
    carol = as_user(runtime, "carol", "jobs.approve")
    pending = request_deploy(bob)
    with pytest.raises(PermissionDenied, match=r"lacks permission 'jobs\.approve'"):
        bob.approvals.simulate(pending)
    sim = carol.approvals.simulate(pending)  # an approver without jobs.run
    assert sim.requested_by == "carol" and sim.state == "queued"


def test_a_job_with_sensitive_variables_is_refused_in_one_line(runtime: Runtime) -> None:
    pending = request_deploy(runtime)
    with runtime.db.transaction() as s:
        job = s.get(Job, pending)
        assert job is not None
        job.sensitive_names = ["token"]
    with pytest.raises(UsageError, match=r"^job \d+ has sensitive variables \(token\)"):
        runtime.approvals.simulate(pending)


def test_only_a_waiting_job_can_be_simulated_and_only_as_a_simulation(runtime: Runtime) -> None:
    pending = request_deploy(runtime)
    runtime.jobs.cancel(pending)
    with pytest.raises(ConflictError, match="is not waiting for approval"):
        runtime.approvals.simulate(pending)
    other = request_deploy(runtime)
    real = JobRequest(
        DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}, False, simulation_of=other
    )
    with pytest.raises(UsageError, match="must be a simulation"):
        runtime.jobs.create(real)
    assert runtime.jobs.show(other).state == "pending_approval"


def test_cli_simulates_here_and_lists_the_latest_simulation(
    runtime: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from otter_tui import cli

    bob = as_user(runtime, "bob", "jobs.run")
    pending = request_deploy(bob)
    config = ["--config", str(tmp_path / "config.toml")]

    assert cli.run([*config, "approvals", "simulate", str(pending), "--follow"], actor="alice") == 0
    out = capsys.readouterr().out.splitlines()
    latest = runtime.approvals.latest_simulation(pending)
    assert latest is not None and latest.job.state == "succeeded"
    sim = latest.job.id
    assert out[0] == f"job {pending}: simulation job {sim} queued"
    assert any(line.startswith("[demo-web1] would change: file") for line in out)
    assert out[-1] == f"job {pending}: simulation job {sim} — 9 would change, 3 unknown"

    assert cli.run([*config, "approvals", "list"], actor="alice") == 0
    listed = capsys.readouterr().out
    assert f"job {sim} — 9 would change, 3 unknown" in listed
    assert "version=9.9.9" in listed  # variables as typed with --var, not a Python dict
    assert runtime.jobs.show(pending).state == "pending_approval"

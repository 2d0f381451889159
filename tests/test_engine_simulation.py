"""Simulation of an orchestration job: the plan's logic and its probes run, nothing changes,
every change that would be made is logged and counted, commands report ``unknown``."""

from __future__ import annotations

from pathlib import Path

from otter_tui.services.context import system_clock
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, engine_runtime, log_text, run_now, snapshot
from tests.fixtures_core import make_runtime

PLANS = Path(__file__).resolve().parent.parent / "plans"


def test_demo_deploy_simulation_changes_nothing(tmp_path: Path) -> None:
    sections = {"paths": {"plans_dir": str(PLANS)}}
    rt = make_runtime(tmp_path, clock=system_clock, sections=sections)  # type: ignore[arg-type]
    rt.plans.set_enabled("demo_deploy.DemoDeploy", True)
    sandbox = tmp_path / "data" / "sandbox"
    before = snapshot(sandbox)
    request = JobRequest(
        "demo_deploy.DemoDeploy", TargetSpec(roles=("demo",)), {"version": "9.9.9"}, True
    )
    job = rt.jobs.create(request)

    assert run_now(rt, job.id) == "succeeded"

    assert snapshot(sandbox) == before
    view = rt.jobs.show(job.id)
    assert view.simulation and view.summary["simulation"] is True
    assert view.summary["changes"] == 3 * 3  # two files and a link would change on each server
    assert view.summary["unknowns"] == 3  # the restart command: its outcome cannot be known
    lines = log_text(rt, job.id, "demo-web1")
    assert any(x.startswith("would change: file") and "9.9.9/VERSION" in x for x in lines)
    assert any(x.startswith("would run: touch") for x in lines)
    assert log_text(rt, job.id)[-1].startswith("job succeeded: 3 succeeded; 9 would change")
    rt.close()


def test_simulated_command_does_not_run_on_sshd(tmp_path: Path, ssh_fleet: SshdFleet) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    [name] = add_fleet(rt, ssh_fleet, [0])
    request = JobRequest("engine_plans.Echo", TargetSpec(servers=(name,)), {"lines": "3"}, True)
    job = rt.jobs.create(request)

    assert run_now(rt, job.id) == "succeeded"

    assert log_text(rt, job.id, name) == ["would run: seq 1 3", f"done on {name}"]
    [run] = rt.jobs.show(job.id).server_runs
    assert run.unknowns == 1 and run.changes == 0
    rt.close()

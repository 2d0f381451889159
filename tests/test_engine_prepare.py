"""A job's server runs see exactly the variables ``vars resolve`` shows for their server and
role: the engine reads the cascade in bulk per job, and must not drift from the one-server path."""

from __future__ import annotations

from pathlib import Path

from otter_tui.engine.targets import prepare_job
from otter_tui.services.jobs import JobRequest
from otter_tui.services.variables import resolve_for_server
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR


def test_every_run_gets_the_cascade_of_its_server_and_role(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    inv, var = rt.inventory, rt.variables
    inv.add_environment("prod", parent=None)
    inv.add_environment("prod-eu", parent="prod")
    inv.add_server("edge1", "edge1.example", roles=("web", "db"), environments=("prod-eu",))
    var.set("global", None, "tier", "global")
    var.set("role", "web", "tier", "web")
    var.set("role", "db", "port", "5432")
    var.set("environment", "prod", "tier", "prod")
    var.set("environment", "prod", "region", "any")
    var.set("environment", "prod-eu", "region", "eu")
    var.set("server", "demo-web2", "tier", "own")
    rt.plans.set_enabled(DEPLOY, True)
    targets = TargetSpec(roles=("web", "db"), environments=("dev", "prod"))
    job = rt.jobs.create(JobRequest(DEPLOY, targets, {"version": "9.9"}))

    plan = prepare_job(rt.db, job.id, {})

    assert {(r.server.name if r.server else "", r.role) for r in plan.runs} == {
        ("demo-web1", "web"),
        ("demo-web2", "web"),
        ("demo-db1", "db"),
        ("edge1", "web"),
        ("edge1", "db"),
    }
    job_vars = rt.jobs.show(job.id).variables
    with rt.db.session() as s:
        for run in plan.runs:
            assert run.server is not None
            expected = resolve_for_server(s, run.server.name, run.role, job_vars)
            assert run.variables == expected
    edge_web = next(
        r for r in plan.runs if r.server and r.server.name == "edge1" and r.role == "web"
    )
    assert (edge_web.variables["tier"], edge_web.variables["region"]) == ("prod", "eu")

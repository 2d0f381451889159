"""Variables cascade, closest wins: job > server > environment > role > global > plan default.

A plan's declared default applies only where no layer of the inventory gives a value; the job's
log names the layer each value came from, never a secret's value.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.engine.local_run import run_claimed
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, engine_runtime, log_text, run_now

PLAN = '''
from otter_tui.plan import Int, OrchestrationPlan, RunContext, Secret, Text


class Workers(OrchestrationPlan):
    """Logs what it was given."""

    name = "Workers"
    variables = {
        "workers": Int(default=2),
        "colour": Text(default="blue"),
        "motd": Text(default="hi"),
        "token": Secret(required=False),
    }

    async def run(self, ctx: RunContext) -> None:
        v = ctx.vars
        ctx.log(f"workers={v['workers']!r} colour={v['colour']} motd={v['motd']}")
'''
KEY = "prec.Workers"


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = engine_runtime(tmp_path)
    (tmp_path / "plans" / "prec.py").write_text(PLAN)
    runtime.plans.sync()
    runtime.plans.set_enabled(KEY, True)
    add_local(runtime, "db1", roles=("db",))
    runtime.inventory.add_environment("prod")
    runtime.inventory.set_memberships("db1", add_environments=("prod",))
    yield runtime
    runtime.close()


def run_workers(rt: Runtime, **variables: str) -> list[str]:
    request = JobRequest(KEY, TargetSpec(servers=("db1",)), variables)
    view = rt.jobs.create(request)
    assert run_now(rt, view.id) == "succeeded"
    return log_text(rt, view.id, "db1")


def test_a_server_variable_outranks_the_plans_default(rt: Runtime) -> None:
    rt.variables.set("server", "db1", "workers", "9")
    assert "workers=9 colour=blue motd=hi" in run_workers(rt)


def test_every_layer_in_order(rt: Runtime) -> None:
    rt.variables.set("global", None, "colour", "grey")
    rt.variables.set("role", "db", "colour", "red")
    rt.variables.set("environment", "prod", "colour", "green")
    rt.variables.set("global", None, "motd", "global-motd")
    rt.variables.set("role", "db", "workers", "4")
    assert "workers=4 colour=green motd=global-motd" in run_workers(rt)
    assert "workers=7 colour=green motd=global-motd" in run_workers(rt, workers="7")


def test_the_job_stores_only_what_it_was_given(rt: Runtime) -> None:
    view = rt.jobs.create(JobRequest(KEY, TargetSpec(servers=("db1",)), {"workers": "7"}))
    assert view.variables == {"workers": 7}


def test_the_log_names_each_layer_and_never_a_secret(rt: Runtime) -> None:
    rt.variables.set("server", "db1", "workers", "9")
    rt.variables.set("environment", "prod", "colour", "green")
    request = JobRequest(KEY, TargetSpec(servers=("db1",)), {"token": "s3cr3t-value"})
    secrets: dict[str, object] = {}
    view = rt.jobs.create(request, secrets_out=secrets)
    state = asyncio.run(run_claimed(rt.ctx, view.id, secrets=secrets, plans=rt.plans))
    assert state == "succeeded"
    lines = log_text(rt, view.id)
    assert (
        "variables on db1: colour (environment prod), motd (plan default), "
        "token (job), workers (server db1)"
    ) in lines
    assert not any("s3cr3t-value" in line for line in lines)


def test_an_inventory_value_that_does_not_convert_fails_the_job_naming_its_layer(
    rt: Runtime,
) -> None:
    rt.variables.set("role", "db", "workers", "lots")
    view = rt.jobs.create(JobRequest(KEY, TargetSpec(servers=("db1",)), {}))
    assert run_now(rt, view.id) == "failed"
    assert rt.jobs.show(view.id).error == (
        "could not start: variable 'workers' from role db: expected an integer, got 'lots'"
    )


def test_vars_resolve_with_a_plan_shows_each_layer(
    rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    rt.variables.set("server", "db1", "workers", "9")
    rt.variables.set("role", "db", "colour", "red")
    config = str(rt.settings.source)
    argv = ["--config", config, "vars", "resolve", "db1", "--plan", KEY]
    assert run(argv, actor="alice") == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["colour", "red", "role", "db"] in rows
    assert ["motd", "hi", "plan", "default"] in rows
    assert ["workers", "9", "server", "db1"] in rows
    assert run([*argv, "--json"], actor="alice") == 0
    found = json.loads(capsys.readouterr().out)
    assert {"name": "workers", "value": "9", "source": "server db1"} in found
    assert run([*argv[:-1], "nope.Nope"], actor="alice") == 2
    assert capsys.readouterr().err == (
        "otter-tui: error: plan 'nope.Nope' is not installed (its file is gone or fails to load)\n"
    )

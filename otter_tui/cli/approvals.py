"""``approvals``: jobs waiting for approval; simulate, approve or deny (never your own)."""

from __future__ import annotations

from typing import Any

import click

from otter_tui.cli.jobs import execute_here, pass_state
from otter_tui.cli.output import emit_json, json_option, table
from otter_tui.cli_state import CliState
from otter_tui.services.approvals import SimulationView


@click.group()
def approvals() -> None:
    """Jobs waiting for approval; approve or deny (never your own)."""


@approvals.command("list")
@json_option
@pass_state
def approvals_list(state: CliState, as_json: bool) -> None:
    """Jobs waiting for approval, with their latest simulation."""
    service = state.runtime().approvals
    views = service.pending()
    simulations = service.latest_simulations([v.id for v in views])
    if as_json:
        emit_json(
            [
                {**v.as_dict(), "latest_simulation": _simulation_json(simulations.get(v.id))}
                for v in views
            ]
        )
        return
    table(
        ["id", "plan", "targets", "variables", "sim", "by", "run at", "simulated"],
        [
            (
                v.id,
                v.plan_name,
                v.targets.describe(),
                v.variables,
                v.simulation,
                v.requested_by,
                v.run_at,
                simulations[v.id].describe() if v.id in simulations else "-",
            )
            for v in views
        ],
    )


def _simulation_json(simulation: SimulationView | None) -> dict[str, Any] | None:
    if simulation is None:
        return None
    return {
        "job": simulation.job.id,
        "state": simulation.job.state,
        "summary": simulation.job.summary,
        "text": simulation.describe(),
    }


@approvals.command("simulate")
@click.argument("job_id", type=int)
@click.option("--follow", is_flag=True, help="Stream the simulation's log.")
@click.option("--detach", is_flag=True, help="Leave it queued for the console or daemon.")
@pass_state
def approvals_simulate(state: CliState, job_id: int, follow: bool, detach: bool) -> int:
    """Simulate what a waiting job requests (changes nothing, needs no approval)."""
    service = state.runtime().approvals
    view = service.simulate(job_id)
    click.echo(f"job {job_id}: simulation job {view.id} {view.state}")
    if detach:
        return 0
    code = execute_here(state, view, {}, follow)
    latest = service.latest_simulation(job_id)
    if latest is not None and latest.job.id == view.id:
        click.echo(f"job {job_id}: simulation {latest.describe()}")
    return code


@approvals.command("approve")
@click.argument("job_id", type=int)
@click.option("--comment", default="")
@pass_state
def approvals_approve(state: CliState, job_id: int, comment: str) -> None:
    view = state.runtime().approvals.approve(job_id, comment)
    click.echo(f"job {job_id}: {view.state}")


@approvals.command("deny")
@click.argument("job_id", type=int)
@click.option("--comment", default="")
@pass_state
def approvals_deny(state: CliState, job_id: int, comment: str) -> None:
    view = state.runtime().approvals.deny(job_id, comment)
    click.echo(f"job {job_id}: {view.state}")


COMMANDS = (approvals,)

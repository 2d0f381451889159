"""``drift``: check, show and remediate configuration drift (jobs run here, like ``run``)."""

from __future__ import annotations

from typing import Any

import click

from otter_tui.cli.jobs import execute_here, pass_state, spec_from, target_options
from otter_tui.cli.output import emit_json, json_option, table
from otter_tui.cli_state import CliState
from otter_tui.targeting import TargetSpec


@click.group()
def drift() -> None:
    """Configuration drift: check, show, remediate."""


@drift.command("check")
@target_options
@pass_state
def drift_check(state: CliState, /, **opts: Any) -> int:
    """Collect every configuration plan that applies to the targets (default: all servers)."""
    spec = spec_from(opts)
    view = state.runtime().jobs.create_drift(spec, remediate=False, simulation=False)
    code = execute_here(state, view, {}, follow=True)
    if spec.empty:
        _print_drift(state, None)  # the whole fleet was checked
    else:
        _print_checked(state, spec)
    return code


@drift.command("remediate")
@target_options
@click.option("--simulate", is_flag=True, help="Show what would change; change nothing.")
@pass_state
def drift_remediate(state: CliState, /, simulate: bool, **opts: Any) -> int:
    """Apply only the drifted items, then collect again to confirm."""
    view = state.runtime().jobs.create_drift(spec_from(opts), remediate=True, simulation=simulate)
    return execute_here(state, view, {}, follow=True)


@drift.command("show")
@click.argument("server", required=False)
@json_option
@pass_state
def drift_show(state: CliState, server: str | None, as_json: bool) -> None:
    """Drift status per server, or the items of one server."""
    _print_drift(state, server, as_json)


def _print_drift(state: CliState, server: str | None, as_json: bool = False) -> None:
    drift_service = state.runtime().drift
    if server is None:
        rows = drift_service.servers()
        if as_json:
            emit_json([r.as_dict() for r in rows])
        else:
            table(
                ["server", "drift", "checked", "drifted", "unknown"],
                [(r.server, r.status, r.checked_at, r.drifted, r.unknown) for r in rows],
            )
            _print_group_drift(drift_service.groups())
        return
    items = drift_service.items(server)
    if as_json:
        emit_json([i.as_dict() for i in items])
        return
    table(
        ["plan", "status", "item", "message"],
        [(i.plan_key, i.status, i.item, i.message) for i in items],
    )
    for item in items:
        if item.diff:
            click.echo(f"--- {item.item}")
            click.echo(item.diff)


def _print_checked(state: CliState, spec: TargetSpec) -> None:
    """After a check of some servers: their drift, and the roll-up of the groups it named.

    Not the whole fleet's table (that is ``drift show``): checking 100 servers of 1,000 printed
    1,000 rows, and cost the command their reading and printing."""
    runtime = state.runtime()
    rows = runtime.drift.targeted(spec)
    table(
        ["server", "drift", "checked", "drifted", "unknown"],
        [(r.server, r.status, r.checked_at, r.drifted, r.unknown) for r in rows],
    )
    if spec.roles or spec.environments:  # the roll-ups read every server's drift: only if asked
        named = {"roles": set(spec.roles), "environments": set(spec.environments)}
        _print_group_drift(runtime.drift.groups(), named)


def _print_group_drift(
    groups: dict[str, dict[str, str]], only: dict[str, set[str]] | None = None
) -> None:
    """Roles and environments roll up the worst status of their servers (``only``: these)."""
    rows = [
        (kind.rstrip("s"), name, status)
        for kind in ("roles", "environments")
        for name, status in groups[kind].items()
        if only is None or name in only[kind]
    ]
    if rows:
        click.echo()
        table(["group", "name", "drift"], rows)


COMMANDS = (drift,)

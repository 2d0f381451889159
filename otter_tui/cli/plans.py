"""``plans list|show|sync|enable|disable|override|clear-override|delete``."""

from __future__ import annotations

import click

from otter_tui.cli.output import emit_json, fields, table
from otter_tui.cli_state import CliState
from otter_tui.services.plans import PlanService, SyncReport

pass_state = click.make_pass_decorator(CliState)


def plan_service(state: CliState) -> PlanService:
    return state.runtime().plans


def _print_errors(report: SyncReport) -> None:
    for error in report.errors:
        click.echo(f"load error: {error}", err=True)


@click.group()
def plans() -> None:
    """Plans: the Python classes under plans/ and their records."""


@plans.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--no-sync", is_flag=True, help="Do not reload plan files first.")
@pass_state
def plans_list(state: CliState, as_json: bool, no_sync: bool) -> None:
    """List plan records (grouping, enabled, installed, overridden fields) and load errors."""
    service = plan_service(state)
    report = SyncReport() if no_sync else service.sync(audit=False)
    views = service.list()
    if as_json:
        emit_json(
            {"plans": [v.as_dict() for v in views], "errors": [str(e) for e in report.errors]}
        )
        return
    table(
        ["key", "kind", "grouping", "name", "enabled", "installed", "overridden"],
        [(v.key, v.kind, v.grouping, v.name, v.enabled, v.installed, v.overridden) for v in views],
    )
    _print_errors(report)


@plans.command("show")
@click.argument("plan")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def plans_show(state: CliState, plan: str, as_json: bool) -> None:
    """Show a plan record: metadata, overrides and declared variables."""
    view = plan_service(state).show(plan)
    if as_json:
        emit_json(view.as_dict())
        return
    fields([(k, v) for k, v in view.as_dict().items() if k not in ("metadata", "variables")])
    fields(view.metadata.items())
    for name, spec in view.variables.items():
        required = "required" if spec.get("required") else f"default {spec.get('default')!r}"
        secret = ", sensitive" if spec.get("sensitive") else ""
        click.echo(
            f"variable {name}: {spec.get('kind')} ({required}{secret}) {spec.get('help', '')}"
        )


@plans.command("sync")
@pass_state
def plans_sync(state: CliState) -> None:
    """Reload plan files and refresh records (overridden fields are kept)."""
    report = plan_service(state).sync()
    click.echo(
        f"{len(report.created)} new, {len(report.updated)} updated, "
        f"{len(report.uninstalled)} uninstalled, {len(report.errors)} load error(s)"
    )
    for key in report.created:
        click.echo(f"new (disabled): {key}")
    for key in report.uninstalled:
        click.echo(f"uninstalled: {key}")
    _print_errors(report)


@plans.command("enable")
@click.argument("plan")
@pass_state
def plans_enable(state: CliState, plan: str) -> None:
    """Allow a plan to run and be scheduled."""
    view = plan_service(state).set_enabled(plan, True)
    click.echo(f"enabled {view.key}")


@plans.command("disable")
@click.argument("plan")
@pass_state
def plans_disable(state: CliState, plan: str) -> None:
    """Stop a plan from running or being scheduled."""
    view = plan_service(state).set_enabled(plan, False)
    click.echo(f"disabled {view.key}")


@plans.command("override")
@click.argument("plan")
@click.argument("field_name", metavar="FIELD")
@click.argument("value")
@pass_state
def plans_override(state: CliState, plan: str, field_name: str, value: str) -> None:
    """Set FIELD on the record; a refresh will not change it until cleared."""
    plan_service(state).override(plan, field_name, value)
    click.echo(f"{plan}: {field_name} = {value} (overridden)")


@plans.command("clear-override")
@click.argument("plan")
@click.argument("field_name", metavar="FIELD")
@pass_state
def plans_clear_override(state: CliState, plan: str, field_name: str) -> None:
    """Let FIELD follow the class again."""
    view = plan_service(state).clear_override(plan, field_name)
    click.echo(f"{plan}: {field_name} = {view.metadata[field_name]!r} (from the class)")


@plans.command("delete")
@click.argument("plan")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_state
def plans_delete(state: CliState, plan: str, yes: bool) -> None:
    """Delete a plan record; its jobs and schedules keep their history, schedules are disabled."""
    if not yes:
        click.confirm(f"delete the record of plan '{plan}'?", abort=True)
    plan_service(state).delete(plan)
    click.echo(f"deleted plan record '{plan}'")


COMMANDS = (plans,)

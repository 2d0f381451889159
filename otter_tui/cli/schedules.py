"""``schedules``: add, edit, enable, disable, remove and read schedules; preview the next firings.

A bad cron line or zone is refused with one line naming the field (exit 2). Times given to
``--at``, ``--start`` and ``--end`` without an offset are wall times in ``--tz`` (default UTC);
``next`` shows each firing in the schedule's zone and in UTC, with the rule in words.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import click

from otter_tui.cli.jobs import parse_vars
from otter_tui.cli.output import csv, emit_json, fields, json_option, table
from otter_tui.cli_state import CliState
from otter_tui.scheduling import MisfirePolicy, OverlapPolicy, parse_time
from otter_tui.services.schedules import ScheduleFields, ScheduleService, ScheduleView
from otter_tui.targeting import TargetSpec

pass_state = click.make_pass_decorator(CliState)


def _service(state: CliState) -> ScheduleService:
    return state.runtime().schedules


def schedule_options(func: Any) -> Any:
    """The options ``add`` and ``edit`` share; on edit, an option not given keeps its value."""
    options = (
        click.option("--cron", default=None, help="Cron line: 5 fields or @hourly, @daily..."),
        click.option("--at", "at", default=None, help="One run at this time (wall time in --tz)."),
        click.option("--tz", "timezone", default=None, help="IANA time zone (default UTC)."),
        click.option("--start", default=None, help="No firing before this time (in --tz)."),
        click.option("--end", default=None, help="No firing after this time (in --tz)."),
        click.option("--servers", default=None, help="Comma-separated servers."),
        click.option("--roles", default=None, help="Comma-separated roles."),
        click.option("--environments", default=None, help="Comma-separated environments."),
        click.option("--include-inactive", is_flag=True, default=None, help="Also inactive."),
        click.option("--var", "variables", multiple=True, metavar="NAME=VALUE"),
        click.option("--simulate/--no-simulate", default=None, help="Default: the plan's."),
        click.option("--queue", default=None, help="Job queue (default: the plan's)."),
        click.option("--misfire", type=click.Choice([p.value for p in MisfirePolicy])),
        click.option("--overlap", type=click.Choice([p.value for p in OverlapPolicy])),
        click.option("--grace", "grace_seconds", type=int, default=None, help="Seconds."),
        click.option("--cap", "misfire_cap", type=int, default=None, help="run_all cap."),
        click.option("--approval/--no-approval", "approval_required", default=None),
    )
    for option in reversed(options):
        func = option(func)
    return func


def _targets(opts: dict[str, Any]) -> TargetSpec | None:
    given = [opts[k] for k in ("servers", "roles", "environments")]
    if all(value is None for value in given) and opts["include_inactive"] is None:
        return None
    servers, roles, environments = (csv(value) for value in given)
    return TargetSpec(servers, roles, environments, bool(opts["include_inactive"]))


def _variables(pairs: tuple[str, ...]) -> dict[str, str] | None:
    """None when no --var was given: an edit then keeps the schedule's variables."""
    return parse_vars(pairs) if pairs else None


def fields_from(opts: dict[str, Any], plan: str | None) -> ScheduleFields:
    return ScheduleFields(
        plan=plan,
        cron=opts["cron"],
        at=parse_time("--at", opts["at"]),
        timezone=opts["timezone"],
        start=parse_time("--start", opts["start"]),
        end=parse_time("--end", opts["end"]) if opts["end"] != "never" else None,
        clear_end=opts["end"] == "never",
        targets=_targets(opts),
        variables=_variables(opts["variables"]),
        simulation=opts["simulate"],
        queue=opts["queue"],
        misfire=opts["misfire"],
        overlap=opts["overlap"],
        grace_seconds=opts["grace_seconds"],
        misfire_cap=opts["misfire_cap"],
        approval_required=opts["approval_required"],
    )


def _row(view: ScheduleView) -> tuple[object, ...]:
    return (
        view.name,
        view.enabled,
        view.plan_name,
        view.rule,
        view.timezone,
        view.next_due_at,
        view.misfire_policy,
        view.overlap_policy,
        view.error or "",
    )


@click.group()
def schedules() -> None:
    """Schedules: cron lines in a time zone (or one time) that create jobs."""


@schedules.command("list")
@json_option
@pass_state
def schedules_list(state: CliState, /, as_json: bool) -> None:
    """Every schedule, with its next firing (UTC)."""
    views = _service(state).list_schedules()
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    headers = ["name", "enabled", "plan", "rule", "zone", "next (utc)", "misfire", "overlap"]
    table([*headers, "error"], [_row(v) for v in views])


@schedules.command("show")
@click.argument("name")
@click.option("--firings", "limit", default=10, show_default=True, help="Recent firings shown.")
@json_option
@pass_state
def schedules_show(state: CliState, /, name: str, limit: int, as_json: bool) -> None:
    """One schedule and its most recent firings (what ran, what was missed or skipped, why)."""
    service = _service(state)
    view, firings = service.show(name), service.firings(name, limit)
    if as_json:
        emit_json({**view.as_dict(), "firings": [f.as_dict() for f in firings]})
        return
    fields([(k, v) for k, v in view.as_dict().items() if k != "targets"])
    fields([("targets", view.targets.describe())])
    table(
        ["due (utc)", "firing", "job", "note"],
        [(f.due_at, f.state, f.job_id, f.note) for f in firings],
    )


@schedules.command("add")
@click.argument("name")
@click.argument("plan")
@schedule_options
@click.option("--disabled", is_flag=True, help="Create it disabled.")
@pass_state
def schedules_add(state: CliState, /, name: str, plan: str, disabled: bool, **opts: Any) -> None:
    """Add schedule NAME running PLAN on a cron line (--cron) or once (--at)."""
    base = fields_from(opts, plan)
    view = _service(state).add(name, replace(base, enabled=not disabled))
    click.echo(
        f"schedule {view.name} added: {view.description} ({view.timezone}); next {_next(view)}"
    )


@schedules.command("edit")
@click.argument("name")
@click.option("--plan", default=None, help="Run another plan.")
@schedule_options
@pass_state
def schedules_edit(state: CliState, /, name: str, plan: str | None, **opts: Any) -> None:
    """Change a schedule; options not given keep their value (--end never: no end)."""
    view = _service(state).edit(name, fields_from(opts, plan))
    click.echo(f"schedule {view.name}: {view.description} ({view.timezone}); next {_next(view)}")


@schedules.command("enable")
@click.argument("name")
@pass_state
def schedules_enable(state: CliState, /, name: str) -> None:
    """Enable it: firings resume from the next one after now (none are owed)."""
    view = _service(state).set_enabled(name, True)
    click.echo(f"schedule {view.name} enabled; next {_next(view)}")


@schedules.command("disable")
@click.argument("name")
@pass_state
def schedules_disable(state: CliState, /, name: str) -> None:
    """Disable it: nothing it would fire runs until it is enabled again."""
    view = _service(state).set_enabled(name, False)
    click.echo(f"schedule {view.name} disabled")


@schedules.command("rm")
@click.argument("name")
@pass_state
def schedules_rm(state: CliState, /, name: str) -> None:
    """Remove it and its firing records; the jobs it created stay."""
    _service(state).remove(name)
    click.echo(f"schedule {name} removed")


@schedules.command("next")
@click.argument("name")
@click.argument("count", type=int, default=5)
@json_option
@pass_state
def schedules_next(state: CliState, /, name: str, count: int, as_json: bool) -> None:
    """The next COUNT firings (default 5) in the schedule's zone and in UTC."""
    upcoming = _service(state).upcoming(name, count)
    if as_json:
        emit_json(upcoming.as_dict())
        return
    view = upcoming.schedule
    status = "" if view.enabled else " (disabled: these will not run until it is enabled)"
    click.echo(f"{view.name}: {upcoming.description} ({view.timezone}){status}")
    table(
        [f"local ({view.timezone})", "utc"],
        [
            (f"{local:%Y-%m-%d %H:%M %Z}", f"{moment:%Y-%m-%d %H:%M}")
            for local, moment in upcoming.firings
        ],
    )
    if not upcoming.firings:
        click.echo("no firings ahead (ended, or a one-shot already due)")


def _next(view: ScheduleView) -> str:
    return f"{view.next_due_at:%Y-%m-%d %H:%M} UTC" if view.next_due_at else "none"


COMMANDS = (schedules,)

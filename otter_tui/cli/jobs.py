"""``run`` and ``jobs``: create and follow jobs (``drift`` and ``approvals`` build on these).

``run`` creates the job as a row, claims it and runs it in this process, streaming each server's
lines prefixed with its name; its exit code is the job's result (0 succeeded or warning, 1
otherwise). ``--detach`` leaves the job queued for the console or the daemon instead.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import click

from otter_tui.cli.output import csv, emit_json, fields, json_option, table
from otter_tui.cli.secrets_input import (
    ask_secrets,
    from_stdin,
    read_var_file,
    refuse_argv_secrets,
)
from otter_tui.cli_state import CliState
from otter_tui.engine.local_run import run_claimed
from otter_tui.errors import UsageError
from otter_tui.events import LogLine
from otter_tui.heap import settle_for_long_run
from otter_tui.services import server_locks
from otter_tui.services.jobs import JobRequest, JobService, JobView, LogView
from otter_tui.store.models import JobState
from otter_tui.targeting import TargetSpec
from otter_tui.text import visible

pass_state = click.make_pass_decorator(CliState)
OK_STATES = {"succeeded", "warning"}
MARKERS = {"warn": "! ", "warning": "! ", "error": "x "}
"""Log levels shown with a marker; plans log ``warning``, the engine's own notes ``warn``."""
LOG_PAGE = 10_000


def target_options(func: Any) -> Any:
    for option in reversed(
        (
            click.option("--servers", default="", help="Comma-separated servers."),
            click.option("--roles", default="", help="Comma-separated roles."),
            click.option("--environments", default="", help="Comma-separated environments."),
            click.option("--include-inactive", is_flag=True, help="Also run on inactive servers."),
        )
    ):
        func = option(func)
    return func


def spec_from(opts: dict[str, Any]) -> TargetSpec:
    return TargetSpec(
        csv(opts.pop("servers")),
        csv(opts.pop("roles")),
        csv(opts.pop("environments")),
        opts.pop("include_inactive"),
    )


def parse_vars(pairs: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--var takes NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


def parse_when(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"--at takes an ISO time with a zone, e.g. 2026-12-01T03:00+01:00; got {text!r}"
        ) from None
    if when.tzinfo is None:
        raise UsageError(f"--at needs a time zone (e.g. +00:00 or Z), got {text!r}")
    return when


def run_variables(state: CliState, plan: str, opts: dict[str, Any]) -> dict[str, str]:
    """``--var-file``, then ``--var`` (``NAME=@-`` from stdin), then prompts for secrets."""
    argv_vars = parse_vars(opts["variables"])
    sensitive = [
        name
        for name, declared in state.runtime_for_plan(plan).plans.show(plan).variables.items()
        if declared.get("sensitive")
    ]
    if not opts["allow_argv_secrets"]:
        refuse_argv_secrets(argv_vars, sensitive)
    file_vars = read_var_file(opts["var_file"]) if opts["var_file"] else {}
    given = from_stdin({**file_vars, **argv_vars})
    return {**given, **ask_secrets(sensitive, given)}


def print_lines(lines: Sequence[LogLine | LogView]) -> None:
    """A batch of lines in one write: ``click.echo`` flushes (and checks the terminal) per
    call, which per line was most of the CPU a big fan-out spent printing its log."""
    if lines:
        click.echo("".join(format_line(line) + "\n" for line in lines), nl=False)


def format_line(line: LogLine | LogView) -> str:
    marker = MARKERS.get(line.level, "")
    return f"[{line.server or 'job'}] {marker}{visible(line.text)}"


def finish(view: JobView) -> int:
    click.echo(f"job {view.id} {view.state}" + (f": {view.error}" if view.error else ""))
    return 0 if view.state in OK_STATES else 1


def execute_here(state: CliState, view: JobView, secrets: dict[str, Any], follow: bool) -> int:
    """Claim and run a queued job in this process; print where it stands otherwise."""
    runtime = state.runtime()
    if view.state != JobState.QUEUED.value:
        click.echo(f"job {view.id} created: {view.state}")
        return 0
    settle_for_long_run()  # a job that streams its log is a long run (otter_tui/heap.py)
    result = asyncio.run(
        run_claimed(
            runtime.ctx,
            view.id,
            secrets=secrets,
            plans=runtime.plans,
            on_batch=print_lines if follow else None,
        )
    )
    if result is None:
        click.echo(
            f"job {view.id} was claimed by another worker; follow it with jobs logs --follow"
        )
        return 0
    return finish(runtime.jobs.brief(view.id))


@click.command("run")
@click.argument("plan")
@target_options
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="A job variable.")
@click.option(
    "--var-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="NAME=VALUE lines (for sensitive values: not in ps or history).",
)
@click.option("--allow-argv-secrets", is_flag=True, help="Accept a sensitive value typed as --var.")
@click.option("--simulate/--no-simulate", default=None, help="Simulate (default: the plan's).")
@click.option("--queue", default=None, help="The job queue (default: the plan's).")
@click.option("--at", "at", default=None, help="Run at this ISO time (with zone) instead of now.")
@click.option("--follow/--quiet", default=True, help="Stream the log (default) or not.")
@click.option("--detach", is_flag=True, help="Leave the job queued for the console or daemon.")
@click.option("--no-wait", is_flag=True, help="Refuse if an exclusive plan's server is busy.")
@pass_state
def run_command(state: CliState, /, plan: str, **opts: Any) -> int:
    """Run PLAN now (or --at a time); asks (hidden) for sensitive values not given."""
    spec = spec_from(opts)
    request = JobRequest(
        plan=plan,
        targets=spec,
        variables=run_variables(state, plan, opts),
        simulation=opts["simulate"],
        queue=opts["queue"],
        run_at=parse_when(opts["at"]),
    )
    secrets: dict[str, Any] = {}
    if opts["no_wait"]:
        server_locks.refuse_if_busy(state.runtime_for_plan(plan).ctx, plan, spec)
    view = state.runtime_for_plan(plan).jobs.create(request, secrets_out=secrets)
    if opts["detach"]:
        click.echo(f"job {view.id} created: {view.state}")
        return 0
    return execute_here(state, view, secrets, opts["follow"])


@click.group()
def jobs() -> None:
    """Jobs: list, show, logs, cancel, edit."""


@jobs.command("list")
@click.option("--limit", default=50, show_default=True)
@click.option("--state", "states", multiple=True, type=click.Choice([s.value for s in JobState]))
@json_option
@pass_state
def jobs_list(state: CliState, limit: int, states: tuple[str, ...], as_json: bool) -> None:
    """The newest jobs first."""
    views = state.runtime().jobs.recent(limit=limit, states=states)
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    table(
        ["id", "state", "plan", "targets", "sim", "by", "created", "finished"],
        [
            (
                v.id,
                v.state,
                v.plan_name,
                v.targets.describe(),
                v.simulation,
                v.requested_by,
                v.created_at,
                v.finished_at,
            )
            for v in views
        ],
    )


@jobs.command("show")
@click.argument("job_id", type=int)
@json_option
@pass_state
def jobs_show(state: CliState, job_id: int, as_json: bool) -> None:
    """A job with its server runs."""
    view = state.runtime().jobs.show(job_id)
    if as_json:
        emit_json(view.as_dict())
        return
    shown = ("server_runs", "targets", "approvals")
    fields([(k, v) for k, v in view.as_dict().items() if k not in shown])
    fields([("targets", view.targets.describe())])
    heads = ["run", "server", "role", "state", "changes", "unknown", "warnings", "error"]
    rows: list[tuple[object, ...]] = [
        (r.id, r.server or "-", r.role, r.state, r.changes, r.unknowns, r.warnings, r.error)
        for r in view.server_runs
    ]
    if view.slices:  # a big job's runs were run by several workers: say which ran which
        heads += ["slice", "worker"]
        rows = [
            (*row, r.slice, r.worker or "-") for row, r in zip(rows, view.server_runs, strict=True)
        ]
    table(heads, rows)
    if view.approvals:
        click.echo("")
        table(
            ["decision", "by", "at", "comment"],
            [(a.decision, a.decided_by, f"{a.decided_at:%Y-%m-%d %H:%M:%S}", a.comment)
             for a in view.approvals],
        )  # fmt: skip


@jobs.command("logs")
@click.argument("job_id", type=int)
@click.option("--follow", "-f", is_flag=True, help="Keep printing until the job ends.")
@click.option("--server", default=None, help="Only this server's lines.")
@pass_state
def jobs_logs(state: CliState, job_id: int, follow: bool, server: str | None) -> int:
    """Print a job's log; with --follow, until it ends (exit code by its result)."""
    service = state.runtime().jobs
    view = service.brief(job_id)
    seq = print_log(service, job_id, 0, server)
    if seq == 0 and "log_pruned_at" in view.summary:
        click.echo(f"(log pruned by retention at {view.summary['log_pruned_at']})")
    while follow and not JobState(view.state).finished:
        time.sleep(0.3)
        view = service.brief(job_id)  # read before the lines: the last ones are stored first
        seq = print_log(service, job_id, seq, server)
    return finish(view) if follow else 0


def print_log(service: JobService, job_id: int, after_seq: int, server: str | None) -> int:
    """Print every stored line after ``after_seq``, page by page; the last seq seen."""
    while True:
        page = service.logs(job_id, after_seq=after_seq, limit=LOG_PAGE)
        if page:
            after_seq = page[-1].seq
        print_lines([line for line in page if server is None or line.server == server])
        if len(page) < LOG_PAGE:
            return after_seq


@jobs.command("prune")
@pass_state
def jobs_prune(state: CliState) -> None:
    """Prune old logs and finished jobs now, per [retention] (workers also do it hourly)."""
    from otter_tui.engine.retention import prune

    click.echo(prune(state.runtime().ctx).describe())


@jobs.command("cancel")
@click.argument("job_id", type=int)
@pass_state
def jobs_cancel(state: CliState, job_id: int) -> None:
    """Cancel a waiting job, or stop a running one (remote processes included)."""
    view = state.runtime().jobs.cancel(job_id)
    click.echo(f"job {job_id}: {'cancel requested' if view.state == 'running' else view.state}")


@jobs.command("edit")
@click.argument("job_id", type=int)
@target_options
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE")
@click.option("--at", "at", default=None, help="New ISO time (with zone).")
@pass_state
def jobs_edit(state: CliState, /, job_id: int, **opts: Any) -> None:
    """Change a waiting job; an approval it had is void."""
    spec = spec_from(opts)
    view = state.runtime().jobs.edit(
        job_id,
        targets=None if spec.empty else spec,
        variables=parse_vars(opts["variables"]) if opts["variables"] else None,
        run_at=parse_when(opts["at"]),
    )
    click.echo(f"job {job_id}: {view.state}")


COMMANDS = (run_command, jobs)

"""``templates``: saved job fields that pre-fill a job; run them, or let scripts trigger them.

``run`` and ``trigger`` print the job they created and leave it queued for the console or the
daemon; with ``--follow`` the job runs here, streaming its log, and the exit code is its result.
A job with sensitive values always runs here: those values exist only in this process.

``trigger`` reads the key from ``$OTTER_TUI_TRIGGER_KEY`` or ``--key-file``, never from the
command line, so it does not show in ``ps`` or the shell history.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from otter_tui.cli.jobs import execute_here, parse_vars, spec_from, target_options
from otter_tui.cli.output import emit_json, fields, json_option, table
from otter_tui.cli.secrets_input import ask_secrets
from otter_tui.cli_state import CliState
from otter_tui.errors import UsageError
from otter_tui.plan import sensitive_names
from otter_tui.services.templates import (
    Overrides,
    TemplateFields,
    TemplateRun,
    TemplateService,
    TemplateView,
)

pass_state = click.make_pass_decorator(CliState)
KEY_ENV = "OTTER_TUI_TRIGGER_KEY"


def _service(state: CliState) -> TemplateService:
    return state.runtime().templates


def template_options(func: Any) -> Any:
    """The options ``add`` and ``edit`` share; on edit, an option not given keeps its value."""
    options = (
        click.option("--var", "variables", multiple=True, metavar="NAME=VALUE"),
        click.option("--simulate/--no-simulate", default=None, help="Default: the plan's."),
        click.option("--queue", default=None, help="Job queue (default: the plan's)."),
        click.option("--description", default=None, help="What the template is for."),
    )
    for option in reversed(options):
        func = option(func)
    return target_options(func)


def fields_from(opts: dict[str, Any], plan: str | None, *, new: bool) -> TemplateFields:
    spec = spec_from(opts)
    given = opts["variables"]
    return TemplateFields(
        plan=plan,
        targets=spec if new or not spec.empty else None,
        variables=parse_vars(given) if new or given else None,
        simulation=opts["simulate"],
        queue=opts["queue"],
        description=opts["description"],
    )


def _row(view: TemplateView) -> tuple[object, ...]:
    return (
        view.name,
        view.plan_name,
        view.targets.describe(),
        ", ".join(f"{k}={v}" for k, v in view.variables.items()),
        view.simulation,
        view.queue,
        view.owner,
        view.has_trigger_key,
    )


@click.group()
def templates() -> None:
    """Job templates: saved job fields; run them, or trigger them from scripts with a key."""


@templates.command("list")
@json_option
@pass_state
def templates_list(state: CliState, /, as_json: bool) -> None:
    """Every template."""
    views = _service(state).list_templates()
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    headers = ["name", "plan", "targets", "variables", "sim", "queue", "owner", "key"]
    table(headers, [_row(v) for v in views])


@templates.command("show")
@click.argument("name")
@json_option
@pass_state
def templates_show(state: CliState, /, name: str, as_json: bool) -> None:
    """One template."""
    view = _service(state).show(name)
    if as_json:
        emit_json(view.as_dict())
        return
    fields([(k, v) for k, v in view.as_dict().items() if k != "targets"])
    fields([("targets", view.targets.describe())])


@templates.command("add")
@click.argument("name")
@click.argument("plan")
@template_options
@pass_state
def templates_add(state: CliState, /, name: str, plan: str, **opts: Any) -> None:
    """Add template NAME for PLAN (sensitive variables are given when it runs, never here)."""
    view = _service(state).add(name, fields_from(opts, plan, new=True))
    click.echo(f"template {view.name} added: {view.plan_name} on {view.targets.describe()}")


@templates.command("edit")
@click.argument("name")
@click.option("--plan", default=None, help="Another plan.")
@template_options
@pass_state
def templates_edit(state: CliState, /, name: str, plan: str | None, **opts: Any) -> None:
    """Change a template; options not given keep their value (--var replaces all variables)."""
    view = _service(state).edit(name, fields_from(opts, plan, new=False))
    key = "" if view.has_trigger_key else " (no trigger key)"
    click.echo(f"template {view.name} saved: {view.plan_name}; owner {view.owner}{key}")


@templates.command("rm")
@click.argument("name")
@pass_state
def templates_rm(state: CliState, /, name: str) -> None:
    """Remove it; the jobs it created stay."""
    _service(state).remove(name)
    click.echo(f"template {name} removed")


@templates.command("key")
@click.argument("name")
@click.option("--revoke", is_flag=True, help="Remove the key: nothing can trigger it then.")
@pass_state
def templates_key(state: CliState, /, name: str, revoke: bool) -> None:
    """Issue a new trigger key (shown once; it replaces the old one), or --revoke it."""
    if revoke:
        _service(state).revoke_trigger_key(name)
        click.echo(f"template {name}: trigger key revoked")
        return
    token = _service(state).issue_trigger_key(name)
    click.echo(token)
    click.echo(
        f"trigger key of template {name}: shown once, stored only hashed; scripts pass it in "
        f"${KEY_ENV} or a --key-file, and their jobs are requested as you",
        err=True,
    )


@templates.command("run")
@click.argument("name")
@target_options
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override one.")
@click.option("--simulate/--no-simulate", default=None, help="Default: the template's.")
@click.option("--follow", is_flag=True, help="Run the job here and stream its log.")
@pass_state
def templates_run(state: CliState, /, name: str, follow: bool, **opts: Any) -> int:
    """Run template NAME now, as you; asks (hidden) for sensitive values not given."""
    spec = spec_from(opts)
    service = _service(state)
    given = parse_vars(opts["variables"])
    secrets = _ask_secrets(state, service.show(name), given)
    overrides = Overrides(given, None if spec.empty else spec, opts["simulate"])
    return _finish(state, service.run(name, overrides, secrets), follow)


@templates.command("trigger")
@click.argument("name")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), default=None)
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override one.")
@click.option("--follow", is_flag=True, help="Run the job here and stream its log.")
@pass_state
def templates_trigger(
    state: CliState, /, name: str, key_file: Path | None, variables: tuple[str, ...], follow: bool
) -> int:
    """Create template NAME's job as its owner, with the key from $OTTER_TUI_TRIGGER_KEY."""
    token = _read_key(key_file)
    run = _service(state).trigger(name, token, parse_vars(variables))
    return _finish(state, run, follow)


def _read_key(key_file: Path | None) -> str:
    if key_file is not None:
        try:
            return key_file.read_text().strip()
        except OSError as exc:
            raise UsageError(f"cannot read --key-file {key_file}: {exc.strerror}") from None
    token = os.environ.get(KEY_ENV, "").strip()
    if not token:
        raise UsageError(f"no trigger key: set ${KEY_ENV} or pass --key-file")
    return token


def _ask_secrets(state: CliState, view: TemplateView, given: dict[str, str]) -> dict[str, str]:
    """Hidden prompts for the plan's sensitive variables not given; blank leaves one out.

    A script (stdin not a terminal) is never asked: it would hang. The job service then refuses
    a required one with a line naming it, and the script passes it with ``--var``.
    """
    if not sys.stdin.isatty():
        return {}
    cls = state.runtime().plans.plan_class(view.plan_key).cls
    return ask_secrets(sensitive_names(cls), given)


def _finish(state: CliState, run: TemplateRun, follow: bool) -> int:
    """Run it here when asked, or when it holds values that exist only here."""
    if follow or run.secrets:
        return execute_here(state, run.job, run.secrets, follow)
    click.echo(f"job {run.job.id} created: {run.job.state}")
    return 0


COMMANDS = (templates,)

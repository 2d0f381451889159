"""``inventory import ansible|ssh-config`` and ``inventory export``: bring a fleet in, write it out.

Both imports go through the same sync service as the console's Import action, so dry run,
prune, validation and the audit event are the same whichever door is used.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from otter_tui.cli.inventory import pass_state
from otter_tui.cli.output import csv, emit_json, json_option, table
from otter_tui.cli_state import CliState
from otter_tui.inventory_import import AnsibleOptions, Source, read_ansible, read_ssh_config
from otter_tui.inventory_import.export import FORMATS, render
from otter_tui.services.inventory_export import current_source
from otter_tui.services.inventory_sync import InventorySyncService, SyncReport

F = TypeVar("F", bound=Callable[..., Any])


def sync_options(func: F) -> F:
    """``--dry-run``, ``--prune`` and ``--json``, shared by every import."""
    func = click.option(
        "--prune", is_flag=True, help="Remove servers the source no longer has (history kept)."
    )(func)
    func = click.option(
        "--dry-run", is_flag=True, help="Show what would change as a table; change nothing."
    )(func)
    return json_option(func)


@click.group()
def inventory() -> None:
    """Import the inventory from Ansible or ssh_config, and export it."""


@inventory.group("import")
def inventory_import() -> None:
    """Import (and re-sync) servers from an existing inventory; matched by name."""


@inventory_import.command("ansible")
@click.argument("path")
@click.option("--environments", default="", help="Comma-separated groups that are environments.")
@click.option(
    "--environment-prefix",
    default=None,
    help="Groups starting with this become environments (default: inventory.environment_prefix).",
)
@click.option(
    "--secrets-to-keyring",
    is_flag=True,
    help="Store secret-looking variables in the keyring instead of refusing the import.",
)
@sync_options
@pass_state
def import_ansible(state: CliState, /, path: str, **opts: Any) -> None:
    """Import PATH: ansible-inventory --list JSON, or a static INI/YAML file (- for stdin)."""
    prefix = opts["environment_prefix"]
    if prefix is None:
        prefix = state.settings().inventory.environment_prefix
    options = AnsibleOptions(frozenset(csv(opts["environments"])), prefix)
    _sync(state, read_ansible(path, options), opts)


@inventory_import.command("ssh-config")
@click.argument("path", required=False)
@sync_options
@pass_state
def import_ssh_config(state: CliState, /, path: str | None, **opts: Any) -> None:
    """Import the Host blocks of an ssh_config (default ~/.ssh/config)."""
    _sync(state, read_ssh_config(path), {**opts, "secrets_to_keyring": False})


def _sync(state: CliState, source: Source, opts: dict[str, Any]) -> None:
    service = InventorySyncService(state.runtime().ctx)
    report = service.sync(
        source,
        dry_run=opts["dry_run"],
        prune=opts["prune"],
        secrets_to_keyring=opts["secrets_to_keyring"],
    )
    for warning in report.warnings:
        click.echo(f"otter-tui: warning: {warning}", err=True)
    if opts["as_json"]:
        emit_json(report.as_dict())
        return
    table(
        ["kind", "name", "status", "detail"],
        [(c.kind, c.name, c.status, c.detail) for c in report.changes],
    )
    click.echo(summary(report))


def summary(report: SyncReport) -> str:
    """The report's counts, saying whether anything was written."""
    if report.applied:
        return f"imported: {report.summary()}"
    return f"dry run: {report.summary()}; nothing changed"


@inventory.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(FORMATS), default="ansible-yaml", show_default=True
)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write to this file.")
@pass_state
def inventory_export(state: CliState, fmt: str, output: str | None) -> None:
    """Write servers, roles, environments and variables as an Ansible inventory."""
    text = render(current_source(state.runtime().ctx), fmt)
    if output:
        Path(output).write_text(text, encoding="utf-8")
        click.echo(f"wrote {output}")
    else:
        click.echo(text, nl=False)


COMMANDS = (inventory,)

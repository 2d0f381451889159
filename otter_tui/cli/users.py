"""``users list|add|grant|revoke``."""

from __future__ import annotations

from typing import Any

import click

from otter_tui.cli.output import emit_json, table
from otter_tui.cli_state import CliState
from otter_tui.errors import UsageError
from otter_tui.services.context import PERMISSIONS
from otter_tui.services.users import ADMIN

pass_state = click.make_pass_decorator(CliState)


@click.group()
def users() -> None:
    """Users and permissions (admins hold every permission)."""


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_state
def users_list(state: CliState, as_json: bool) -> None:
    """List users and what they may do."""
    views = state.runtime().users.list()
    if as_json:
        emit_json([v.as_dict() for v in views])
    else:
        table(
            ["name", "admin", "permissions"], [(v.name, v.is_admin, v.permissions) for v in views]
        )


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True)
@click.option("--grant", "grants", multiple=True, type=click.Choice(PERMISSIONS))
@pass_state
def users_add(state: CliState, name: str, admin: bool, grants: tuple[str, ...]) -> None:
    """Add a user."""
    state.runtime().users.add(name, admin=admin, permissions=grants)
    click.echo(f"added user '{name}'")


def scope_options(func: Any) -> Any:
    """``--environment`` / ``--role`` / ``--plan``: at most one, the grant's scope."""
    for kind, what in (
        ("plan", "Only jobs of this plan (its key)."),
        ("role", "Only servers in this role."),
        ("environment", "Only servers in this environment or its children."),
    ):
        func = click.option(f"--{kind}", kind, default=None, metavar="NAME", help=what)(func)
    return func


def chosen_scope(opts: dict[str, str | None]) -> tuple[str, str]:
    given = [(kind, name) for kind, name in opts.items() if name is not None]
    if len(given) > 1:
        raise UsageError("give at most one of --environment, --role and --plan")
    return given[0] if given else ("", "")


@users.command("grant")
@click.argument("name")
@click.argument("permission", type=click.Choice([*PERMISSIONS, ADMIN]))
@scope_options
@pass_state
def users_grant(state: CliState, /, name: str, permission: str, **opts: str | None) -> None:
    """Grant a permission (or admin), everywhere or within one scope."""
    kind, scope = chosen_scope(opts)
    state.runtime().users.grant(name, permission, kind, scope)
    where = f" for {kind} {scope}" if kind else ""
    click.echo(f"granted {permission}{where} to '{name}'")


@users.command("revoke")
@click.argument("name")
@click.argument("permission", type=click.Choice([*PERMISSIONS, ADMIN]))
@scope_options
@pass_state
def users_revoke(state: CliState, /, name: str, permission: str, **opts: str | None) -> None:
    """Revoke a grant (the same permission and scope it was granted with), or admin."""
    kind, scope = chosen_scope(opts)
    state.runtime().users.revoke(name, permission, kind, scope)
    where = f" for {kind} {scope}" if kind else ""
    click.echo(f"revoked {permission}{where} from '{name}'")


COMMANDS = (users,)

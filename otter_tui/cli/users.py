"""``users list|add|grant|revoke``."""

from __future__ import annotations

import click

from otter_tui.cli.output import emit_json, table
from otter_tui.cli.state import CliState
from otter_tui.services.context import PERMISSIONS

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


@users.command("grant")
@click.argument("name")
@click.argument("permission", type=click.Choice(PERMISSIONS))
@pass_state
def users_grant(state: CliState, name: str, permission: str) -> None:
    """Grant a permission."""
    state.runtime().users.grant(name, permission)
    click.echo(f"granted {permission} to '{name}'")


@users.command("revoke")
@click.argument("name")
@click.argument("permission", type=click.Choice(PERMISSIONS))
@pass_state
def users_revoke(state: CliState, name: str, permission: str) -> None:
    """Revoke a permission."""
    state.runtime().users.revoke(name, permission)
    click.echo(f"revoked {permission} from '{name}'")


COMMANDS = (users,)

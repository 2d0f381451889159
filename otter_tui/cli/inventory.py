"""``servers``, ``roles``, ``environments`` and ``vars`` command groups."""

from __future__ import annotations

from typing import Any

import click

from otter_tui.cli.output import csv, emit_json, fields, json_option, table
from otter_tui.cli.trust_cmd import servers_trust
from otter_tui.cli_state import CliState
from otter_tui.services.inventory import GroupView, ServerView

pass_state = click.make_pass_decorator(CliState)


# servers -------------------------------------------------------------------------------------


@click.group()
def servers() -> None:
    """Servers: the machines otter-tui reaches."""


@servers.command("list")
@json_option
@pass_state
def servers_list(state: CliState, as_json: bool) -> None:
    """List servers."""
    views = state.runtime().inventory.list_servers()
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    table(
        ["name", "transport", "host", "port", "user", "active", "roles", "environments"],
        [
            (v.name, v.transport, v.host, v.port, v.user, v.active, v.roles, v.environments)
            for v in views
        ],
    )


def _show_server(view: ServerView, as_json: bool) -> None:
    if as_json:
        emit_json(view.as_dict())
    else:
        fields(view.as_dict().items())


@servers.command("show")
@click.argument("name")
@json_option
@pass_state
def servers_show(state: CliState, name: str, as_json: bool) -> None:
    """Show one server."""
    _show_server(state.runtime().inventory.show_server(name), as_json)


@servers.command("add")
@click.argument("name")
@click.option("--host", default="", help="Host name or address (ssh).")
@click.option("--port", default=22, show_default=True, type=int)
@click.option("--user", default="", help="Login user (ssh).")
@click.option("--transport", type=click.Choice(["ssh", "local"]), default="ssh", show_default=True)
@click.option("--roles", default="", help="Comma-separated roles.")
@click.option("--environments", default="", help="Comma-separated environments.")
@click.option("--description", default="")
@click.option("--inactive", is_flag=True, help="Create it inactive (left out of jobs).")
@json_option
@pass_state
def servers_add(state: CliState, /, name: str, **opts: Any) -> None:
    """Add a server."""
    as_json = opts.pop("as_json")
    view = state.runtime().inventory.add_server(
        name,
        opts["host"],
        port=opts["port"],
        user=opts["user"],
        transport=opts["transport"],
        roles=csv(opts["roles"]),
        environments=csv(opts["environments"]),
        description=opts["description"],
        active=not opts["inactive"],
    )
    _show_server(view, as_json)


@servers.command("set")
@click.argument("name")
@click.option("--host")
@click.option("--port", type=int)
@click.option("--user")
@click.option("--transport", type=click.Choice(["ssh", "local"]))
@click.option("--description")
@click.option("--add-roles", default="", help="Comma-separated roles to add.")
@click.option("--remove-roles", default="", help="Comma-separated roles to remove.")
@click.option("--add-environments", default="")
@click.option("--remove-environments", default="")
@json_option
@pass_state
def servers_set(state: CliState, /, name: str, **opts: Any) -> None:
    """Change a server's fields and memberships."""
    inventory = state.runtime().inventory
    as_json = opts.pop("as_json")
    membership = {k: csv(opts.pop(k)) for k in list(opts) if k.startswith(("add_", "remove_"))}
    view = inventory.update_server(name, **opts)
    if any(membership.values()):
        view = inventory.set_memberships(name, **membership)
    _show_server(view, as_json)


@servers.command("activate")
@click.argument("name")
@pass_state
def servers_activate(state: CliState, name: str) -> None:
    """Include a server in jobs again."""
    state.runtime().inventory.update_server(name, active=True)
    click.echo(f"server '{name}' is active")


@servers.command("deactivate")
@click.argument("name")
@pass_state
def servers_deactivate(state: CliState, name: str) -> None:
    """Leave a server out of jobs (unless a job includes inactive servers)."""
    state.runtime().inventory.update_server(name, active=False)
    click.echo(f"server '{name}' is inactive")


@servers.command("rm")
@click.argument("name")
@pass_state
def servers_rm(state: CliState, name: str) -> None:
    """Remove a server (its job history is kept)."""
    state.runtime().inventory.remove_server(name)
    click.echo(f"removed server '{name}'")


servers.add_command(servers_trust)


# roles and environments ----------------------------------------------------------------------


def _groups_table(views: list[GroupView], as_json: bool, with_parent: bool = False) -> None:
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    headers = (
        ["name", "parent", "servers", "description"]
        if with_parent
        else ["name", "servers", "description"]
    )
    rows = [
        (
            (v.name, v.parent, v.servers, v.description)
            if with_parent
            else (v.name, v.servers, v.description)
        )
        for v in views
    ]
    table(headers, rows)


@click.group()
def roles() -> None:
    """Server roles: named groups of servers."""


@roles.command("list")
@json_option
@pass_state
def roles_list(state: CliState, as_json: bool) -> None:
    """List roles."""
    _groups_table(state.runtime().inventory.list_roles(), as_json)


@roles.command("show")
@click.argument("name")
@json_option
@pass_state
def roles_show(state: CliState, name: str, as_json: bool) -> None:
    """Show a role and its servers."""
    view = state.runtime().inventory.show_role(name)
    emit_json(view.as_dict()) if as_json else fields(view.as_dict().items())


@roles.command("add")
@click.argument("name")
@click.option("--description", default="")
@pass_state
def roles_add(state: CliState, name: str, description: str) -> None:
    """Add a role."""
    state.runtime().inventory.add_role(name, description)
    click.echo(f"added role '{name}'")


@roles.command("rm")
@click.argument("name")
@pass_state
def roles_rm(state: CliState, name: str) -> None:
    """Remove a role (its servers stay)."""
    state.runtime().inventory.remove_role(name)
    click.echo(f"removed role '{name}'")


@click.group()
def environments() -> None:
    """Environments: named groups of servers that may nest."""


@environments.command("list")
@json_option
@pass_state
def environments_list(state: CliState, as_json: bool) -> None:
    """List environments."""
    _groups_table(state.runtime().inventory.list_environments(), as_json, with_parent=True)


@environments.command("show")
@click.argument("name")
@json_option
@pass_state
def environments_show(state: CliState, name: str, as_json: bool) -> None:
    """Show an environment and its servers."""
    view = state.runtime().inventory.show_environment(name)
    emit_json(view.as_dict()) if as_json else fields(view.as_dict().items())


@environments.command("add")
@click.argument("name")
@click.option("--parent", default=None, help="The environment this one is inside.")
@click.option("--description", default="")
@pass_state
def environments_add(state: CliState, name: str, parent: str | None, description: str) -> None:
    """Add an environment."""
    state.runtime().inventory.add_environment(name, description, parent)
    click.echo(f"added environment '{name}'")


@environments.command("set")
@click.argument("name")
@click.option("--parent", default="", help="New parent; empty for none.")
@pass_state
def environments_set(state: CliState, name: str, parent: str) -> None:
    """Change an environment's parent."""
    state.runtime().inventory.set_environment_parent(name, parent or None)
    click.echo(f"environment '{name}' updated")


@environments.command("rm")
@click.argument("name")
@pass_state
def environments_rm(state: CliState, name: str) -> None:
    """Remove an environment (its servers stay)."""
    state.runtime().inventory.remove_environment(name)
    click.echo(f"removed environment '{name}'")


# variables -----------------------------------------------------------------------------------

SCOPE = click.Choice(["global", "role", "environment", "server"])


@click.group("vars")
def variables() -> None:
    """Variables: cascade job > server > environment > role > global."""


@variables.command("list")
@click.option("--scope", type=SCOPE)
@click.option("--owner", help="The role, environment or server name.")
@json_option
@pass_state
def vars_list(state: CliState, scope: str | None, owner: str | None, as_json: bool) -> None:
    """List variables, optionally of one scope or owner."""
    views = state.runtime().variables.list(scope, owner)
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    table(["scope", "owner", "name", "value"], [(v.scope, v.owner, v.name, v.value) for v in views])


@variables.command("set")
@click.argument("scope", type=SCOPE)
@click.argument("assignment", metavar="[OWNER] NAME=VALUE", nargs=-1, required=True)
@pass_state
def vars_set(state: CliState, scope: str, assignment: tuple[str, ...]) -> None:
    """Set a variable: ``vars set global NAME=VALUE`` or ``vars set server web1 NAME=VALUE``."""
    owner, pair = _owner_and_rest(scope, assignment)
    name, sep, value = pair.partition("=")
    if not sep:
        raise click.UsageError(f"expected NAME=VALUE, got {pair!r}")
    state.runtime().variables.set(scope, owner, name, value)
    click.echo(f"set {scope} variable {name}" + (f" on '{owner}'" if owner else ""))


@variables.command("rm")
@click.argument("scope", type=SCOPE)
@click.argument("target", metavar="[OWNER] NAME", nargs=-1, required=True)
@pass_state
def vars_rm(state: CliState, scope: str, target: tuple[str, ...]) -> None:
    """Remove a variable."""
    owner, name = _owner_and_rest(scope, target)
    state.runtime().variables.unset(scope, owner, name)
    click.echo(f"removed {scope} variable {name}")


@variables.command("resolve")
@click.argument("server")
@click.option("--role", default=None, help="The role in context.")
@click.option("--plan", default=None, help="Start from this plan's declared defaults.")
@json_option
@pass_state
def vars_resolve(
    state: CliState, server: str, role: str | None, plan: str | None, as_json: bool
) -> None:
    """Show the variables a plan sees on SERVER, after the cascade, and where each came from."""
    resolved = state.runtime().variables.resolve_sources(server, role, plan)
    if as_json and plan is None:
        emit_json({v.name: v.value for v in resolved})
    elif as_json:
        emit_json([v.as_dict() for v in resolved])
    else:
        table(["name", "value", "source"], [(v.name, v.value, v.source) for v in resolved])


def _owner_and_rest(scope: str, words: tuple[str, ...]) -> tuple[str | None, str]:
    expected = 1 if scope == "global" else 2
    if len(words) != expected:
        shape = "NAME" if scope == "global" else "OWNER NAME"
        raise click.UsageError(f"'{scope}' takes {shape}, got {' '.join(words)!r}")
    return (None, words[0]) if scope == "global" else (words[0], words[1])


COMMANDS = (servers, roles, environments, variables)

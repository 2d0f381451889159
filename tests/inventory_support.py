"""Shared by the inventory import tests: the data files and views of what the store holds."""

from __future__ import annotations

from pathlib import Path

from otter_tui.runtime import Runtime

DATA = Path(__file__).parent / "data" / "inventory"
ENVIRONMENTS = "production,eu,us,staging"


def servers_of(rt: Runtime) -> dict[str, tuple[object, ...]]:
    """Every server as ``name -> (host, port, user, transport, roles, environments)``."""
    return {
        v.name: (v.host, v.port, v.user, v.transport, v.roles, v.environments)
        for v in rt.inventory.list_servers()
    }


def variables_of(rt: Runtime) -> set[tuple[str, str, str, str]]:
    return {(v.scope, v.owner, v.name, v.value) for v in rt.variables.list()}


def groups_of(rt: Runtime) -> tuple[list[str], list[tuple[str, str | None]]]:
    roles = [r.name for r in rt.inventory.list_roles()]
    envs = [(e.name, e.parent) for e in rt.inventory.list_environments()]
    return roles, envs

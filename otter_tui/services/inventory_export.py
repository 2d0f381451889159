"""The inventory as it is now, as a :class:`Source`: what ``inventory export`` writes out."""

from __future__ import annotations

from otter_tui.inventory_import.source import Source, SourceGroup, SourceServer
from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory import InventoryService
from otter_tui.services.variables import VariableService


def current_source(ctx: ServiceContext) -> Source:
    """Servers, roles, environments and variables, read through the inventory services."""
    inventory, variables = InventoryService(ctx), VariableService(ctx)
    scoped: dict[tuple[str, str], dict[str, str]] = {}
    for var in variables.list():
        scoped.setdefault((var.scope, var.owner), {})[var.name] = var.value
    servers = [
        SourceServer(
            v.name,
            v.host,
            v.port,
            v.user,
            v.transport,
            v.roles,
            v.environments,
            scoped.get(("server", v.name), {}),
        )
        for v in inventory.list_servers()
    ]
    roles = [SourceGroup(r.name, scoped.get(("role", r.name), {})) for r in inventory.list_roles()]
    envs = [
        SourceGroup(e.name, scoped.get(("environment", e.name), {}), e.parent)
        for e in inventory.list_environments()
    ]
    return Source("inventory", servers, roles, envs, scoped.get(("global", ""), {}))

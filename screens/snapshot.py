"""One read of the inventory, taken off the UI thread and shown by every inventory pane."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from otter_tui.runtime import Runtime
from otter_tui.services.inventory import GroupView, ServerView


@dataclass(frozen=True)
class InventorySnapshot:
    """Servers, roles and environments as they were at one moment."""

    servers: tuple[ServerView, ...] = ()
    """Every server, by name."""
    roles: tuple[GroupView, ...] = ()
    """Every role, by name."""
    environments: tuple[GroupView, ...] = ()
    """Every environment, by name (``parent`` set on nested ones)."""
    drift: Mapping[str, str] = field(default_factory=dict)
    """Each server's stored drift status (whoever checked: CLI, daemon, a console)."""

    @property
    def role_names(self) -> list[str]:
        return [role.name for role in self.roles]

    @property
    def environment_names(self) -> list[str]:
        return [env.name for env in self.environments]

    def server(self, name: str) -> ServerView | None:
        return next((s for s in self.servers if s.name == name), None)


def load_snapshot(runtime: Runtime) -> InventorySnapshot:
    """Blocking: read the whole inventory and the stored drift (call it from a thread worker)."""
    inventory = runtime.inventory
    return InventorySnapshot(
        tuple(inventory.list_servers()),
        tuple(inventory.list_roles()),
        tuple(inventory.list_environments()),
        {d.server: d.status for d in runtime.drift.servers()},
    )

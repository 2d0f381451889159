"""The embedded default: a demo inventory that works on any machine with no remote host.

Three servers on the ``local`` transport, in a ``demo`` role and a ``dev`` environment. Each has
a server variable ``root``: its own sandbox folder under the data dir, which the example plans
use as a path prefix, so running them never touches the real machine's files.
"""

from __future__ import annotations

from pathlib import Path

from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory import InventoryService
from otter_tui.services.variables import VariableService

DEMO_SERVERS = (
    ("demo-web1", ("demo", "web")),
    ("demo-web2", ("demo", "web")),
    ("demo-db1", ("demo", "db")),
)


def sandbox_dir(ctx: ServiceContext, server: str) -> Path:
    return ctx.settings.data_dir / "sandbox" / server


def seed_demo(ctx: ServiceContext) -> list[str]:
    """Create the demo inventory; returns the servers made."""
    inventory = InventoryService(ctx)
    variables = VariableService(ctx)
    for role in ("demo", "web", "db"):
        inventory.add_role(role, f"demo {role} servers")
    inventory.add_environment("dev", "the demo environment")
    variables.set("global", None, "motd_message", "Managed by otter-tui")
    variables.set("role", "web", "app_port", "8080")
    variables.set("environment", "dev", "log_level", "debug")
    for name, roles in DEMO_SERVERS:
        root = sandbox_dir(ctx, name)
        root.mkdir(parents=True, exist_ok=True)
        inventory.add_server(
            name,
            "localhost",
            transport="local",
            roles=roles,
            environments=("dev",),
            description=f"demo server; files live in {root}",
        )
        variables.set("server", name, "root", str(root))
    return [name for name, _ in DEMO_SERVERS]

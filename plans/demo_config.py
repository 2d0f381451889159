"""Demo configuration: the desired state of every server in the ``demo`` role.

A configuration plan declares *what should be true* on a server, not how to get there. The
engine collects each operation (read-only: "is it as desired?"), shows the drift, and a
remediation applies only the operations that drifted. Run it as a simulation first: it changes
nothing and lists what it would change.

The demo servers use the local transport and carry a server variable ``root``: their own
sandbox folder. Every path below starts with it, so this plan never touches the real machine.
"""

from __future__ import annotations

from collections.abc import Iterator

from otter_tui.errors import UsageError
from otter_tui.plan import ConfigurationPlan, Operation, ServerInfo
from otter_tui.plan import operations as ops

MOTD = """\
$message

  server: $server
  roles:  $roles
"""
"""A ``string.Template``: ``$name`` placeholders are filled by ``ops.file(template=...)``."""


class DemoConfig(ConfigurationPlan):
    """A message of the day, an application folder and the application's settings.

    Values come from variables, which cascade (job > server > environment > role > global):
    ``motd_message`` is a global variable, ``log_level`` an environment one, ``app_port`` a
    role one (only the ``web`` servers have it).
    """

    name = "Demo configuration"
    grouping = "Demo"
    roles = ("demo",)
    """Every server in the ``demo`` role gets this desired state."""

    def operations(self, server: ServerInfo) -> Iterator[Operation]:
        """The desired state of one server, given its variables and roles."""
        root = sandbox_root(server)
        yield ops.file(
            f"{root}/etc/motd",
            template=MOTD,
            variables={
                "message": server.var("motd_message", "Managed by otter-tui"),
                "server": server.name,
                "roles": ", ".join(server.roles),
            },
            mode=0o644,
        )
        yield ops.directory(f"{root}/srv/app", mode=0o755)
        # ``regex`` says which line this one replaces, so a changed level edits the line in
        # place instead of adding a second one.
        level = server.var("log_level", "info")
        yield ops.line(f"{root}/etc/app.conf", f"log_level = {level}", regex=r"^log_level\s*=")
        # ``server.roles`` is every role the server has. (``server.in_role`` would instead ask
        # about the role in context, which for this plan is "demo".)
        if "web" in server.roles:
            port = server.var("app_port", "8080")
            yield ops.line(f"{root}/etc/app.conf", f"port = {port}", regex=r"^port\s*=")


def sandbox_root(server: ServerInfo) -> str:
    """The server's sandbox folder; refusing to run without one keeps /etc safe."""
    root = server.var("root")
    if not root.startswith("/"):
        raise UsageError(f"{server.name}: set the server variable 'root' to a sandbox folder")
    return root.rstrip("/")

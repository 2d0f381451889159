"""The add / edit server form: which fields it shows and which service calls its values make."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from otter_tui.errors import UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.inventory import ServerView
from screens.modals import FormField, FormModal

TRANSPORTS = ("ssh", "local")


def split_names(text: str) -> list[str]:
    """``"web, db  demo"`` -> ``["web", "db", "demo"]``: commas or spaces separate names."""
    return [name for name in text.replace(",", " ").split() if name]


def parse_port(text: str) -> int:
    try:
        return int(text or "22")
    except ValueError:
        raise UsageError(f"port '{text}' is not a number") from None


def _known(kind: str, names: Sequence[str]) -> str:
    return f"known {kind}: {', '.join(names)}" if names else f"no {kind} yet"


def server_fields(
    server: ServerView | None, roles: Sequence[str], environments: Sequence[str]
) -> list[FormField]:
    """The fields, filled from ``server`` when editing; hints list the groups that exist."""
    return [
        FormField(
            "name", "Name", server.name if server else "", "web-01", read_only=server is not None
        ),
        FormField("host", "Host", server.host if server else "", "hostname or address"),
        FormField("port", "Port", str(server.port) if server else "22"),
        FormField("user", "User", server.user if server else "", "login (empty: ssh config)"),
        FormField(
            "transport", "Transport", server.transport if server else "ssh", choices=TRANSPORTS
        ),
        FormField(
            "roles",
            "Roles",
            " ".join(server.roles) if server else "",
            "space or comma separated",
            hint=_known("roles", roles),
        ),
        FormField(
            "environments",
            "Environments",
            " ".join(server.environments) if server else "",
            "space or comma separated",
            hint=_known("environments", environments),
        ),
        FormField("description", "Description", server.description if server else ""),
    ]


def add_server(runtime: Runtime, values: Mapping[str, str]) -> ServerView:
    return runtime.inventory.add_server(
        values["name"],
        values["host"],
        port=parse_port(values["port"]),
        user=values["user"],
        transport=values["transport"],
        roles=split_names(values["roles"]),
        environments=split_names(values["environments"]),
        description=values["description"],
    )


def edit_server(runtime: Runtime, server: ServerView, values: Mapping[str, str]) -> ServerView:
    """Apply the form to ``server``: memberships first (all or nothing), then the fields.

    The inventory service has no single call for both, so a port the service refuses after the
    memberships were saved leaves those saved; the port is checked here first to make that rare.
    """
    port = parse_port(values["port"])
    if not 1 <= port <= 65535:
        raise UsageError(f"port {port} is out of range 1-65535")
    host = values["host"] or ("localhost" if values["transport"] == "local" else "")
    if not host:
        raise UsageError(f"server '{server.name}': an ssh server needs a host")
    roles, envs = split_names(values["roles"]), split_names(values["environments"])
    inventory = runtime.inventory
    inventory.set_memberships(
        server.name,
        add_roles=[r for r in roles if r not in server.roles],
        remove_roles=[r for r in server.roles if r not in roles],
        add_environments=[e for e in envs if e not in server.environments],
        remove_environments=[e for e in server.environments if e not in envs],
    )
    return inventory.update_server(
        server.name,
        host=host,
        port=port,
        user=values["user"],
        transport=values["transport"],
        description=values["description"],
    )


def add_server_modal(
    runtime: Runtime, roles: Sequence[str], environments: Sequence[str]
) -> FormModal[ServerView]:
    return FormModal(
        "Add server",
        server_fields(None, roles, environments),
        lambda values: add_server(runtime, values),
        submit_label="Add",
    )


def edit_server_modal(
    runtime: Runtime, server: ServerView, roles: Sequence[str], environments: Sequence[str]
) -> FormModal[ServerView]:
    return FormModal(
        f"Edit server {server.name}",
        server_fields(server, roles, environments),
        lambda values: edit_server(runtime, server, values),
    )

"""Inventory: servers, roles, environments and their memberships.

Every call validates first and writes in one transaction, so a bad role name or a duplicate
server changes nothing. What comes back are frozen views, never live ORM objects, so callers (the
TUI in particular) never hold a database session.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.store.models import (
    Environment,
    Role,
    Server,
    TransportKind,
)
from otter_tui.targeting import Inventory


@dataclass(frozen=True)
class ServerView:
    name: str
    host: str
    port: int
    user: str
    transport: str
    active: bool
    roles: tuple[str, ...]
    environments: tuple[str, ...]
    description: str
    drift_checked_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "transport": self.transport,
            "active": self.active,
            "roles": list(self.roles),
            "environments": list(self.environments),
            "description": self.description,
        }


@dataclass(frozen=True)
class GroupView:
    """A role or an environment (``parent`` is only ever set for environments)."""

    name: str
    description: str
    servers: tuple[str, ...]
    parent: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {
            "name": self.name,
            "description": self.description,
            "servers": list(self.servers),
        }
        if self.parent is not None:
            out["parent"] = self.parent
        return out


def server_view(server: Server) -> ServerView:
    return ServerView(
        name=server.name,
        host=server.host,
        port=server.port,
        user=server.user,
        transport=server.transport.value,
        active=server.active,
        roles=tuple(sorted(r.name for r in server.roles)),
        environments=tuple(sorted(e.name for e in server.environments)),
        description=server.description,
        drift_checked_at=server.drift_checked_at,
    )


def _group_view(group: Role | Environment) -> GroupView:
    parent = group.parent.name if isinstance(group, Environment) and group.parent else None
    return GroupView(group.name, group.description, tuple(s.name for s in group.servers), parent)


def get_server(session: Session, name: str) -> Server:
    server = session.scalar(select(Server).where(Server.name == name))
    if server is None:
        raise NotFoundError(f"unknown server '{name}'")
    return server


def get_role(session: Session, name: str) -> Role:
    role = session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFoundError(f"unknown role '{name}'")
    return role


def get_environment(session: Session, name: str) -> Environment:
    env = session.scalar(select(Environment).where(Environment.name == name))
    if env is None:
        raise NotFoundError(f"unknown environment '{name}'")
    return env


def parse_transport(value: str) -> TransportKind:
    """``ssh`` or ``local``; anything else is a ``UsageError`` (also used by imports)."""
    try:
        return TransportKind(value)
    except ValueError:
        raise UsageError(f"unknown transport '{value}' (use ssh or local)") from None


def check_port(value: int) -> int:
    """A TCP port, 1-65535 (also used by imports)."""
    if not 1 <= value <= 65535:
        raise UsageError(f"port {value} is out of range 1-65535")
    return value


class InventoryService:
    """Create, change and read servers, roles and environments."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    # servers ---------------------------------------------------------------------------------

    def list_servers(self) -> list[ServerView]:
        with self.ctx.db.session() as s:
            query = select(Server).options(
                selectinload(Server.roles), selectinload(Server.environments)
            )
            return [server_view(x) for x in s.scalars(query.order_by(Server.name))]

    def show_server(self, name: str) -> ServerView:
        with self.ctx.db.session() as s:
            return server_view(get_server(s, name))

    def add_server(
        self,
        name: str,
        host: str = "",
        *,
        port: int = 22,
        user: str = "",
        transport: str = "ssh",
        roles: Sequence[str] = (),
        environments: Sequence[str] = (),
        description: str = "",
        active: bool = True,
    ) -> ServerView:
        check_name("server", name)
        kind = parse_transport(transport)
        if kind is TransportKind.SSH and not host:
            raise UsageError(f"server '{name}': an ssh server needs a host")
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            if s.scalar(select(Server.id).where(Server.name == name)) is not None:
                raise ConflictError(f"server '{name}' already exists")
            role_rows = [get_role(s, r) for r in dict.fromkeys(roles)]
            env_rows = [get_environment(s, e) for e in dict.fromkeys(environments)]
            server = Server(
                name=name,
                host=host or "localhost",
                port=check_port(port),
                user=user,
                transport=kind,
                description=description,
                active=active,
            )
            server.roles, server.environments = role_rows, env_rows
            s.add(server)
            self.ctx.audit(s, "server.add", "server", name, host=server.host, port=port)
            s.flush()
            return server_view(server)

    def update_server(
        self,
        name: str,
        *,
        host: str | None = None,
        port: int | None = None,
        user: str | None = None,
        transport: str | None = None,
        description: str | None = None,
        active: bool | None = None,
    ) -> ServerView:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            server = get_server(s, name)
            changes = {
                "host": host,
                "port": None if port is None else check_port(port),
                "user": user,
                "transport": None if transport is None else parse_transport(transport),
                "description": description,
                "active": active,
            }
            changed = {k: v for k, v in changes.items() if v is not None}
            before = {k: str(getattr(server, k)) for k in changed}
            for key, value in changed.items():
                setattr(server, key, value)
            if server.transport is TransportKind.SSH and not server.host:
                raise UsageError(f"server '{name}': an ssh server needs a host")
            after = {k: str(getattr(server, k)) for k in changed}
            self.ctx.audit(s, "server.update", "server", name, before=before, after=after)
            return server_view(server)

    def remove_server(self, name: str) -> None:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            s.delete(get_server(s, name))
            self.ctx.audit(s, "server.remove", "server", name)

    def set_memberships(
        self,
        name: str,
        *,
        add_roles: Sequence[str] = (),
        remove_roles: Sequence[str] = (),
        add_environments: Sequence[str] = (),
        remove_environments: Sequence[str] = (),
    ) -> ServerView:
        """Add or remove roles and environments of a server, all or nothing."""
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            server = get_server(s, name)
            roles = {r.name: r for r in server.roles}
            roles.update({r: get_role(s, r) for r in add_roles})
            for r in remove_roles:
                get_role(s, r)
                roles.pop(r, None)
            envs = {e.name: e for e in server.environments}
            envs.update({e: get_environment(s, e) for e in add_environments})
            for e in remove_environments:
                get_environment(s, e)
                envs.pop(e, None)
            server.roles, server.environments = list(roles.values()), list(envs.values())
            self.ctx.audit(
                s,
                "server.memberships",
                "server",
                name,
                roles=sorted(roles),
                environments=sorted(envs),
            )
            s.flush()
            return server_view(server)

    # roles and environments ------------------------------------------------------------------

    def list_roles(self) -> list[GroupView]:
        with self.ctx.db.session() as s:
            query = select(Role).options(selectinload(Role.servers)).order_by(Role.name)
            return [_group_view(r) for r in s.scalars(query)]

    def list_environments(self) -> list[GroupView]:
        with self.ctx.db.session() as s:
            query = select(Environment).options(selectinload(Environment.servers))
            return [_group_view(e) for e in s.scalars(query.order_by(Environment.name))]

    def show_role(self, name: str) -> GroupView:
        with self.ctx.db.session() as s:
            return _group_view(get_role(s, name))

    def show_environment(self, name: str) -> GroupView:
        with self.ctx.db.session() as s:
            return _group_view(get_environment(s, name))

    def add_role(self, name: str, description: str = "") -> GroupView:
        check_name("role", name)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            if s.scalar(select(Role.id).where(Role.name == name)) is not None:
                raise ConflictError(f"role '{name}' already exists")
            role = Role(name=name, description=description, servers=[])
            s.add(role)
            self.ctx.audit(s, "role.add", "role", name)
            return _group_view(role)

    def add_environment(
        self, name: str, description: str = "", parent: str | None = None
    ) -> GroupView:
        check_name("environment", name)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            if s.scalar(select(Environment.id).where(Environment.name == name)) is not None:
                raise ConflictError(f"environment '{name}' already exists")
            env = Environment(name=name, description=description, servers=[])
            env.parent = get_environment(s, parent) if parent else None
            s.add(env)
            self.ctx.audit(s, "environment.add", "environment", name, parent=parent)
            return _group_view(env)

    def set_environment_parent(self, name: str, parent: str | None) -> GroupView:
        """Re-parent an environment; a cycle (a child becoming its own ancestor) is refused."""
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            env = get_environment(s, name)
            new_parent = get_environment(s, parent) if parent else None
            ancestor = new_parent
            while ancestor is not None:
                if ancestor.id == env.id:
                    raise UsageError(f"environment '{parent}' is inside '{name}': that is a cycle")
                ancestor = ancestor.parent
            env.parent = new_parent
            self.ctx.audit(s, "environment.parent", "environment", name, parent=parent)
            return _group_view(env)

    def remove_role(self, name: str) -> None:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            s.delete(get_role(s, name))
            self.ctx.audit(s, "role.remove", "role", name)

    def remove_environment(self, name: str) -> None:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            s.delete(get_environment(s, name))
            self.ctx.audit(s, "environment.remove", "environment", name)

    # targeting -------------------------------------------------------------------------------

    def targeting_inventory(self) -> Inventory:
        """A snapshot of what targeting needs, read in one go."""
        with self.ctx.db.session() as s:
            return load_inventory(s)


def count_servers(session: Session) -> int:
    return session.scalar(select(func.count(Server.id))) or 0

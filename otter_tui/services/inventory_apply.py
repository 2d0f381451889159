"""The diff-and-write half of an import: compare a :class:`Source` with the store, row by row.

Runs inside the caller's session; with ``write=False`` it only reads and reports (a dry run).
Servers, memberships and variables are read as plain rows and written with bulk statements (a
few per table, whatever the fleet size), so thousands of servers import in seconds. Roles and
environments are few and go through the ORM, which checks environment parent cycles.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from otter_tui.errors import UsageError
from otter_tui.inventory_import.source import Source, SourceGroup, SourceServer
from otter_tui.services.inventory import parse_transport
from otter_tui.services.variables import owner_key
from otter_tui.store.models import (
    Environment,
    Role,
    Server,
    ServerEnvironment,
    ServerRole,
    Variable,
)

G = TypeVar("G", Role, Environment)
FIELDS = ("host", "port", "user", "transport")


@dataclass(frozen=True)
class Change:
    """One row of the import table."""

    kind: str
    """``server``, ``role``, ``environment`` or ``global``."""
    name: str
    status: str
    """``added``, ``changed``, ``unchanged``, ``would-remove``, ``removed`` or ``kept``."""
    detail: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "status": self.status, "detail": self.detail}


@dataclass
class _Stored:
    """A server as the store has it, read as plain values."""

    id: int
    fields: dict[str, object]
    roles: set[str] = field(default_factory=set)
    environments: set[str] = field(default_factory=set)


@dataclass
class _Writes:
    """Bulk statements collected while diffing, executed together at the end."""

    variables: list[dict[str, Any]] = field(default_factory=list)
    variable_values: list[dict[str, Any]] = field(default_factory=list)
    variable_deletes: list[int] = field(default_factory=list)
    server_updates: list[dict[str, Any]] = field(default_factory=list)
    relinked: list[SourceServer] = field(default_factory=list)


class _Apply:
    def __init__(self, session: Session, source: Source, write: bool) -> None:
        self.s, self.source, self.write = session, source, write
        self.vars = _variables(session)
        self.changes: list[Change] = []
        self.created: set[tuple[str, str]] = set()
        self.writes = _Writes()
        self.group_ids: dict[str, dict[str, int]] = {}

    def groups(self, model: type[G], kind: str, groups: list[SourceGroup]) -> None:
        rows = {r.name: r for r in self.s.scalars(select(model))}
        wanted = {g.name for g in groups} | {m for s in self.source.servers for m in _of(s, kind)}
        for name in sorted(wanted - set(rows)):
            self.created.add((kind, name))
            if self.write:
                rows[name] = model(name=name, description="", servers=[])
                self.s.add(rows[name])
        if self.write:
            self.s.flush()
        for group in groups:
            self.group(kind, group, rows)
        self.group_ids[kind] = {name: row.id for name, row in rows.items()}

    def group(self, kind: str, group: SourceGroup, rows: dict[str, G]) -> None:
        row = rows.get(group.name)
        details = []
        if kind == "environment":
            details += self.parent(group, row, rows)  # type: ignore[arg-type]
        owner = row.id if row is not None else None
        details += self.set_vars(kind, owner, group.variables, prune=False)
        status = "added" if (kind, group.name) in self.created else _status(details)
        self.changes.append(Change(kind, group.name, status, "; ".join(details)))

    def parent(
        self, group: SourceGroup, row: Environment | None, rows: dict[str, Environment]
    ) -> list[str]:
        current = row.parent.name if row is not None and row.parent else None
        if current == group.parent:
            return []
        if self.write and row is not None:
            row.parent = rows[group.parent] if group.parent else None
            _no_cycle(row)
        return [f"parent {current or '-'} -> {group.parent or '-'}"]

    def set_vars(
        self, scope: str, owner_id: int | None, wanted: dict[str, str], *, prune: bool
    ) -> list[str]:
        """Diff ``wanted`` with one owner's variables (``prune``: others go); queue the writes."""
        fk: dict[str, int] = {}
        key = "global" if scope == "global" else ""
        if owner_id is not None:
            key, fk = owner_key(scope, owner_id)
        current = self.vars.get(key, {}) if key else {}
        added = sorted(set(wanted) - set(current))
        changed = sorted(n for n in set(wanted) & set(current) if current[n][1] != wanted[n])
        removed = sorted(set(current) - set(wanted)) if prune else []
        if self.write:
            self.writes.variables += [
                {"scope": scope, "scope_key": key, "name": n, "value": wanted[n], **fk}
                for n in added
            ]
            self.writes.variable_values += [
                {"id": current[n][0], "value": wanted[n]} for n in changed
            ]
            self.writes.variable_deletes += [current[n][0] for n in removed]
        parts = [f"+{n}" for n in added] + [f"~{n}" for n in changed] + [f"-{n}" for n in removed]
        return [f"vars {' '.join(parts)}"] if parts else []

    def server(self, src: SourceServer, stored: _Stored) -> list[str]:
        """What differs between ``src`` and the stored server; the update is queued."""
        wanted = _fields(src)
        details = [
            f"{k} {stored.fields[k]} -> {v}" for k, v in wanted.items() if stored.fields[k] != v
        ]
        groups = self.source.describes_groups
        if groups:
            details += _membership_diff("roles", stored.roles, src.roles)
            details += _membership_diff("environments", stored.environments, src.environments)
        if self.write and details:
            self.writes.server_updates.append({"id": stored.id, **wanted})
            if groups:
                self.writes.relinked.append(src)
        return details

    def insert_servers(self, sources: list[SourceServer]) -> dict[str, int]:
        """Insert the servers the store lacks, one bulk statement: their ids by name."""
        if not self.write or not sources:
            return {}
        values = [
            {"name": s.name, "active": True, "description": "", **_fields(s)} for s in sources
        ]
        statement = insert(Server).returning(Server.id, Server.name, sort_by_parameter_order=True)
        return {name: row_id for row_id, name in self.s.execute(statement, values)}

    def link(self, sources: list[SourceServer], ids: dict[str, int]) -> None:
        """(Re)write the role and environment links of ``sources`` in bulk."""
        if not sources or not self.source.describes_groups:
            return
        server_ids = [ids[s.name] for s in sources]
        for model, kind in ((ServerRole, "role"), (ServerEnvironment, "environment")):
            self.s.execute(delete(model).where(model.server_id.in_(server_ids)))
            column, names = f"{kind}_id", self.group_ids[kind]
            links = [
                {"server_id": ids[s.name], column: names[g]} for s in sources for g in _of(s, kind)
            ]
            if links:
                self.s.execute(insert(model), links)

    def flush_variables(self) -> None:
        writes = self.writes
        if writes.variable_deletes:
            self.s.execute(delete(Variable).where(Variable.id.in_(writes.variable_deletes)))
        if writes.variable_values:
            self.s.execute(update(Variable), writes.variable_values)
        if writes.variables:
            self.s.execute(insert(Variable), writes.variables)


def apply_source(session: Session, source: Source, *, prune: bool, write: bool) -> list[Change]:
    """Compare ``source`` with the store (and with ``write``, make the store match it)."""
    run = _Apply(session, source, write)
    run.groups(Role, "role", source.roles)
    run.groups(Environment, "environment", source.environments)
    if source.global_vars:
        details = run.set_vars("global", None, source.global_vars, prune=False)
        run.changes.append(Change("global", "", _status(details), "; ".join(details)))
    stored = _servers(session)
    fresh = [s for s in source.servers if s.name not in stored]
    new_ids = run.insert_servers(fresh)
    ids = {**{n: x.id for n, x in stored.items()}, **new_ids}
    for src in source.servers:
        old = stored.get(src.name)
        details = run.server(src, old) if old else [_address(src)]
        if source.describes_groups:
            owner = ids.get(src.name)
            details += run.set_vars("server", owner, src.variables, prune=True)
        status = "added" if old is None else _status(details)
        run.changes.append(Change("server", src.name, status, "; ".join(details)))
    if write:
        if run.writes.server_updates:
            session.execute(update(Server), run.writes.server_updates)
        run.link(fresh + run.writes.relinked, ids)
        run.flush_variables()
    run.changes += _gone(session, stored, source, prune=prune, write=write)
    return run.changes


def _servers(session: Session) -> dict[str, _Stored]:
    """Every server with its role and environment names, in three plain queries."""
    columns = (Server.id, Server.name, Server.host, Server.port, Server.user, Server.transport)
    out: dict[str, _Stored] = {}
    by_id: dict[int, _Stored] = {}
    for row_id, name, host, port, user, transport in session.execute(select(*columns)):
        fields = {"host": host, "port": port, "user": user, "transport": transport}
        out[name] = by_id[row_id] = _Stored(row_id, fields)
    for server_id, role in session.execute(
        select(ServerRole.server_id, Role.name).join(Role, Role.id == ServerRole.role_id)
    ):
        by_id[server_id].roles.add(role)
    for server_id, env in session.execute(
        select(ServerEnvironment.server_id, Environment.name).join(
            Environment, Environment.id == ServerEnvironment.environment_id
        )
    ):
        by_id[server_id].environments.add(env)
    return out


def _gone(
    session: Session, stored: dict[str, _Stored], source: Source, *, prune: bool, write: bool
) -> list[Change]:
    """Servers the source lacks: removed with ``prune`` (job history kept), else listed as kept.

    The database's foreign keys do the rest, as for ``servers rm``: memberships and variables
    go with the server, its server runs keep their ``server_name``.
    """
    names = {s.name for s in source.servers}
    gone = sorted(n for n in stored if n not in names)
    if prune and write and gone:
        session.execute(delete(Server).where(Server.id.in_([stored[n].id for n in gone])))
    status = ("removed" if write else "would-remove") if prune else "kept"
    detail = "" if prune else "not in the source"
    return [Change("server", name, status, detail) for name in gone]


def _fields(src: SourceServer) -> dict[str, object]:
    return {
        "host": src.host,
        "port": src.port,
        "user": src.user,
        "transport": parse_transport(src.transport),
    }


def _address(src: SourceServer) -> str:
    return f"{src.host}:{src.port}" if src.transport == "ssh" else "local"


def _of(server: SourceServer, kind: str) -> tuple[str, ...]:
    return server.roles if kind == "role" else server.environments


def _membership_diff(what: str, current: set[str], wanted: tuple[str, ...]) -> list[str]:
    plus = [f"+{n}" for n in sorted(set(wanted) - current)]
    minus = [f"-{n}" for n in sorted(current - set(wanted))]
    return [f"{what} {' '.join(plus + minus)}"] if plus or minus else []


def _status(details: list[str]) -> str:
    return "changed" if details else "unchanged"


def _variables(session: Session) -> dict[str, dict[str, tuple[int, str]]]:
    """Every variable as ``{scope_key: {name: (id, value)}}``."""
    out: dict[str, dict[str, tuple[int, str]]] = {}
    columns = (Variable.id, Variable.scope_key, Variable.name, Variable.value)
    for row_id, key, name, value in session.execute(select(*columns)):
        out.setdefault(key, {})[name] = (row_id, value)
    return out


def _no_cycle(env: Environment) -> None:
    seen = {env.name}
    ancestor = env.parent
    while ancestor is not None:
        if ancestor.name in seen:
            raise UsageError(f"environment '{env.name}' would be inside itself (parent cycle)")
        seen.add(ancestor.name)
        ancestor = ancestor.parent

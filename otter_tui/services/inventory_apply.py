"""The diff-and-write half of an import: compare a :class:`Source` with the store, row by row.

Runs inside the caller's session; with ``write=False`` it only reads and reports (a dry run).
Rows are loaded in a handful of queries whatever the fleet size, so thousands of servers import
in seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from otter_tui.errors import UsageError
from otter_tui.inventory_import.source import Source, SourceGroup, SourceServer
from otter_tui.services.inventory import parse_transport
from otter_tui.services.variables import owner_key
from otter_tui.store.models import Environment, Role, Server, Variable

G = TypeVar("G", Role, Environment)


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


class _Apply:
    def __init__(self, session: Session, source: Source, write: bool) -> None:
        self.s, self.source, self.write = session, source, write
        self.vars = _variables(session)
        self.changes: list[Change] = []
        self.created: set[tuple[str, str]] = set()

    def groups(self, model: type[G], kind: str, groups: list[SourceGroup]) -> dict[str, G]:
        rows = {r.name: r for r in self.s.scalars(select(model))}
        wanted = {g.name for g in groups}
        wanted |= {m for s in self.source.servers for m in _members(s, kind)}
        for name in sorted(wanted - set(rows)):
            self.created.add((kind, name))
            if self.write:
                rows[name] = model(name=name, description="", servers=[])
                self.s.add(rows[name])
        if self.write:
            self.s.flush()
        for group in groups:
            self.group(kind, group, rows)
        return rows

    def group(self, kind: str, group: SourceGroup, rows: dict[str, G]) -> None:
        row = rows.get(group.name)
        details = []
        if isinstance(row, Environment) or (row is None and kind == "environment"):
            details += self.parent(group, row, rows)  # type: ignore[arg-type]
        key = owner_key(kind, row.id)[0] if row is not None and row.id else ""
        details += self.set_vars(kind, row.id if row else None, key, group.variables, prune=False)
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
        self, scope: str, owner_id: int | None, key: str, wanted: dict[str, str], *, prune: bool
    ) -> list[str]:
        """Set ``wanted`` on one owner (and, with ``prune``, remove the others): the diff."""
        current = self.vars.get(key, {}) if key else {}
        added = sorted(set(wanted) - set(current))
        changed = sorted(n for n in set(wanted) & set(current) if current[n].value != wanted[n])
        removed = sorted(set(current) - set(wanted)) if prune else []
        if self.write:
            for name in added:
                fk = owner_key(scope, owner_id)[1] if owner_id is not None else {}
                self.s.add(
                    Variable(scope=scope, scope_key=key, name=name, value=wanted[name], **fk)
                )
            for name in changed:
                current[name].value = wanted[name]
            for name in removed:
                self.s.delete(current[name])
        parts = [f"+{n}" for n in added] + [f"~{n}" for n in changed] + [f"-{n}" for n in removed]
        return [f"vars {' '.join(parts)}"] if parts else []

    def server(
        self,
        src: SourceServer,
        row: Server | None,
        roles: dict[str, Role],
        envs: dict[str, Environment],
    ) -> tuple[Server | None, list[str]]:
        fields = {
            "host": src.host,
            "port": src.port,
            "user": src.user,
            "transport": parse_transport(src.transport),
        }
        if row is None:
            new = (
                Server(name=src.name, active=True, description="", **fields) if self.write else None
            )
            if new is not None:
                self._memberships(new, src, roles, envs)
                self.s.add(new)
            return new, [f"{src.host}:{src.port}" if src.transport == "ssh" else "local"]
        details = [
            f"{k} {getattr(row, k)} -> {v}" for k, v in fields.items() if getattr(row, k) != v
        ]
        if self.source.describes_groups:
            details += _membership_diff("roles", [r.name for r in row.roles], src.roles)
            details += _membership_diff(
                "environments", [e.name for e in row.environments], src.environments
            )
        if self.write and details:
            for key, value in fields.items():
                setattr(row, key, value)
            if self.source.describes_groups:
                self._memberships(row, src, roles, envs)
        return row, details

    def _memberships(
        self, row: Server, src: SourceServer, roles: dict[str, Role], envs: dict[str, Environment]
    ) -> None:
        if self.source.describes_groups:
            row.roles = [roles[r] for r in src.roles]
            row.environments = [envs[e] for e in src.environments]


def apply_source(session: Session, source: Source, *, prune: bool, write: bool) -> list[Change]:
    """Compare ``source`` with the store (and with ``write``, make the store match it)."""
    run = _Apply(session, source, write)
    roles = run.groups(Role, "role", source.roles)
    envs = run.groups(Environment, "environment", source.environments)
    if source.global_vars:
        details = run.set_vars("global", None, "global", source.global_vars, prune=False)
        run.changes.append(Change("global", "", _status(details), "; ".join(details)))
    query = select(Server).options(selectinload(Server.roles), selectinload(Server.environments))
    existing = {x.name: x for x in session.scalars(query)}
    pending: list[tuple[SourceServer, Server | None, list[str], bool]] = []
    for src in source.servers:
        row, details = run.server(src, existing.get(src.name), roles, envs)
        pending.append((src, row, details, src.name not in existing))
    if write:
        session.flush()
    for src, row, details, is_new in pending:
        if source.describes_groups:
            key = owner_key("server", row.id)[0] if row is not None else ""
            details += run.set_vars(
                "server", row.id if row else None, key, src.variables, prune=True
            )
        status = "added" if is_new else _status(details)
        run.changes.append(Change("server", src.name, status, "; ".join(details)))
    run.changes += _gone(session, existing, source, prune=prune, write=write)
    return run.changes


def _gone(
    session: Session, existing: dict[str, Server], source: Source, *, prune: bool, write: bool
) -> list[Change]:
    """Servers the source lacks: removed with ``prune``, else kept and listed."""
    names = {s.name for s in source.servers}
    out = []
    for name, row in sorted(existing.items()):
        if name in names:
            continue
        if prune and write:
            session.delete(row)
        status = ("removed" if write else "would-remove") if prune else "kept"
        out.append(Change("server", name, status, "" if prune else "not in the source"))
    return out


def _members(server: SourceServer, kind: str) -> tuple[str, ...]:
    return server.roles if kind == "role" else server.environments


def _membership_diff(what: str, current: list[str], wanted: tuple[str, ...]) -> list[str]:
    plus = [f"+{n}" for n in sorted(set(wanted) - set(current))]
    minus = [f"-{n}" for n in sorted(set(current) - set(wanted))]
    return [f"{what} {' '.join(plus + minus)}"] if plus or minus else []


def _status(details: list[str]) -> str:
    return "changed" if details else "unchanged"


def _variables(session: Session) -> dict[str, dict[str, Variable]]:
    out: dict[str, dict[str, Variable]] = {}
    for row in session.scalars(select(Variable)):
        out.setdefault(row.scope_key, {})[row.name] = row
    return out


def _no_cycle(env: Environment) -> None:
    seen = {env.name}
    ancestor = env.parent
    while ancestor is not None:
        if ancestor.name in seen:
            raise UsageError(f"environment '{env.name}' would be inside itself (parent cycle)")
        seen.add(ancestor.name)
        ancestor = ancestor.parent

"""Targeting: from a job's target spec to the ordered (server, role in context) pairs it runs on.

The rules are Otter's (ARCHITECTURE.md section 3):

- servers listed directly: each once, in the order given;
- roles only: every server in *any* listed role, once, with no role in context;
- environments only: every server in *any* listed environment (or a child of one), once;
- roles and environments: for each role R in the order given, the servers of R that are in any
  listed environment, with R in context. Not de-duplicated across roles: a server in two listed
  roles runs twice, once per role, so plans can use ``ctx.in_role`` for role-specific parts;
- direct servers combined with roles/environments: the direct servers first, then the rest; a
  (server, role in context) pair never runs twice, so a server both listed directly and reached
  through a listed role runs once (with roles and environments it also runs once per role);
- no targets: one run with no server in context;
- inactive servers are left out unless the spec says to include them. A server listed directly
  that is inactive is left out too: "inactive" means "do not touch".

Servers are taken in name order within a role or environment, so a job is reproducible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from otter_tui.errors import NotFoundError


@dataclass(frozen=True)
class TargetSpec:
    """What a job asks to run on."""

    servers: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()
    include_inactive: bool = False

    @property
    def empty(self) -> bool:
        return not (self.servers or self.roles or self.environments)

    def as_dict(self) -> dict[str, object]:
        return {
            "servers": list(self.servers),
            "roles": list(self.roles),
            "environments": list(self.environments),
            "include_inactive": self.include_inactive,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, object]) -> TargetSpec:
        def names(key: str) -> tuple[str, ...]:
            value = raw.get(key) or ()
            return tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else ()

        return cls(
            names("servers"),
            names("roles"),
            names("environments"),
            bool(raw.get("include_inactive", False)),
        )

    def describe(self) -> str:
        """A short line for lists and approvals: ``roles web,db in env prod``."""
        if self.empty:
            return "no targets"
        parts = []
        if self.servers:
            parts.append("servers " + ",".join(self.servers))
        if self.roles:
            parts.append("roles " + ",".join(self.roles))
        if self.environments:
            parts.append(("in env " if self.roles else "envs ") + ",".join(self.environments))
        return " ".join(parts) + (" (incl. inactive)" if self.include_inactive else "")


@dataclass(frozen=True)
class InventoryServer:
    """The facts targeting needs about one server."""

    name: str
    active: bool = True
    roles: frozenset[str] = field(default_factory=frozenset)
    environments: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Target:
    """One server run to make: a server (None for a job with no targets) and its role in context."""

    server: str | None
    role: str | None = None


@dataclass(frozen=True)
class Inventory:
    """The servers, role names and environment tree that targeting resolves against."""

    servers: Sequence[InventoryServer]
    roles: frozenset[str]
    environment_parents: Mapping[str, str | None]

    @cached_property
    def by_name(self) -> Mapping[str, InventoryServer]:
        """The servers by name, built once per snapshot (a snapshot is kept between jobs)."""
        return {s.name: s for s in self.servers}

    @cached_property
    def in_name_order(self) -> Sequence[InventoryServer]:
        """The servers sorted by name, the order of a job's server runs; built once too."""
        return sorted(self.servers, key=lambda s: s.name)

    @cached_property
    def resolved(self) -> dict[TargetSpec, tuple[Target, ...]]:
        """Target specs already resolved against this snapshot: a template, a schedule or an
        API trigger resolves the same spec job after job (1,000 servers: ~1 ms each time)."""
        return {}

    def environment_closure(self, names: Sequence[str]) -> frozenset[str]:
        """The named environments and all their descendants."""
        wanted = set(names)
        changed = True
        while changed:
            children = {e for e, p in self.environment_parents.items() if p in wanted}
            changed = not children <= wanted
            wanted |= children
        return frozenset(wanted)


RESOLVED_KEPT = 8
"""Resolved specs kept per inventory snapshot; past this many the memo starts over. A few specs
come back again and again; a resolved spec of 10,000 servers holds about 2-3 MB, so the memo
stays under ~25 MB on the largest fleets."""


def resolve_targets(spec: TargetSpec, inventory: Inventory) -> list[Target]:
    """The ordered server runs for ``spec``; unknown names raise a one-line error."""
    known = inventory.resolved.get(spec)
    if known is None:
        known = tuple(_resolve(spec, inventory))
        if len(inventory.resolved) >= RESOLVED_KEPT:
            inventory.resolved.clear()
        inventory.resolved[spec] = known
    return list(known)


def _resolve(spec: TargetSpec, inventory: Inventory) -> list[Target]:
    _check_names(spec, inventory)
    if spec.empty:
        return [Target(None)]
    by_name = inventory.by_name
    eligible = [s for s in inventory.in_name_order if _usable(s, spec)]
    runs = [Target(n) for n in dict.fromkeys(spec.servers) if _usable(by_name[n], spec)]
    envs = inventory.environment_closure(spec.environments)
    if spec.roles and spec.environments:
        for role in dict.fromkeys(spec.roles):
            runs += [
                Target(s.name, role) for s in eligible if role in s.roles and s.environments & envs
            ]
    elif spec.roles:
        roles = set(spec.roles)
        runs += [Target(s.name) for s in eligible if s.roles & roles]
    elif spec.environments:
        runs += [Target(s.name) for s in eligible if s.environments & envs]
    # A server listed directly and also reached through a role or environment, with the same
    # role in context, would otherwise run twice at once on the same machine.
    return list(dict.fromkeys(runs))


def _usable(server: InventoryServer, spec: TargetSpec) -> bool:
    return server.active or spec.include_inactive


def _check_names(spec: TargetSpec, inventory: Inventory) -> None:
    known_servers = inventory.by_name
    for kind, names, known in (
        ("server", spec.servers, known_servers),
        ("role", spec.roles, inventory.roles),
        ("environment", spec.environments, set(inventory.environment_parents)),
    ):
        for name in names:
            if name not in known:
                raise NotFoundError(f"unknown {kind} '{name}'")

"""Drift as stored by the last check or remediation: per item, rolled up per server and group.

A server is ``never checked`` until a check ran, then the worst of its items: ``error`` over
``drifted`` over ``unknown`` over ``current``. A role or an environment is drifted if any of its
servers is (Otter's rule), with the same order.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select

from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.store.models import DriftItem, Server
from otter_tui.targeting import TargetSpec, resolve_targets

ORDER = ("error", "drifted", "unknown", "never checked", "current")


@dataclass(frozen=True)
class ServerDrift:
    """A server's drift, rolled up from its items."""

    server: str
    status: str
    checked_at: datetime | None
    drifted: int
    unknown: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class DriftItemView:
    """One checked item of a server, as stored by the last check."""

    plan_key: str
    item: str
    status: str
    diff: str
    message: str
    checked_at: datetime

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def worst(statuses: list[str]) -> str:
    """The roll-up of several statuses; an empty group is ``never checked``."""
    for status in ORDER:
        if status in statuses:
            return status
    return "never checked"


class DriftService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def servers(self, only: Collection[str] | None = None) -> list[ServerDrift]:
        """Every server's drift by name, or only the servers named in ``only``."""
        with self.ctx.db.session() as s:
            items: dict[int, list[str]] = {}
            for server_id, item_status in s.execute(select(DriftItem.server_id, DriftItem.status)):
                items.setdefault(server_id, []).append(item_status.value)
            query = select(Server.id, Server.name, Server.drift_checked_at).order_by(Server.name)
            out = []
            for server_id, name, checked_at in s.execute(query):
                if only is not None and name not in only:
                    continue
                statuses = items.get(server_id, [])
                status = "never checked" if checked_at is None else _server_status(statuses)
                drifted, unknown = statuses.count("drifted"), statuses.count("unknown")
                out.append(ServerDrift(name, status, checked_at, drifted, unknown))
            return out

    def targeted(self, spec: TargetSpec) -> list[ServerDrift]:
        """The drift of the servers ``spec`` resolves to, as a job on ``spec`` resolves them.

        From the inventory snapshot targeting keeps: a ``drift check`` prints what it checked
        without the inventory service (its views and edits) that only the inventory commands use.
        """
        with self.ctx.db.session() as s:
            inventory = load_inventory(s)
        resolved = resolve_targets(spec, inventory)
        return self.servers(only={t.server for t in resolved if t.server})

    def items(self, server: str) -> list[DriftItemView]:
        from otter_tui.services.inventory import get_server  # the one lookup; see ``targeted``

        with self.ctx.db.session() as s:
            row = get_server(s, server)
            query = (
                select(DriftItem)
                .where(DriftItem.server_id == row.id)
                .order_by(DriftItem.plan_key, DriftItem.id)
            )
            return [
                DriftItemView(i.plan_key, i.item, i.status.value, i.diff, i.message, i.checked_at)
                for i in s.scalars(query)
            ]

    def groups(self) -> dict[str, dict[str, str]]:
        """``{"roles": {name: status}, "environments": {name: status}}``.

        Memberships come from the inventory snapshot targeting keeps (one token read while the
        inventory is unchanged), not from a server object per server with its groups."""
        by_server = {d.server: d.status for d in self.servers()}
        with self.ctx.db.session() as s:
            inventory = load_inventory(s)
        roles: dict[str, list[str]] = {}
        envs: dict[str, list[str]] = {}
        for server in inventory.servers:
            for role in server.roles:
                roles.setdefault(role, []).append(by_server[server.name])
            for env in server.environments:
                envs.setdefault(env, []).append(by_server[server.name])
        return {
            "roles": {k: worst(v) for k, v in sorted(roles.items())},
            "environments": {k: worst(v) for k, v in sorted(envs.items())},
        }


def _server_status(statuses: list[str]) -> str:
    mapped = ["current" if x == "desired" else x for x in statuses]
    return worst(mapped) if mapped else "current"

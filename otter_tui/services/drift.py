"""Drift as stored by the last check or remediation: per item, rolled up per server and group.

A server is ``never checked`` until a check ran, then the worst of its items: ``error`` over
``drifted`` over ``unknown`` over ``current``. A role or an environment is drifted if any of its
servers is (Otter's rule), with the same order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory import get_server
from otter_tui.store.models import DriftItem, Server

ORDER = ("error", "drifted", "unknown", "never checked", "current")


@dataclass(frozen=True)
class ServerDrift:
    server: str
    status: str
    checked_at: datetime | None
    drifted: int
    unknown: int

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class DriftItemView:
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

    def servers(self) -> list[ServerDrift]:
        with self.ctx.db.session() as s:
            items: dict[int, list[str]] = {}
            for server_id, item_status in s.execute(select(DriftItem.server_id, DriftItem.status)):
                items.setdefault(server_id, []).append(item_status.value)
            out = []
            for server in s.scalars(select(Server).order_by(Server.name)):
                statuses = items.get(server.id, [])
                status = (
                    "never checked" if server.drift_checked_at is None else _server_status(statuses)
                )
                out.append(
                    ServerDrift(
                        server.name,
                        status,
                        server.drift_checked_at,
                        statuses.count("drifted"),
                        statuses.count("unknown"),
                    )
                )
            return out

    def items(self, server: str) -> list[DriftItemView]:
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
        """``{"roles": {name: status}, "environments": {name: status}}``."""
        by_server = {d.server: d.status for d in self.servers()}
        with self.ctx.db.session() as s:
            query = select(Server).options(
                selectinload(Server.roles), selectinload(Server.environments)
            )
            roles: dict[str, list[str]] = {}
            envs: dict[str, list[str]] = {}
            for server in s.scalars(query):
                for r in server.roles:
                    roles.setdefault(r.name, []).append(by_server[server.name])
                for e in server.environments:
                    envs.setdefault(e.name, []).append(by_server[server.name])
        return {
            "roles": {k: worst(v) for k, v in sorted(roles.items())},
            "environments": {k: worst(v) for k, v in sorted(envs.items())},
        }


def _server_status(statuses: list[str]) -> str:
    mapped = ["current" if x == "desired" else x for x in statuses]
    return worst(mapped) if mapped else "current"

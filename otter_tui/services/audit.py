"""Reading the audit trail, and checking its hash chain. There is no way to change it here.

Events are only ever added, by :meth:`ServiceContext.audit` inside the transaction that makes the
change. This service reads them (filtered by time, actor, kind or job) and verifies the chain:
each event's stored hash must match its content and the hash of the event before it, so an event
changed, removed or moved after it was written is found, with the first one that breaks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, or_, select

from otter_tui.errors import UsageError
from otter_tui.services.context import ServiceContext
from otter_tui.store.audit_chain import GENESIS, event_hash
from otter_tui.store.models import AuditEvent

RELATIVE = re.compile(r"^(\d+)([smhdw])$")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


@dataclass(frozen=True)
class AuditView:
    """One event as ``audit`` and the console's Audit section show it."""

    id: int
    at: datetime
    actor: str
    action: str
    object_type: str
    object_name: str
    detail: dict[str, Any]
    before: dict[str, Any] | None
    after: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class AuditFilter:
    """Which events to show; every field left empty matches all."""

    since: datetime | None = None
    actor: str = ""
    kind: str = ""
    """An action (``job.denied``) or its first part (``job``: every ``job.*`` action)."""
    job: int | None = None


@dataclass(frozen=True)
class ChainReport:
    """What ``audit verify`` found: how many events it checked, and the first break, if any."""

    checked: int
    problem: str = ""

    @property
    def intact(self) -> bool:
        return not self.problem


def parse_since(text: str, now: datetime) -> datetime:
    """``--since``: an ISO time with a zone, or a span back from now (``30m``, ``2h``, ``7d``)."""
    found = RELATIVE.match(text.strip())
    if found:
        return now - timedelta(seconds=int(found[1]) * UNIT_SECONDS[found[2]])
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise UsageError(
            f"--since takes a span (30m, 2h, 7d) or an ISO time with a zone, got {text!r}"
        )
    return when


def _view(event: AuditEvent) -> AuditView:
    return AuditView(
        event.id,
        event.at,
        event.actor,
        event.action,
        event.object_type,
        event.object_name,
        dict(event.detail or {}),
        event.before,
        event.after,
    )


def _filtered(query: Select[Any], wanted: AuditFilter) -> Select[Any]:
    if wanted.since is not None:
        query = query.where(AuditEvent.at >= wanted.since)
    if wanted.actor:
        query = query.where(AuditEvent.actor == wanted.actor)
    if wanted.kind:
        kind = wanted.kind
        query = query.where(
            or_(AuditEvent.action == kind, AuditEvent.action.startswith(f"{kind}."))
        )
    if wanted.job is not None:
        query = query.where(
            AuditEvent.object_type == "job", AuditEvent.object_name == str(wanted.job)
        )
    return query


class AuditService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def list(self, wanted: AuditFilter | None = None, *, limit: int = 1000) -> list[AuditView]:
        """The newest ``limit`` events that match, oldest first."""
        with self.ctx.db.session() as s:
            self.ctx.require(s, "audit.read")
            query = _filtered(select(AuditEvent), wanted or AuditFilter())
            rows = s.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)).all()
            return [_view(e) for e in reversed(rows)]

    def verify(self) -> ChainReport:
        """Walk the whole chain in id order; stop at the first event that does not fit."""
        with self.ctx.db.session() as s:
            self.ctx.require(s, "audit.read")
            previous, checked = GENESIS, 0
            for event in s.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
                problem = _break(event, previous)
                if problem:
                    return ChainReport(checked, problem)
                previous, checked = event.hash, checked + 1
            return ChainReport(checked)


def _break(event: AuditEvent, previous: str) -> str:
    if event.prev_hash != previous:
        return (
            f"event {event.id} does not follow the event before it: "
            "an event was removed or reordered"
        )
    content = (event.actor, event.action, event.object_type, event.object_name)
    digest = event_hash(previous, event.at, *content, event.detail, event.before, event.after)
    if digest != event.hash:
        return f"event {event.id} was changed after it was written"
    return ""

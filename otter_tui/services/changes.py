"""Cheap markers of what changed in the store, for front ends that follow other processes.

A front end reads :func:`read_markers` on a short tick and compares it with the last read: a kind
whose marker moved has new or changed rows. Each marker is an aggregate over an indexed column
(the newest audit event, job or firing id, the job counts per state, the newest drift check), so
one read is a handful of index lookups whatever the size of the history. Every change a service
makes is audited, so the ``audit`` marker moves for any of them, whichever process made it; the
others cover what the engine and the scheduler write without an audit event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Executable, func, select

from otter_tui.services.context import ServiceContext
from otter_tui.store.models import AuditEvent, Job, ScheduleFiring, Server

Marker = tuple[object, ...]

_QUERIES: Mapping[str, Executable] = {
    "audit": select(func.max(AuditEvent.id)),
    "jobs": select(Job.state, func.count(Job.id)).group_by(Job.state),
    "new_jobs": select(func.max(Job.id)),
    "firings": select(func.max(ScheduleFiring.id)),
    "drift": select(func.max(Server.drift_checked_at)),
}
KINDS = frozenset(_QUERIES)


def read_markers(ctx: ServiceContext) -> dict[str, Marker]:
    """One read of every marker, in one session."""
    with ctx.db.session() as s:
        return {
            kind: tuple(tuple(row) for row in s.execute(query)) for kind, query in _QUERIES.items()
        }


def changed_kinds(before: Mapping[str, Marker], after: Mapping[str, Marker]) -> frozenset[str]:
    """The kinds whose marker moved between two reads.

    Against no earlier read, every kind: what changed between a screen's first load and the first
    read would otherwise never show.
    """
    if not before:
        return frozenset(after)
    return frozenset(kind for kind in after if after[kind] != before.get(kind))


SERVER_WIDE_ACTIONS = frozenset({"inventory.import"})
"""Audited actions that may change any server at once (an import edits records in bulk)."""


@dataclass(frozen=True)
class ServerChanges:
    """What an audit read since ``after`` says about servers: for closing warm connections."""

    last_id: int
    names: frozenset[str]
    """Servers added, edited, re-trusted or removed."""
    every: bool
    """A bulk change: treat every server as changed."""


def server_changes(ctx: ServiceContext, after: int | None) -> ServerChanges:
    """Servers changed by audited actions newer than event ``after`` (None: only the newest id,
    for a first read). Every edit of a server record is audited, in whichever process made it,
    so this sees the console's edits from the daemon and the other way round."""
    with ctx.db.session() as s:
        if after is None:
            return ServerChanges(s.scalar(select(func.max(AuditEvent.id))) or 0, frozenset(), False)
        query = select(
            AuditEvent.id, AuditEvent.action, AuditEvent.object_type, AuditEvent.object_name
        ).where(AuditEvent.id > after)
        rows = s.execute(query).all()
    newest = max((row.id for row in rows), default=after)
    server_rows = [row for row in rows if row.object_type == "server"]
    every = any(row.action in SERVER_WIDE_ACTIONS for row in rows)
    return ServerChanges(newest, frozenset(row.object_name for row in server_rows), every)

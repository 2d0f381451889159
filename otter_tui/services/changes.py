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

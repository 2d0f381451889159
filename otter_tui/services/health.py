"""How the system stands, read from the store: for ``/readyz`` and ``/metrics``.

Everything is counted in SQL at the moment it is asked, so the numbers are the database's, not
one process's: an API host sees the jobs its daemons run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text

from otter_tui.scheduler.lease import SCHEDULER_LEASE
from otter_tui.services.context import ServiceContext
from otter_tui.store.models import Job, JobState, Lease, LogEntry, ScheduleFiring, ServerRun

RECENT = timedelta(hours=1)
"""Latencies are taken over the last hour's jobs and firings."""
SAMPLE = 1000


@dataclass(frozen=True)
class Readiness:
    database: bool
    scheduler_leader: str | None
    """Who holds the scheduler lease now, or None (no scheduler is active)."""
    lease_expires_at: datetime | None = None


@dataclass(frozen=True)
class Snapshot:
    jobs: dict[str, int] = field(default_factory=dict)
    runs: dict[str, int] = field(default_factory=dict)
    log_lines: int = 0
    queued: dict[str, int] = field(default_factory=dict)
    """Jobs waiting in ``queued`` by queue: the queue depth."""
    claim_latency: list[float] = field(default_factory=list)
    """Seconds from a job's due time to its start, for jobs started in the last hour."""
    scheduler_lateness: list[float] = field(default_factory=list)
    """Seconds from a firing's due time to the scheduler recording it, over the last hour."""
    scheduler_leader: bool = False


def readiness(ctx: ServiceContext) -> Readiness:
    """Whether the database answers, and the scheduler lease as it stands."""
    try:
        with ctx.db.session() as s:
            s.execute(text("SELECT 1"))
            lease = s.scalar(select(Lease).where(Lease.name == SCHEDULER_LEASE))
            live = lease is not None and lease.expires_at > ctx.now()
            if lease is None or not live:
                return Readiness(True, None)
            return Readiness(True, lease.holder, lease.expires_at)
    except Exception:  # any failure to reach the store means "not ready"
        return Readiness(False, None)


def snapshot(ctx: ServiceContext) -> Snapshot:
    since = ctx.now() - RECENT
    with ctx.db.session() as s:
        jobs = {
            st.value: n for st, n in s.execute(select(Job.state, func.count()).group_by(Job.state))
        }
        runs = {
            st.value: n
            for st, n in s.execute(select(ServerRun.state, func.count()).group_by(ServerRun.state))
        }
        depth = (
            select(Job.queue_name, func.count())
            .where(Job.state == JobState.QUEUED)
            .group_by(Job.queue_name)
        )
        queued = {name: n for name, n in s.execute(depth)}
        started = s.execute(
            select(Job.run_at, Job.started_at)
            .where(Job.started_at >= since)
            .order_by(Job.started_at.desc())
            .limit(SAMPLE)
        )
        firings = s.execute(
            select(ScheduleFiring.due_at, ScheduleFiring.created_at)
            .where(ScheduleFiring.due_at >= since)
            .order_by(ScheduleFiring.due_at.desc())
            .limit(SAMPLE)
        )
        return Snapshot(
            jobs=jobs,
            runs=runs,
            log_lines=s.scalar(select(func.count(LogEntry.id))) or 0,
            queued=queued,
            claim_latency=[max(0.0, (b - a).total_seconds()) for a, b in started if b],
            scheduler_lateness=[max(0.0, (b - a).total_seconds()) for a, b in firings],
            scheduler_leader=readiness(ctx).scheduler_leader is not None,
        )


__all__ = ["Readiness", "Snapshot", "readiness", "snapshot"]

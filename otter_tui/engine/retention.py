"""Retention: old log lines and old jobs are pruned per ``[retention]``, in the background.

Two horizons, both counted from when a job *finished* (a job still waiting or running is never
touched, however old it is):

- ``log_days``: the log lines of a job that finished longer ago are deleted; the job, its server
  runs and its summary stay, and the summary records when the log was pruned;
- ``job_days``: a job that finished longer ago is deleted with its server runs and log lines.

``0`` switches a horizon off (keep forever). Lines are deleted in chunks, each in its own short
write transaction, so a prune of millions of lines never holds SQLite's write lock for long and
running jobs keep storing their logs meanwhile.

:func:`prune` runs once (``otter-tui jobs prune``); :class:`PeriodicPrune` runs it every
``interval`` seconds for a worker, with an injectable ``sleep`` so tests need not wait.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select

from otter_tui.engine.dbthread import DbThread
from otter_tui.services.context import ServiceContext
from otter_tui.store.models import ACTIVE_JOB_STATES, Job, LogEntry

log = logging.getLogger(__name__)

CHUNK_LINES = 20_000
"""Log lines deleted per transaction: ~0.1 s of SQLite's write lock."""
CHUNK_JOBS = 500
DEFAULT_INTERVAL = 3600.0
"""A worker prunes at start and then once an hour."""

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Pruned:
    """What one prune removed."""

    jobs: int = 0
    log_lines: int = 0

    def describe(self) -> str:
        return f"pruned {self.jobs} job(s) and {self.log_lines} log line(s)"


def prune(ctx: ServiceContext) -> Pruned:
    """Apply the retention settings once, as of ``ctx.now()``."""
    settings, now = ctx.settings.retention, ctx.now()
    lines = jobs = 0
    if settings.log_days > 0:
        old_logs = _finished_before(ctx, now - timedelta(days=settings.log_days))
        lines += _delete_lines(ctx, old_logs)
        _mark_log_pruned(ctx, old_logs, now)
    if settings.job_days > 0:
        old_jobs = _finished_before(ctx, now - timedelta(days=settings.job_days))
        lines += _delete_lines(ctx, old_jobs)
        jobs = _delete_jobs(ctx, old_jobs)
    return Pruned(jobs, lines)


def _finished_before(ctx: ServiceContext, cutoff: datetime) -> list[int]:
    """Finished jobs older than ``cutoff`` (by when they finished, else when they were made)."""
    ended = func.coalesce(Job.finished_at, Job.created_at)
    query = select(Job.id).where(Job.state.not_in(list(ACTIVE_JOB_STATES)), ended < cutoff)
    with ctx.db.session() as s:
        return list(s.scalars(query.order_by(Job.id)))


def _delete_lines(ctx: ServiceContext, job_ids: Sequence[int]) -> int:
    deleted = 0
    for start in range(0, len(job_ids), CHUNK_JOBS):
        batch = list(job_ids[start : start + CHUNK_JOBS])
        while count := _delete_line_chunk(ctx, batch):
            deleted += count
    return deleted


def _delete_line_chunk(ctx: ServiceContext, job_ids: list[int]) -> int:
    chunk = select(LogEntry.id).where(LogEntry.job_id.in_(job_ids)).limit(CHUNK_LINES)
    with ctx.db.transaction() as s:
        result = s.execute(delete(LogEntry).where(LogEntry.id.in_(chunk.scalar_subquery())))
        return int(getattr(result, "rowcount", 0) or 0)


def _mark_log_pruned(ctx: ServiceContext, job_ids: Sequence[int], now: datetime) -> None:
    """Say so on the job, so an empty log reads as pruned rather than as "printed nothing"."""
    for start in range(0, len(job_ids), CHUNK_JOBS):
        batch = list(job_ids[start : start + CHUNK_JOBS])
        with ctx.db.transaction() as s:
            for job in s.scalars(select(Job).where(Job.id.in_(batch))):
                if "log_pruned_at" not in job.summary:
                    job.summary = {**job.summary, "log_pruned_at": now.isoformat()}


def _delete_jobs(ctx: ServiceContext, job_ids: Sequence[int]) -> int:
    """Delete the jobs; their server runs and approvals go by ON DELETE CASCADE."""
    deleted = 0
    for start in range(0, len(job_ids), CHUNK_JOBS):
        batch = list(job_ids[start : start + CHUNK_JOBS])
        with ctx.db.transaction() as s:
            still_finished = Job.state.not_in(list(ACTIVE_JOB_STATES))
            result = s.execute(delete(Job).where(Job.id.in_(batch), still_finished))
            deleted += int(getattr(result, "rowcount", 0) or 0)
    return deleted


class PeriodicPrune:
    """Prune at start, then every ``interval`` seconds, on the engine's database thread."""

    def __init__(
        self,
        ctx: ServiceContext,
        dbthread: DbThread,
        interval: float = DEFAULT_INTERVAL,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.ctx = ctx
        self.dbthread = dbthread
        self.interval = interval
        self.sleep = sleep
        self.runs = 0
        """How many prunes ran (tests and health checks read it)."""

    async def run_once(self) -> Pruned:
        try:
            pruned = await self.dbthread.run(prune, self.ctx)
        except Exception:  # a failed prune is retried next time; it must not stop the worker
            log.exception("retention: prune failed")
            return Pruned()
        finally:
            self.runs += 1
        if pruned.jobs or pruned.log_lines:
            log.info("retention: %s", pruned.describe())
        return pruned

    async def run_forever(self) -> None:
        while True:
            await self.run_once()
            await self.sleep(self.interval)

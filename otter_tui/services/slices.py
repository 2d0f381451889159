"""Slices: one big job's server runs split into batches that any worker of its queue may claim.

The worker that claims a job whose server runs exceed ``jobs.slice_size`` writes its runs and
its slices in one transaction (:func:`split`), logs the job's opening lines and is done with it;
the slices are claimed like jobs (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE`` on
SQLite), each by one worker, which runs the slice's server runs and leases the slice while it
does. Every transaction that ends a slice first locks the job's row, so they take turns: exactly
one of them sees the last slice end, and it alone writes the job's final state and last line.

A slice whose lease ran out belonged to a dead worker: any live worker marks its unfinished runs
``interrupted`` (never re-run) and ends it. A job with slices still waiting is kept alive by every
live worker of its queue; once none is left, its own lease runs out and it is ended as any
orphaned job is (:func:`otter_tui.services.orphans.end_unfinished`, which ends its slices too).

Log lines: a slice is a part of its job's log of its own in the process that runs it (so one
process may run several slices of a job). A stored line's ``seq`` is its place in the job's
log in the order lines were stored, whichever process stored them
(:mod:`otter_tui.store.log_counts`), so a follower never skips a slice's line. Each server's
lines are in order; the final line, written when the last slice ends, comes last.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, insert, or_, select, text, update
from sqlalchemy.orm import Session

from otter_tui.services.context import ServiceContext
from otter_tui.services.outcomes import format_summary, job_state, summarize
from otter_tui.store.db import Database
from otter_tui.store.log_counts import reserve
from otter_tui.store.models import Job, JobSlice, JobState, LogEntry, RunState, ServerRun
from otter_tui.store.states import SliceState

ENDED = (SliceState.DONE, SliceState.INTERRUPTED)
UNFINISHED_RUNS = (RunState.PENDING, RunState.RUNNING)


@dataclass(frozen=True)
class ClaimedSlice:
    id: int
    job_id: int
    number: int


@dataclass(frozen=True)
class JobEnd:
    """A sliced job ended by this process: publish its state."""

    job_id: int
    state: JobState


def split(s: Session, job: Job, rows: list[dict[str, Any]], size: int) -> int:
    """Give each server-run row a slice number and write the slices; how many there are.

    Called in the transaction that writes the runs, so a job has its runs and slices, or neither.
    """
    count = -(-len(rows) // size)
    for i, row in enumerate(rows):
        row["slice_number"] = i // size + 1
    job.slices = count
    s.execute(insert(JobSlice), [{"job_id": job.id, "number": n} for n in range(1, count + 1)])
    if s.get_bind().dialect.name == "postgresql":
        s.execute(text("SELECT pg_notify('otter_jobs', :queue)"), {"queue": job.queue_name})
    return count


class SliceService:
    """Claims, leases, recovery and the end of slices, for one worker."""

    def __init__(self, ctx: ServiceContext, worker: str, lease_seconds: float = 30.0) -> None:
        self.ctx = ctx
        self.worker = worker
        self.lease = timedelta(seconds=lease_seconds)

    def claim_next(
        self, queues: Sequence[str], busy: Sequence[int] = (), grace: float = 0.0
    ) -> ClaimedSlice | None:
        """Claim the oldest waiting slice of a running job in ``queues``.

        A slice of a job in ``busy`` (one this worker already runs a part of) is taken only once
        the job has been split for ``grace`` seconds: the other workers get the first turn, so
        the job spreads across them; a worker alone takes every slice, and runs them at once.
        """
        now = self.ctx.now()
        mine = or_(JobSlice.job_id.not_in(list(busy)), Job.started_at < now - timedelta(0, grace))
        with self.ctx.db.transaction() as s:
            pick = (
                select(JobSlice.id)
                .join(Job, Job.id == JobSlice.job_id)
                .where(JobSlice.state == SliceState.QUEUED, Job.state == JobState.RUNNING)
                .where(Job.queue_name.in_(list(queues)), mine)
                .order_by(JobSlice.job_id, JobSlice.number)
                .limit(1)
            )
            if s.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True, of=JobSlice)
            row = s.execute(
                update(JobSlice)
                .where(JobSlice.id == pick.scalar_subquery())
                .values(state=SliceState.RUNNING, worker=self.worker, started_at=now)
                .values(lease_expires_at=now + self.lease)
                .returning(JobSlice.id, JobSlice.job_id, JobSlice.number)
            ).first()
            return ClaimedSlice(*row) if row is not None else None

    def heartbeat(self, slice_ids: Sequence[int], queues: Sequence[str]) -> None:
        """Renew our slices' leases, and keep alive the sliced jobs of our queues that still
        have slices to run (two transactions: neither holds a slice while it waits for a job)."""
        until = self.ctx.now() + self.lease
        if slice_ids:
            with self.ctx.db.transaction() as s:
                s.execute(
                    update(JobSlice)
                    .where(JobSlice.id.in_(list(slice_ids)), JobSlice.worker == self.worker)
                    .where(JobSlice.state == SliceState.RUNNING)
                    .values(lease_expires_at=until)
                )
        unfinished = exists().where(JobSlice.job_id == Job.id, JobSlice.state.not_in(ENDED))
        with self.ctx.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.state == JobState.RUNNING, Job.slices > 0, unfinished)
                .where(Job.queue_name.in_(list(queues)))
                .values(lease_expires_at=until)
            )

    def finish(self, slice_id: int) -> JobEnd | None:
        """Our slice ran to its end (its runs and lines stored); end the job if it was the last."""
        with self.ctx.db.transaction() as s:
            return _end_slice(s, self.ctx.now(), slice_id, SliceState.DONE, "")

    def release(self, slice_ids: Sequence[int], reason: str) -> list[JobEnd]:
        """Mark our unfinished slices interrupted (a clean shutdown that ran out of time)."""
        ends = []
        for slice_id in slice_ids:
            with self.ctx.db.transaction() as s:
                end = _end_slice(s, self.ctx.now(), slice_id, SliceState.INTERRUPTED, reason)
            if end is not None:
                ends.append(end)
        return ends

    def recover(self) -> list[JobEnd]:
        """Mark every running slice whose lease ran out interrupted; end jobs it was the last of."""
        now = self.ctx.now()
        with self.ctx.db.session() as s:
            expired = select(JobSlice.id, JobSlice.worker).where(
                JobSlice.state == SliceState.RUNNING, JobSlice.lease_expires_at < now
            )
            found = list(s.execute(expired))
        ends = []
        for slice_id, worker in found:
            reason = f"worker {worker} stopped before its slice finished"
            with self.ctx.db.transaction() as s:
                end = _end_slice(s, now, slice_id, SliceState.INTERRUPTED, reason, expired=now)
            if end is not None:
                ends.append(end)
        return ends


def fail_runs(db: Database, job_id: int, number: int, now: datetime, error: str) -> None:
    """A slice that could not start: its runs fail with the reason (the slice then ends)."""
    with db.transaction() as s:
        s.execute(
            update(ServerRun)
            .where(ServerRun.job_id == job_id, ServerRun.slice_number == number)
            .where(ServerRun.state.in_(UNFINISHED_RUNS))
            .values(state=RunState.FAILED, finished_at=now, error=error)
        )


def _end_slice(
    s: Session,
    now: datetime,
    slice_id: int,
    state: SliceState,
    reason: str,
    expired: datetime | None = None,
) -> JobEnd | None:
    """End one running slice under its job's row lock; end the job when no slice is left."""
    job_id = s.scalar(select(JobSlice.job_id).where(JobSlice.id == slice_id))
    if job_id is None:
        return None
    # FOR NO KEY UPDATE: a log writer storing this job's lines holds its log_counts row and
    # then takes a key-share lock on this row (the lines' foreign key); FOR UPDATE would wait
    # for it while the last slice's end waits for that log_counts row: a deadlock.
    job = s.scalar(select(Job).where(Job.id == job_id).with_for_update(key_share=True))
    piece = s.get(JobSlice, slice_id)
    if job is None or piece is None or piece.state is not SliceState.RUNNING:
        return None
    lease = piece.lease_expires_at
    if expired is not None and (lease is None or lease >= expired):
        return None  # renewed since it was found expired
    piece.state, piece.finished_at = state, now
    if state is SliceState.INTERRUPTED:
        s.execute(
            update(ServerRun)
            .where(ServerRun.job_id == job_id, ServerRun.slice_number == piece.number)
            .where(ServerRun.state.in_(UNFINISHED_RUNS))
            .values(state=RunState.INTERRUPTED, finished_at=now, error=reason)
        )
    s.flush()
    left = select(JobSlice.id).where(JobSlice.job_id == job_id, JobSlice.state.not_in(ENDED))
    if job.state is not JobState.RUNNING or s.scalar(left.limit(1)) is not None:
        return None
    return JobEnd(job_id, _end_job(s, job, now, reason))


def _end_job(s: Session, job: Job, now: datetime, reason: str) -> JobState:
    """The job's state from every run its workers recorded, and its last log line."""
    runs = list(s.scalars(select(ServerRun).where(ServerRun.job_id == job.id)))
    state = job_state(runs, job.cancel_requested)
    summary = {**summarize(runs, job.simulation, job.mode), "slices": job.slices}
    job.state, job.finished_at, job.summary = state, now, summary
    job.lease_expires_at = None
    if state is JobState.INTERRUPTED:  # why: the first interrupted run says (whichever slice)
        why = [r.error for r in runs if r.state is RunState.INTERRUPTED and r.error]
        job.error = why[0] if why else reason or "a worker stopped before its slice finished"
    level = "info" if state in (JobState.SUCCEEDED, JobState.WARNING) else "error"
    line = f"job {state.value}: {format_summary(summary)} in {job.slices} slices"
    seq = reserve(s.connection(), {job.id: 1})[job.id]  # after every line its slices stored
    s.execute(
        insert(LogEntry), [{"job_id": job.id, "seq": seq, "at": now, "level": level, "text": line}]
    )
    return state

"""Claiming jobs: exactly one worker runs each job, and orphans are marked, never re-run.

A claim is one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING id`` inside a write
transaction (``BEGIN IMMEDIATE`` on SQLite; ``FOR UPDATE SKIP LOCKED`` on PostgreSQL). Measured on
SQLite: a read-then-update claim in autocommit mode handed most jobs to both of two workers; this
form never does. On PostgreSQL a job needing no check after its claim is taken by one statement
in autocommit mode, on a connection not pinged first (:meth:`ClaimService._claim_plain`).
The claim is what a distributed queue backend would replace: the engine only ever sees "here
is a job id you own".

A worker holds a lease on its jobs and renews it; a job whose lease expired belonged to a worker
that died. Every live worker looks for those jobs (at start and once per lease period) and marks
them ``interrupted`` with what they had, never re-run on their own. A cancel of such an orphan
ends it ``cancelled`` at once (:func:`is_orphan`): nobody is left to act on a cancel request.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Row,
    Select,
    Update,
    and_,
    bindparam,
    exists,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, aliased

from otter_tui.services.context import ServiceContext
from otter_tui.services.jobs import fingerprint, get_job
from otter_tui.services.orphans import end_unfinished
from otter_tui.store.models import (
    CLAIMABLE_SQL,
    Approval,
    Decision,
    Job,
    JobState,
    PlanRecord,
)

CLAIMABLE = (JobState.QUEUED, JobState.SCHEDULED)


class _SingletonBusy(Exception):
    """Raised inside a claim's transaction to undo it."""


class ClaimService:
    """Claims, leases and recovery for one worker."""

    def __init__(self, ctx: ServiceContext, worker: str, lease_seconds: float = 30.0) -> None:
        self.ctx = ctx
        self.worker = worker
        self.lease = timedelta(seconds=lease_seconds)

    def yields(self, queue: str) -> bool:
        """Never: a worker claiming straight from the database serves its queues itself."""
        return False

    def claim_next(self, queues: Sequence[str]) -> int | None:
        """Claim the oldest due job in ``queues``; None when there is none.

        A job with sensitive values is never taken here: those values live only in the memory
        of the process that created it, which claims it by id (:meth:`claim`). Any other worker
        would run it without them.
        """
        postgres = not self.ctx.db.is_sqlite
        if postgres:
            picked, plain = self._claim_plain(queues)
            if plain is not None or picked is None:
                return plain
        while True:
            try:
                with self.ctx.db.transaction() as s:
                    claimed = s.connection().execute(
                        _claim_query(postgres), self._claim_params(queues)
                    )
                    row = claimed.one_or_none()
                    if row is None:
                        return None
                    if row.singleton and _singleton_taken(s, row.id, row.plan_id, row.plan_key):
                        raise _SingletonBusy  # rolls the claim back: the job waits as it was
                    if not _needs_checks(row) or self._still_valid(s, get_job(s, row.id)):
                        return int(row.id)
            except _SingletonBusy:
                return None

    def _claim_plain(self, queues: Sequence[str]) -> tuple[int | None, int | None]:
        """PostgreSQL: claim the oldest due job if it needs no check after its claim (no
        approval, no window, not a singleton plan), in one statement run in autocommit mode.

        One round trip where the checked claim takes three (``BEGIN``, the claim, ``COMMIT``),
        and no less safe: a single ``UPDATE`` is atomic, ``SKIP LOCKED`` holds within it.
        Returns (the oldest due job, the job claimed): (None, None) when nothing is due, so a
        worker woken for a job another worker won stops after one round trip; (id, None) when
        that job needs the checks (the caller then makes the checked claim, so the oldest job
        still goes first).
        """
        with self.ctx.db.hot_engine.connect() as conn:  # autocommit, no ping before it
            row = conn.execute(_plain_claim_query(), self._claim_params(queues)).one_or_none()
        if row is None:
            return None, None
        return int(row.picked), None if row.claimed is None else int(row.claimed)

    def claim(self, job_id: int) -> bool:
        """Claim one given job (the run-now path); False if another worker has it."""
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            claimed = s.scalar(
                update(Job)
                .where(Job.id == job_id, Job.state.in_(CLAIMABLE))
                .values(self._running_values(now))
                .returning(Job.id)
            )
            return claimed is not None and self._still_valid(s, get_job(s, job_id))

    def _running_values(self, now: datetime) -> dict[str, object]:
        return {
            "state": JobState.RUNNING,
            "worker": self.worker,
            "started_at": now,
            "lease_expires_at": now + self.lease,
        }

    def _claim_params(self, queues: Sequence[str]) -> dict[str, object]:
        now = self.ctx.now()
        return {
            "queues": list(queues),
            "now": now,
            "worker": self.worker,
            "until": now + self.lease,
        }

    def _still_valid(self, s: Session, job: Job) -> bool:
        """Expire a job past its window; send back one whose approval no longer matches."""
        now = self.ctx.now()
        if job.window_end is not None and now > job.window_end:
            job.state, job.finished_at = JobState.EXPIRED, now
            job.error = "its window passed before it could run"
            return False
        if job.approval_required and not _approved_as_is(s, job):
            job.state, job.worker, job.started_at = JobState.PENDING_APPROVAL, None, None
            return False
        return True

    def heartbeat(self, job_ids: Sequence[int]) -> list[int]:
        """Renew the lease on our running jobs; returns the ids whose cancel was requested."""
        if not job_ids:
            return []
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.id.in_(list(job_ids)), Job.worker == self.worker)
                .values(lease_expires_at=now + self.lease)
            )
            query = select(Job.id).where(Job.id.in_(list(job_ids)), Job.cancel_requested)
            return list(s.scalars(query))

    def cancel_requested(self, job_ids: Sequence[int]) -> list[int]:
        """Which of ``job_ids`` someone asked to cancel (a read; polled more often than leases)."""
        if not job_ids:
            return []
        with self.ctx.db.session() as s:
            query = select(Job.id).where(Job.id.in_(list(job_ids)), Job.cancel_requested)
            return list(s.scalars(query))

    def release_all(self, job_ids: Sequence[int], reason: str) -> None:
        """Mark our unfinished jobs interrupted (a clean shutdown that ran out of time)."""
        with self.ctx.db.transaction() as s:
            for job in s.scalars(select(Job).where(Job.id.in_(list(job_ids)))):
                if job.state is JobState.RUNNING:
                    _interrupt(s, job, self.ctx.now(), reason)

    def recover_interrupted(self) -> list[int]:
        """Mark every running job whose lease has expired ``interrupted``; never re-run it."""
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            query = select(Job).where(Job.state == JobState.RUNNING, Job.lease_expires_at < now)
            jobs = list(s.scalars(query))
            for job in jobs:
                _interrupt(s, job, now, f"worker {job.worker} stopped before the job finished")
            return [j.id for j in jobs]


def _interrupt(s: Session, job: Job, now: datetime, reason: str) -> None:
    end_unfinished(s, job, now, JobState.INTERRUPTED, reason)


@functools.cache
def _plain_claim_query() -> Select[int, int]:
    """The claim of :meth:`ClaimService._claim_plain`: the oldest due job (locked, skipping
    locked ones) and, in the same statement, its claim only if it is plain; no row when none is
    due."""
    singleton = Job.plan_id.in_(select(PlanRecord.id).where(PlanRecord.is_singleton))
    plain = and_(~Job.approval_required, Job.window_end.is_(None), ~func.coalesce(singleton, False))
    pick = _pick(postgres=True).add_columns(plain.label("plain")).cte("pick")
    claim = (
        _running(update(Job))
        .where(Job.id == pick.c.id, pick.c.plain)
        .returning(Job.id)
        .cte("claimed")
    )
    joined = pick.outerjoin(claim, claim.c.id == pick.c.id)
    return select(pick.c.id.label("picked"), claim.c.id.label("claimed")).select_from(joined)


@functools.cache
def _claim_query(postgres: bool) -> Update:
    """The checked claim; what the checks after it need comes back with it (no second read)."""
    singleton = (
        select(PlanRecord.is_singleton).where(PlanRecord.id == Job.plan_id).scalar_subquery()
        if postgres  # SQLite's RETURNING may name only the updated table (and needs no lock)
        else literal(False)
    )
    returned = (Job.id, Job.plan_id, Job.plan_key, Job.approval_required, Job.window_end)
    return _claim_update(postgres).returning(*returned, singleton.label("singleton"))


def _claim_update(postgres: bool) -> Update:
    """The claim, built once per dialect with bound parameters (now, queues, worker, until).

    Built per call it cost more than running it: the alias of ``jobs`` made a new statement each
    time, which SQLAlchemy could not cache (16 ms a claim, measured by bench/claims.py).
    """
    return _running(update(Job).where(Job.id == _pick(postgres).scalar_subquery()))


def _pick(postgres: bool) -> Select[int]:
    """The oldest due job in the queues, free of sensitive values and of a running singleton."""
    other = aliased(Job, name="other_job")
    now = bindparam("now", type_=Job.__table__.c.run_at.type)
    singleton_busy = and_(
        Job.plan_id.in_(select(PlanRecord.id).where(PlanRecord.is_singleton)),
        exists().where(other.plan_key == Job.plan_key, other.state == JobState.RUNNING),
    )
    pick = (
        select(Job.id)
        .where(text(f"jobs.{CLAIMABLE_SQL}"))  # as literal SQL: the partial index's predicate
        .where(Job.queue_name.in_(bindparam("queues", expanding=True)))
        .where(Job.run_at <= now, ~singleton_busy)
        .where(func.json_array_length(Job.sensitive_names) == 0)
        .order_by(Job.run_at, Job.id)
        .limit(1)
    )
    return pick.with_for_update(skip_locked=True) if postgres else pick


def _running(claim: Update) -> Update:
    """The claim's new values: running, ours, leased until ``until``."""
    now = bindparam("now", type_=Job.__table__.c.run_at.type)
    until = bindparam("until", type_=Job.__table__.c.lease_expires_at.type)
    return claim.values(state=JobState.RUNNING, worker=bindparam("worker"), started_at=now).values(
        lease_expires_at=until
    )


def _singleton_taken(s: Session, job_id: int, plan_id: int | None, plan_key: str) -> bool:
    """Another job of this singleton plan is running (checked under the plan record's row lock).

    The claim's own ``NOT EXISTS`` is enough under SQLite's ``BEGIN IMMEDIATE``; on PostgreSQL
    two workers claiming two jobs of one plan lock different rows and both see none running.
    Locking the plan record serialises them: the second sees the first's claim once it commits.
    Asked only for a singleton plan on PostgreSQL (the claim returns which), so any other claim
    costs no extra round trip.
    """
    if plan_id is None:
        return False
    locked = select(PlanRecord.is_singleton).where(PlanRecord.id == plan_id).with_for_update()
    if not s.scalar(locked):
        return False
    others = select(Job.id).where(
        Job.plan_key == plan_key, Job.state == JobState.RUNNING, Job.id != job_id
    )
    return s.scalar(others.limit(1)) is not None


def _needs_checks(row: Row[Any]) -> bool:
    """The claimed job has a window or needs an approval: read it whole and check them."""
    return bool(row.approval_required) or row.window_end is not None


def _approved_as_is(s: Session, job: Job) -> bool:
    latest = s.scalar(
        select(Approval).where(Approval.job_id == job.id).order_by(Approval.id.desc()).limit(1)
    )
    return (
        latest is not None
        and latest.decision is Decision.APPROVED
        and latest.fingerprint == fingerprint(job)
    )

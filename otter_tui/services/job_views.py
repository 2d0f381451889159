"""What reading a job gives: views of jobs, server runs and log lines, and the reads themselves.

Kept apart from creating and changing jobs (``jobs.py``): the console and the CLI read far more
than they write, and the views are shared by every service that shows a job.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from otter_tui.errors import NotFoundError
from otter_tui.services.context import ServiceContext
from otter_tui.store.models import Approval, Job, JobSlice, JobState, LogEntry, ServerRun
from otter_tui.targeting import TargetSpec


@dataclass(frozen=True)
class ServerRunView:
    """One server run of a job, as lists and details show it."""

    id: int
    server: str
    role: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    changes: int
    unknowns: int
    warnings: int
    error: str
    slice: int | None = None
    """The slice of a big job it ran in (None: the job was not split)."""
    worker: str = ""
    """The worker that ran it: its slice's, or the job's."""


@dataclass(frozen=True)
class ApprovalView:
    """One decision on a job: who, when, approve or deny, and why."""

    decision: str
    decided_by: str
    decided_at: datetime
    comment: str


@dataclass(frozen=True)
class JobView:
    """A job as lists and details show it (its runs only when asked for)."""

    id: int
    kind: str
    plan_key: str
    plan_name: str
    targets: TargetSpec
    variables: dict[str, Any]
    sensitive_names: tuple[str, ...]
    simulation: bool
    queue: str
    state: str
    requested_by: str
    created_at: datetime
    run_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: dict[str, Any]
    error: str
    approval_required: bool
    schedule_id: int | None
    server_runs: tuple[ServerRunView, ...] = ()
    mode: str = "run"
    """``check`` for a drift check (it changes nothing), ``run`` otherwise."""
    window_end: datetime | None = None
    """An approval after this expires the job instead of running it late (None: no window)."""
    approvals: tuple[ApprovalView, ...] = ()
    """Its decisions, oldest first (read by ``show`` only)."""
    worker: str = ""
    """The worker (``host:pid``) that claimed it: running it now, or ran it; "" until claimed."""
    slices: int = 0
    """How many slices its server runs were split into (0: run whole by one worker)."""

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k not in ("server_runs", "approvals")}
        out["targets"] = self.targets.as_dict()
        out["server_runs"] = [r.__dict__ for r in self.server_runs]
        out["approvals"] = [a.__dict__ for a in self.approvals]
        return out


@dataclass(frozen=True)
class LogView:
    """One stored log line."""

    seq: int
    at: datetime
    server: str
    level: str
    stream: str
    text: str
    run_id: int | None = None
    """The server run the line belongs to; None for the job's own lines."""


@dataclass(frozen=True)
class RunCounts:
    """How a job's server runs stand right now (finished or not)."""

    states: dict[str, int]
    """Server runs by state."""
    changes: int
    """Changes made (or, in a simulation, that would be made) so far."""

    @property
    def total(self) -> int:
        return sum(self.states.values())


def job_view(job: Job, runs: tuple[ServerRunView, ...] = ()) -> JobView:
    """A job's row as a view; its server runs are read apart (:func:`run_views`)."""
    return JobView(
        id=job.id,
        kind=job.kind.value,
        plan_key=job.plan_key,
        plan_name=job.plan_name,
        targets=TargetSpec.from_dict(job.targets),
        variables=dict(job.variables),
        sensitive_names=tuple(job.sensitive_names),
        simulation=job.simulation,
        queue=job.queue_name,
        state=job.state.value,
        requested_by=job.requested_by,
        created_at=job.created_at,
        run_at=job.run_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        summary=dict(job.summary),
        error=job.error,
        approval_required=job.approval_required,
        schedule_id=job.schedule_id,
        server_runs=runs,
        mode=job.mode,
        window_end=job.window_end,
        worker=job.worker or "",
        slices=job.slices,
    )


_RUN_COLUMNS = (
    ServerRun.id,
    ServerRun.server_name,
    ServerRun.role_name,
    ServerRun.state,
    ServerRun.started_at,
    ServerRun.finished_at,
    ServerRun.changes,
    ServerRun.unknowns,
    ServerRun.warnings,
    ServerRun.error,
    ServerRun.slice_number,
)


def run_views(session: Session, job: Job) -> tuple[ServerRunView, ...]:
    """A job's server runs in order, read as columns rather than ``ServerRun`` objects: the
    console re-reads a running job's runs every half second, on a thread that shares the GIL
    with the UI's keys, and a ``show`` of a 500-run job took 18-26 ms of CPU loading entities
    (identity map, instance state, the relationship) against 12-19 ms so (bench-findings)."""
    workers = _slice_workers(session, job)
    query = select(*_RUN_COLUMNS).where(ServerRun.job_id == job.id).order_by(ServerRun.id)
    return tuple(
        ServerRunView(
            r.id,
            r.server_name,
            r.role_name,
            r.state.value,
            r.started_at,
            r.finished_at,
            r.changes,
            r.unknowns,
            r.warnings,
            r.error,
            r.slice_number,
            workers.get(r.slice_number, "") if job.slices else job.worker or "",
        )
        for r in session.execute(query)
    )


def _slice_workers(session: Session, job: Job) -> dict[int | None, str]:
    """The worker of each slice of a sliced job (one small read: a job has few slices)."""
    if not job.slices:
        return {}
    query = select(JobSlice.number, JobSlice.worker).where(JobSlice.job_id == job.id)
    return {number: worker or "" for number, worker in session.execute(query)}


def fingerprint(job: Job) -> str:
    """A hash of exactly what was requested; an approval is valid only for this value."""
    payload = {
        "plan": job.plan_key,
        "targets": job.targets,
        "variables": job.variables,
        "simulation": job.simulation,
        "queue": job.queue_name,
        "run_at": job.run_at.isoformat(),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFoundError(f"unknown job {job_id}")
    return job


class JobReads:
    """Reading jobs, their server runs and logs (needs only a context)."""

    ctx: ServiceContext

    def recent(self, *, limit: int = 100, states: tuple[str, ...] = ()) -> list[JobView]:
        with self.ctx.db.session() as s:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if states:
                query = query.where(Job.state.in_([JobState(x) for x in states]))
            return [job_view(j) for j in s.scalars(query)]

    def brief(self, job_id: int) -> JobView:
        """A job's own row: no server runs, no approvals. What a command's last line and a
        follower's poll need: ``show`` loads every server run, ~20 ms of CPU on a 1,000-server
        job (~1 ms for this), and ``jobs logs --follow`` reads the job every 0.3 s."""
        with self.ctx.db.session() as s:
            return job_view(get_job(s, job_id))

    def show(self, job_id: int) -> JobView:
        with self.ctx.db.session() as s:
            job = get_job(s, job_id)
            decisions = s.scalars(
                select(Approval).where(Approval.job_id == job_id).order_by(Approval.id)
            )
            approvals = tuple(
                ApprovalView(a.decision.value, a.decided_by, a.decided_at, a.comment)
                for a in decisions
            )
            return replace(job_view(job, run_views(s, job)), approvals=approvals)

    def logs(
        self,
        job_id: int,
        *,
        after_seq: int = 0,
        limit: int = 10_000,
        server_run_id: int | None = None,
    ) -> list[LogView]:
        """Log lines of a job in order, from ``after_seq`` on (for following).

        With ``server_run_id``, only that server run's lines.
        """
        with self.ctx.db.session() as s:
            get_job(s, job_id)
            query = _log_query(job_id, server_run_id).where(LogEntry.seq > after_seq)
            rows = s.execute(query.order_by(LogEntry.seq).limit(limit))
            return [_log_view(row) for row in rows]

    def log_tail(
        self,
        job_id: int,
        *,
        limit: int = 1000,
        server_run_id: int | None = None,
        before_seq: int | None = None,
    ) -> list[LogView]:
        """The last ``limit`` log lines of a job (or of one server run), oldest first.

        With ``before_seq``, the last ones before that line: the console shows a screenful of
        the tail first and fills the history above it after the first paint.
        """
        with self.ctx.db.session() as s:
            get_job(s, job_id)
            query = _log_query(job_id, server_run_id)
            if before_seq is not None:
                query = query.where(LogEntry.seq < before_seq)
            query = query.order_by(LogEntry.seq.desc()).limit(limit)
            return [_log_view(row) for row in reversed(list(s.execute(query)))]

    def run_counts(self, job_ids: list[int]) -> dict[int, RunCounts]:
        """Server runs by state and changes so far, for each job that has server runs."""
        with self.ctx.db.session() as s:
            query = (
                select(
                    ServerRun.job_id,
                    ServerRun.state,
                    func.count(ServerRun.id),
                    func.sum(ServerRun.changes),
                )
                .where(ServerRun.job_id.in_(job_ids))
                .group_by(ServerRun.job_id, ServerRun.state)
            )
            states: dict[int, dict[str, int]] = {}
            changed: dict[int, int] = {}
            for job_id, state, count, changes in s.execute(query):
                states.setdefault(job_id, {})[state.value] = count
                changed[job_id] = changed.get(job_id, 0) + int(changes or 0)
            return {job_id: RunCounts(states[job_id], changed[job_id]) for job_id in states}

    def daemon_holder(self, queue: str | None = None) -> str | None:
        """A live daemon (``host:pid``, from its presence row), or None when none runs.

        With ``queue``: only a daemon whose worker claims from that queue.
        """
        from otter_tui.services import presence  # the console asks; a job run here does not

        now = self.ctx.now()
        daemons = presence.alive(self.ctx.db, now)
        found = next((d for d in daemons if queue is None or d.serves(queue)), None)
        return None if found is None else found.holder

    def count(self) -> int:
        with self.ctx.db.session() as s:
            return s.scalar(select(func.count(Job.id))) or 0


def _log_query(job_id: int, server_run_id: int | None):  # type: ignore[no-untyped-def]
    """The columns a :class:`LogView` shows, not ``LogEntry`` objects: a page of lines is read
    for every follow and stream poll, and loading entities (identity map, instance state) cost
    ~13 us a line, most of a page's read."""
    query = (
        select(
            LogEntry.seq,
            LogEntry.at,
            ServerRun.server_name,
            LogEntry.level,
            LogEntry.stream,
            LogEntry.text,
            LogEntry.server_run_id,
        )
        .outerjoin(ServerRun, LogEntry.server_run_id == ServerRun.id)
        .where(LogEntry.job_id == job_id)
    )
    if server_run_id is not None:
        query = query.where(LogEntry.server_run_id == server_run_id)
    return query


def _log_view(row: Row[int, datetime, str | None, str, str, str, int | None]) -> LogView:
    seq, at, server, level, stream, text, run_id = row
    return LogView(seq, at, server or "", level, stream, text, run_id)

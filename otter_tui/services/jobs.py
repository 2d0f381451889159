"""Jobs: create (validated, written as a row first), read, edit, cancel.

A job is validated completely before its row exists: the plan is enabled and installed, the
targets name known servers, roles and environments, the variables match the plan's declarations,
the queue is one the plan may use. Sensitive variable values are never written: the row keeps
only their names, and the values stay in the memory of the process that runs the job, which is
why a plan with sensitive variables can run now but not be scheduled.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from otter_tui.errors import ConflictError, NotFoundError, OtterError, UsageError
from otter_tui.plan import sensitive_names, validate_variables
from otter_tui.plan.loader import PlanClassInfo
from otter_tui.services import presence
from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory import load_inventory
from otter_tui.services.orphans import end_unfinished, is_orphan
from otter_tui.services.plans import PlanService, get_record
from otter_tui.store.models import (
    ACTIVE_JOB_STATES,
    Job,
    JobQueue,
    JobState,
    LogEntry,
    PlanKind,
    PlanRecord,
    ServerRun,
)
from otter_tui.targeting import Inventory, TargetSpec, resolve_targets

SINGLETON_BLOCKING = (JobState.QUEUED, JobState.RUNNING)
ALL_CONFIGURATION = "*"
"""The plan key of a drift job: every enabled configuration plan that applies to a server."""


@dataclass(frozen=True)
class JobRequest:
    """What a person (or a schedule, or a template) asks to run."""

    plan: str
    targets: TargetSpec = field(default_factory=TargetSpec)
    variables: Mapping[str, str] = field(default_factory=dict)
    simulation: bool | None = None
    """None: the plan's ``dryrun_default``."""
    queue: str | None = None
    run_at: datetime | None = None
    window_end: datetime | None = None
    """An approval that arrives after this expires the job instead of running it late."""
    approval_required: bool = False
    """Set by a schedule flagged so; a plan's own flag applies anyway."""
    schedule_id: int | None = None
    template_id: int | None = None
    simulation_of: int | None = None
    """A simulation of this job waiting for approval (see ``ApprovalService.simulate``): it must
    be a simulation, it needs ``jobs.approve`` rather than ``jobs.run``, and it needs no approval
    itself, since it changes nothing."""


@dataclass(frozen=True)
class ServerRunView:
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


@dataclass(frozen=True)
class JobView:
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

    def as_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if k != "server_runs"}
        out["targets"] = self.targets.as_dict()
        out["server_runs"] = [r.__dict__ for r in self.server_runs]
        return out


@dataclass(frozen=True)
class LogView:
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


def job_view(job: Job, with_runs: bool = False) -> JobView:
    runs = tuple(
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
        )
        for r in (job.server_runs if with_runs else ())
    )
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
    )


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


@dataclass(frozen=True)
class PreparedJob:
    """A validated request: typed variables split into what may be stored and what may not."""

    record_id: int
    kind: PlanKind
    stored_variables: dict[str, Any]
    secrets: dict[str, Any]
    sensitive: tuple[str, ...]
    simulation: bool
    queue: str


class JobBatch:
    """What stays the same for every job created in one open transaction (the scheduler's batch).

    Read once, then reused: the inventory, whether an actor holds a permission, plan records by
    key, plan classes, and which queues exist. Valid only inside the transaction it was filled
    in (the write lock keeps all of it unchanged meanwhile); build a new one per transaction.
    Nothing written is cached: a queue this batch created in a SAVEPOINT that rolled back is
    looked up again.
    """

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self._allowed: dict[tuple[str, str], OtterError | None] = {}
        self._records: dict[str, PlanRecord] = {}
        self._classes: dict[str, PlanClassInfo] = {}
        self.queues: set[str] = set()
        """Queues found to exist in this transaction."""

    def require(self, ctx: ServiceContext, s: Session, permission: str) -> None:
        key = (ctx.actor, permission)
        if key not in self._allowed:
            try:
                ctx.require(s, permission)
                self._allowed[key] = None
            except OtterError as exc:
                self._allowed[key] = exc
        refused = self._allowed[key]
        if refused is not None:
            raise type(refused)(*refused.args)

    def record(self, s: Session, key: str) -> PlanRecord:
        record = self._records.get(key)
        if record is None:
            record = self._records[key] = get_record(s, key)
        return record

    def plan_class(self, plans: PlanService, key: str) -> PlanClassInfo:
        info = self._classes.get(key)
        if info is None:
            info = self._classes[key] = plans.plan_class(key)
        return info


class JobService:
    """Create and manage jobs; the same checks for the TUI, the CLI, the daemon and the API."""

    def __init__(self, ctx: ServiceContext, plans: PlanService | None = None) -> None:
        self.ctx = ctx
        self.plans = plans or PlanService(ctx)

    def create(
        self,
        request: JobRequest,
        *,
        secrets_out: dict[str, Any] | None = None,
        inventory: Inventory | None = None,
        batch: JobBatch | None = None,
    ) -> JobView:
        """Validate and write the job. Sensitive values go to ``secrets_out``, never the store.

        ``inventory``: the inventory as read in the caller's open transaction, for a caller that
        creates many jobs in one (the scheduler's batch), so it is loaded once, not per job.
        ``batch``: the same, and also the permission check, plan records, plan classes and
        queues, read once per transaction (see :class:`JobBatch`; it brings its inventory).
        """
        now = self.ctx.now()
        run_at = request.run_at or now
        permission = "jobs.run" if request.simulation_of is None else "jobs.approve"
        with self.ctx.db.transaction() as s:
            if batch is None:
                self.ctx.require(s, permission)
                record = get_record(s, request.plan)
            else:
                batch.require(self.ctx, s, permission)
                record = batch.record(s, request.plan)
                inventory = batch.inventory
            prepared = self._prepare(s, record, request, inventory, batch)
            deferred = run_at > now or request.schedule_id is not None
            if prepared.secrets and deferred:
                raise UsageError(
                    f"plan '{record.name}' has sensitive variables: it can run now but not be "
                    "scheduled (their values are never stored)"
                )
            needs_approval = record.approval_required or request.approval_required
            if request.simulation_of is not None:
                _check_simulation_of(s, request, prepared)
                needs_approval = False
            if prepared.secrets and needs_approval:
                raise UsageError(
                    f"plan '{record.name}' needs approval and has sensitive variables: their "
                    "values cannot wait for an approver, so run it without them"
                )
            if record.is_singleton:
                _refuse_second_singleton(s, record)
            job = self._new_job(record, request, prepared, run_at, needs_approval)
            s.add(job)
            s.flush()
            self.ctx.audit(
                s, "job.create", "job", str(job.id), plan=record.key, state=job.state.value
            )
            if secrets_out is not None:
                secrets_out.update(prepared.secrets)
            return job_view(job)

    def _prepare(
        self,
        s: Session,
        record: PlanRecord,
        request: JobRequest,
        inventory: Inventory | None = None,
        batch: JobBatch | None = None,
    ) -> PreparedJob:
        if not record.installed:
            raise ConflictError(f"plan '{record.name}' is not installed (its file is gone)")
        if not record.enabled:
            raise ConflictError(f"plan '{record.name}' is disabled: enable it first")
        resolve_targets(request.targets, load_inventory(s) if inventory is None else inventory)
        if record.kind is PlanKind.CONFIGURATION and request.targets.empty:
            raise UsageError(f"configuration plan '{record.name}' needs targets")
        info = (
            self.plans.plan_class(record.key)
            if batch is None
            else batch.plan_class(self.plans, record.key)
        )
        cls = info.cls
        typed = validate_variables(cls, request.variables)
        hidden = set(sensitive_names(cls))
        queue = _check_queue(s, record, request.queue, None if batch is None else batch.queues)
        simulation = record.dryrun_default if request.simulation is None else request.simulation
        return PreparedJob(
            record.id,
            record.kind,
            {k: v for k, v in typed.items() if k not in hidden},
            {k: v for k, v in typed.items() if k in hidden},
            tuple(sorted(hidden & set(typed))),
            simulation,
            queue,
        )

    def _new_job(
        self,
        record: PlanRecord,
        request: JobRequest,
        prepared: PreparedJob,
        run_at: datetime,
        needs_approval: bool,
    ) -> Job:
        now = self.ctx.now()
        if needs_approval:
            state = JobState.PENDING_APPROVAL
        else:
            state = JobState.SCHEDULED if run_at > now else JobState.QUEUED
        return Job(
            kind=prepared.kind,
            plan_id=record.id,
            plan_key=record.key,
            plan_name=record.name,
            targets=request.targets.as_dict(),
            variables=prepared.stored_variables,
            sensitive_names=list(prepared.sensitive),
            simulation=prepared.simulation,
            queue_name=prepared.queue,
            state=state,
            requested_by=self.ctx.actor,
            created_at=now,
            run_at=run_at,
            window_end=request.window_end,
            approval_required=needs_approval,
            schedule_id=request.schedule_id,
            template_id=request.template_id,
            simulation_of=request.simulation_of,
        )

    def create_drift(self, targets: TargetSpec, *, remediate: bool, simulation: bool) -> JobView:
        """A configuration job over every enabled configuration plan that applies to each server.

        ``remediate=False`` is a drift check (collect only); with no targets it checks every
        active server.
        """
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "jobs.run")
            inventory = load_inventory(s)
            if targets.empty:
                names = tuple(sorted(x.name for x in inventory.servers))
                targets = TargetSpec(servers=names, include_inactive=targets.include_inactive)
            resolve_targets(targets, inventory)
            _check_queue_exists(s, "default")
            job = Job(
                kind=PlanKind.CONFIGURATION,
                plan_key=ALL_CONFIGURATION,
                plan_name="drift remediation" if remediate else "drift check",
                targets=targets.as_dict(),
                simulation=simulation,
                mode="run" if remediate else "check",
                queue_name="default",
                state=JobState.QUEUED,
                requested_by=self.ctx.actor,
                created_at=now,
                run_at=now,
            )
            s.add(job)
            s.flush()
            self.ctx.audit(s, "job.create", "job", str(job.id), plan=job.plan_name)
            return job_view(job)

    # reading ---------------------------------------------------------------------------------

    def recent(self, *, limit: int = 100, states: tuple[str, ...] = ()) -> list[JobView]:
        with self.ctx.db.session() as s:
            query = select(Job).order_by(Job.id.desc()).limit(limit)
            if states:
                query = query.where(Job.state.in_([JobState(x) for x in states]))
            return [job_view(j) for j in s.scalars(query)]

    def show(self, job_id: int) -> JobView:
        with self.ctx.db.session() as s:
            query = select(Job).where(Job.id == job_id).options(selectinload(Job.server_runs))
            job = s.scalar(query)
            if job is None:
                raise NotFoundError(f"unknown job {job_id}")
            return job_view(job, with_runs=True)

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
            return [_log_view(e, server) for e, server in rows]

    def log_tail(
        self, job_id: int, *, limit: int = 1000, server_run_id: int | None = None
    ) -> list[LogView]:
        """The last ``limit`` log lines of a job (or of one server run), oldest first."""
        with self.ctx.db.session() as s:
            get_job(s, job_id)
            query = _log_query(job_id, server_run_id).order_by(LogEntry.seq.desc()).limit(limit)
            return [_log_view(e, server) for e, server in reversed(list(s.execute(query)))]

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
        now = self.ctx.now()
        daemons = presence.alive(self.ctx.db, now)
        found = next((d for d in daemons if queue is None or d.serves(queue)), None)
        return None if found is None else found.holder

    def count(self) -> int:
        with self.ctx.db.session() as s:
            return s.scalar(select(func.count(Job.id))) or 0

    # changing --------------------------------------------------------------------------------

    def cancel(self, job_id: int) -> JobView:
        """Cancel a waiting job or an orphan at once; ask a running one to stop (its worker ends
        it)."""
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "jobs.cancel")
            job = get_job(s, job_id)
            if job.state.finished:
                raise ConflictError(f"job {job_id} has already finished ({job.state.value})")
            if job.state is JobState.RUNNING and is_orphan(job, self.ctx.now()):
                reason = f"cancelled; its worker {job.worker} was gone"
                end_unfinished(s, job, self.ctx.now(), JobState.CANCELLED, reason)
            elif job.state is JobState.RUNNING:
                job.cancel_requested = True
            else:
                job.state, job.finished_at = JobState.CANCELLED, self.ctx.now()
            self.ctx.audit(s, "job.cancel", "job", str(job_id))
            return job_view(job)

    def edit(
        self,
        job_id: int,
        *,
        targets: TargetSpec | None = None,
        variables: Mapping[str, str] | None = None,
        run_at: datetime | None = None,
    ) -> JobView:
        """Change a job that has not started; an approval it had is void, it waits again."""
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "jobs.run")
            job = get_job(s, job_id)
            if job.state not in (JobState.PENDING_APPROVAL, JobState.SCHEDULED, JobState.QUEUED):
                raise ConflictError(
                    f"job {job_id} is {job.state.value}: only a waiting job can be edited"
                )
            if targets is not None:
                resolve_targets(targets, load_inventory(s))
                job.targets = targets.as_dict()
            if variables is not None:
                cls = self.plans.plan_class(job.plan_key).cls
                typed = validate_variables(cls, variables)
                if set(typed) & set(sensitive_names(cls)):
                    raise UsageError("sensitive variables cannot be stored on a waiting job")
                job.variables = typed
            if run_at is not None:
                job.run_at = run_at
            if job.approval_required:
                job.state = JobState.PENDING_APPROVAL
            self.ctx.audit(s, "job.edit", "job", str(job_id))
            return job_view(job)


def _log_query(job_id: int, server_run_id: int | None):  # type: ignore[no-untyped-def]
    query = (
        select(LogEntry, ServerRun.server_name)
        .outerjoin(ServerRun, LogEntry.server_run_id == ServerRun.id)
        .where(LogEntry.job_id == job_id)
    )
    if server_run_id is not None:
        query = query.where(LogEntry.server_run_id == server_run_id)
    return query


def _log_view(entry: LogEntry, server: str | None) -> LogView:
    return LogView(
        entry.seq,
        entry.at,
        server or "",
        entry.level,
        entry.stream,
        entry.text,
        entry.server_run_id,
    )


def _check_simulation_of(s: Session, request: JobRequest, prepared: PreparedJob) -> None:
    """A job that skips approval as the simulation of another must change nothing and simulate
    a job that is still waiting for a decision."""
    if not prepared.simulation or request.run_at is not None or request.schedule_id is not None:
        raise UsageError("a simulation for an approval must be a simulation that runs now")
    pending = get_job(s, request.simulation_of or 0)
    if pending.state is not JobState.PENDING_APPROVAL:
        raise ConflictError(f"job {pending.id} is not waiting for approval ({pending.state.value})")


def _refuse_second_singleton(s: Session, record: PlanRecord) -> None:
    """Under the write lock (BEGIN IMMEDIATE / row lock), a second active job is refused."""
    s.execute(select(PlanRecord.id).where(PlanRecord.id == record.id).with_for_update())
    active = s.scalar(
        select(Job.id).where(Job.plan_key == record.key, Job.state.in_(SINGLETON_BLOCKING)).limit(1)
    )
    if active is not None:
        raise ConflictError(f"plan '{record.name}' is a singleton and job {active} is still active")


def _check_queue(
    s: Session, record: PlanRecord, requested: str | None, known: set[str] | None = None
) -> str:
    queue = requested or record.default_queue or "default"
    allowed = {record.default_queue or "default", *record.eligible_queues}
    if queue not in allowed:
        names = ", ".join(sorted(allowed))
        raise UsageError(f"plan '{record.name}' may not use queue '{queue}' (allowed: {names})")
    if known is None or queue not in known:
        _check_queue_exists(s, queue, known)
    return queue


def _check_queue_exists(s: Session, queue: str, known: set[str] | None = None) -> None:
    """Known queues only; ``default`` is made on first use.

    ``known``: queues found to exist in this transaction (a batch); one found is added, one made
    here is not (the SAVEPOINT that made it may yet roll back).
    """
    if s.scalar(select(JobQueue.id).where(JobQueue.name == queue)) is None:
        if queue != "default":
            raise NotFoundError(f"unknown job queue '{queue}'")
        s.add(JobQueue(name="default", backend="local", concurrency=4))
        s.flush()
    elif known is not None:
        known.add(queue)


__all__ = [
    "ACTIVE_JOB_STATES",
    "JobBatch",
    "JobRequest",
    "JobService",
    "JobView",
    "LogView",
    "fingerprint",
]

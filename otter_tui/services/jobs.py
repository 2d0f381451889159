"""Jobs: create (validated, written as a row first), read, edit, cancel.

A job is validated completely before its row exists: the plan is enabled and installed, the
targets name known servers, roles and environments, the variables match the plan's declarations,
the queue is one the plan may use. Sensitive variable values are never written: the row keeps
only their names, and the values stay in the memory of the process that runs the job, which is
why a plan with sensitive variables can run now but not be scheduled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, UsageError
from otter_tui.plan import sensitive_names, validate_variables
from otter_tui.services.context import ServiceContext
from otter_tui.services.grants import Grant, grants_of, require_held, require_on_targets
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.job_batch import JobBatch
from otter_tui.services.job_checks import check_simulation_of, editable, refuse_second_singleton
from otter_tui.services.job_views import (
    JobReads,
    JobView,
    LogView,
    RunCounts,
    ServerRunView,
    fingerprint,
    get_job,
    job_view,
)
from otter_tui.services.orphans import end_unfinished, is_orphan
from otter_tui.services.plans import PlanService, get_record
from otter_tui.services.queues import check_queue, check_queue_exists
from otter_tui.store.models import (
    ACTIVE_JOB_STATES,
    Job,
    JobState,
    PlanKind,
    PlanRecord,
)
from otter_tui.targeting import Inventory, TargetSpec, resolve_targets

ALL_CONFIGURATION = "*"
"""The plan key of a drift job: every enabled configuration plan that applies to a server."""

DoorAudit = tuple[str, Mapping[str, Any]]
"""(action, detail) of the audit event a door adds to a job it creates (``api.trigger``)."""


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
class PreparedJob:
    """A validated request: typed variables split into what may be stored and what may not."""

    record_id: int
    kind: PlanKind
    stored_variables: dict[str, Any]
    secrets: dict[str, Any]
    sensitive: tuple[str, ...]
    simulation: bool
    queue: str


class CheckedJob(NamedTuple):
    """A request that passed every check of :meth:`JobService.check`: ready to be written."""

    record: PlanRecord
    prepared: PreparedJob
    needs_approval: bool


class JobService(JobReads):
    """Create and manage jobs; the same checks for the TUI, the CLI, the daemon and the API."""

    def __init__(self, ctx: ServiceContext, plans: PlanService | None = None) -> None:
        self.ctx = ctx
        self.plans = plans or PlanService(ctx)

    def create(
        self,
        request: JobRequest | Callable[[Session], JobRequest],
        *,
        secrets_out: dict[str, Any] | None = None,
        inventory: Inventory | None = None,
        batch: JobBatch | None = None,
        door: DoorAudit | None = None,
    ) -> JobView:
        """Validate and write the job. Sensitive values go to ``secrets_out``, never the store.

        ``request``: or a function that reads it in the job's own transaction (a template's
        job: the template is read where the job is written, one transaction, not two).

        ``door``: the audit event of the door the job came through (the API's), written in the
        job's own transaction: no job without it, and no second transaction per job.

        ``inventory``: the inventory as read in the caller's open transaction, for a caller that
        creates many jobs in one (the scheduler's batch), so it is loaded once, not per job.
        ``batch``: the same, and also the permission check, plan records, plan classes and
        queues, read once per transaction (see :class:`JobBatch`; it brings its inventory).
        """
        with self.ctx.db.transaction() as s:
            if not isinstance(request, JobRequest):
                request = request(s)
            run_at = request.run_at or self.ctx.now()
            checked = self.check(s, request, run_at, inventory=inventory, batch=batch)
            job = Job(**self.job_values(checked, request, run_at))
            s.add(job)
            s.flush()
            self.ctx.audit(
                s, "job.create", "job", str(job.id), plan=checked.record.key, state=job.state.value
            )
            self._audit_door(s, job, door)
            if secrets_out is not None:
                secrets_out.update(checked.prepared.secrets)
            return job_view(job)

    def check(
        self,
        s: Session,
        request: JobRequest,
        run_at: datetime,
        *,
        inventory: Inventory | None = None,
        batch: JobBatch | None = None,
    ) -> CheckedJob:
        """Every refusal :meth:`create` makes, in ``s``, before anything is written.

        Separate so the scheduler's bulk round (:mod:`otter_tui.scheduler.rounds`) refuses
        exactly what a person would be refused, then writes a round's jobs in one insert.
        """
        permission = "jobs.run" if request.simulation_of is None else "jobs.approve"
        if batch is None:
            known = grants_of(s, self.ctx.actor)  # read once: the permission, then the targets
            require_held(known, self.ctx.actor, permission)
            record = get_record(s, request.plan)
        else:
            batch.require(self.ctx, s, permission)
            record = batch.record(s, request.plan)
            inventory = batch.inventory
            known = batch.grants(s, self.ctx.actor)
        prepared = self._prepare(s, record, request, known, inventory, batch)
        deferred = run_at > self.ctx.now() or request.schedule_id is not None
        if prepared.secrets and deferred:
            raise UsageError(
                f"plan '{record.name}' has sensitive variables: it can run now but not be "
                "scheduled (their values are never stored)"
            )
        needs_approval = record.approval_required or request.approval_required
        if request.simulation_of is not None:
            check_simulation_of(s, request, prepared)
            needs_approval = False
        if prepared.secrets and needs_approval:
            raise UsageError(
                f"plan '{record.name}' needs approval and has sensitive variables: their "
                "values cannot wait for an approver, so run it without them"
            )
        if record.is_singleton:
            refuse_second_singleton(s, record)
        return CheckedJob(record, prepared, needs_approval)

    def _prepare(
        self,
        s: Session,
        record: PlanRecord,
        request: JobRequest,
        known: tuple[bool, list[Grant]],
        inventory: Inventory | None = None,
        batch: JobBatch | None = None,
    ) -> PreparedJob:
        if not record.installed:
            raise ConflictError(f"plan '{record.name}' is not installed (its file is gone)")
        if not record.enabled:
            raise ConflictError(f"plan '{record.name}' is disabled: enable it first")
        inventory = load_inventory(s) if inventory is None else inventory
        targets = resolve_targets(request.targets, inventory)
        permission = "jobs.run" if request.simulation_of is None else "jobs.approve"
        require_on_targets(s, self.ctx.actor, permission, record.key, targets, inventory, known)
        if record.kind is PlanKind.CONFIGURATION and request.targets.empty:
            raise UsageError(f"configuration plan '{record.name}' needs targets")
        info = (
            self.plans.plan_class(record.key)
            if batch is None
            else batch.plan_class(self.plans, record.key)
        )
        cls = info.cls
        typed = validate_variables(cls, request.variables, fill_defaults=False)
        hidden = set(sensitive_names(cls))
        queue = check_queue(s, record, request.queue, None if batch is None else batch.queues)
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

    def job_values(
        self, checked: CheckedJob, request: JobRequest, run_at: datetime
    ) -> dict[str, Any]:
        """The job's row as column values (one place, for a single insert and for a bulk one)."""
        record, prepared, needs_approval = checked
        now = self.ctx.now()
        if needs_approval:
            state = JobState.PENDING_APPROVAL
        else:
            state = JobState.SCHEDULED if run_at > now else JobState.QUEUED
        return dict(
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
            window_end=request.window_end or self._one_shot_window(request, run_at, needs_approval),
            approval_required=needs_approval,
            schedule_id=request.schedule_id,
            template_id=request.template_id,
            simulation_of=request.simulation_of,
        )

    def _one_shot_window(
        self, request: JobRequest, run_at: datetime, needs_approval: bool
    ) -> datetime | None:
        """A job asked for a time gets an approval window after it, as schedule firings do.

        A job to run now has none: it waits for its approver however long that takes.
        """
        if not needs_approval or request.schedule_id is not None or request.run_at is None:
            return None
        return run_at + timedelta(seconds=self.ctx.settings.approvals.one_shot_window_seconds)

    def create_drift(
        self,
        targets: TargetSpec,
        *,
        remediate: bool,
        simulation: bool,
        door: DoorAudit | None = None,
    ) -> JobView:
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
            runs = resolve_targets(targets, inventory)
            require_on_targets(s, self.ctx.actor, "jobs.run", ALL_CONFIGURATION, runs, inventory)
            check_queue_exists(s, "default")
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
            self._audit_door(s, job, door)
            return job_view(job)

    def _audit_door(self, s: Session, job: Job, door: DoorAudit | None) -> None:
        if door is not None:
            action, detail = door
            self.ctx.audit(s, action, "job", str(job.id), **detail)

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
            before = editable(job)
            if targets is not None:
                inventory = load_inventory(s)
                runs = resolve_targets(targets, inventory)
                require_on_targets(s, self.ctx.actor, "jobs.run", job.plan_key, runs, inventory)
                job.targets = targets.as_dict()
            if variables is not None:
                cls = self.plans.plan_class(job.plan_key).cls
                typed = validate_variables(cls, variables, fill_defaults=False)
                if set(typed) & set(sensitive_names(cls)):
                    raise UsageError("sensitive variables cannot be stored on a waiting job")
                job.variables = typed
            if run_at is not None:
                job.run_at = run_at
                if job.schedule_id is None and job.approval_required:
                    request = JobRequest(job.plan_key, run_at=run_at)
                    job.window_end = self._one_shot_window(request, run_at, True)
            if job.approval_required:
                job.state = JobState.PENDING_APPROVAL
            after = editable(job)
            changed = [k for k in after if after[k] != before[k]]
            self.ctx.audit(
                s, "job.edit", "job", str(job_id),
                before={k: before[k] for k in changed}, after={k: after[k] for k in changed},
            )  # fmt: skip
            return job_view(job)


__all__ = [
    "ACTIVE_JOB_STATES",
    "JobBatch",
    "JobRequest",
    "JobService",
    "JobView",
    "LogView",
    "RunCounts",
    "ServerRunView",
    "check_queue",
    "fingerprint",
    "get_job",
    "job_view",
]

"""Approvals: a job that needs one waits in ``pending_approval`` until someone else decides.

The requester may never approve their own job (unless listed in ``approvals.self_approval_
exceptions``, for one-person teams). An approval pins a fingerprint of what was requested, so
editing the job voids it. An approval that arrives after the job's window expires the job
instead of running it late. Every decision is audited.

Before deciding, an approver may simulate exactly what a job requests (same plan, targets,
variables and queue): the simulation is a job of its own, linked to the pending one, that runs
without approval because it changes nothing. Whoever may approve may simulate.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from otter_tui.errors import ConflictError, PermissionDenied, UsageError
from otter_tui.services.context import ServiceContext
from otter_tui.services.grants import require_on_targets
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.jobs import JobRequest, JobService, JobView, fingerprint, get_job, job_view
from otter_tui.services.plans import PlanService
from otter_tui.store.models import Approval, Decision, Job, JobState
from otter_tui.targeting import TargetSpec, resolve_targets


@dataclass(frozen=True)
class SimulationView:
    """The latest simulation of a job waiting for approval."""

    job: JobView

    def describe(self) -> str:
        """``job 7 — running``; finished: ``job 7 — 5 would change, 1 unknown``."""
        job, summary = self.job, self.job.summary
        if not JobState(job.state).finished:
            return f"job {job.id} — {job.state}"
        if job.state in ("succeeded", "warning") and "changes" in summary:
            result = f"{summary['changes']} would change, {summary.get('unknowns', 0)} unknown"
            if summary.get("warnings"):
                result += f", {summary['warnings']} warning(s)"
            return f"job {job.id} — {result}"
        return f"job {job.id} — {job.state}" + (f": {job.error}" if job.error else "")


class ApprovalService:
    def __init__(self, ctx: ServiceContext, plans: PlanService | None = None) -> None:
        self.ctx = ctx
        self.plans = plans

    def pending(self) -> list[JobView]:
        with self.ctx.db.session() as s:
            query = select(Job).where(Job.state == JobState.PENDING_APPROVAL).order_by(Job.run_at)
            return [job_view(j) for j in s.scalars(query)]

    def approve(self, job_id: int, comment: str = "") -> JobView:
        return self._decide(job_id, Decision.APPROVED, comment)

    def deny(self, job_id: int, comment: str = "") -> JobView:
        return self._decide(job_id, Decision.DENIED, comment)

    def _decide(self, job_id: int, decision: Decision, comment: str) -> JobView:
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "jobs.approve")
            job = get_job(s, job_id)
            if job.state is not JobState.PENDING_APPROVAL:
                raise ConflictError(f"job {job_id} is not waiting for approval ({job.state.value})")
            self._check_not_requester(job)
            inventory = load_inventory(s)
            runs = resolve_targets(TargetSpec.from_dict(job.targets), inventory)
            require_on_targets(s, self.ctx.actor, "jobs.approve", job.plan_key, runs, inventory)
            s.add(
                Approval(
                    job_id=job.id,
                    decision=decision,
                    decided_by=self.ctx.actor,
                    decided_at=now,
                    comment=comment,
                    fingerprint=fingerprint(job),
                )
            )
            self.ctx.audit(s, f"job.{decision.value}", "job", str(job_id), comment=comment)
            if job.window_end is not None and now > job.window_end:
                job.state, job.finished_at = JobState.EXPIRED, now
                closed = f"{job.window_end:%Y-%m-%d %H:%M} UTC"
                job.error = f"{decision.value} after its window closed at {closed}"
            elif decision is Decision.DENIED:
                job.state, job.finished_at = JobState.DENIED, now
                job.error = f"denied by {self.ctx.actor}" + (f": {comment}" if comment else "")
            else:
                job.state = JobState.SCHEDULED if job.run_at > now else JobState.QUEUED
            return job_view(job)

    def _check_not_requester(self, job: Job) -> None:
        exceptions = self.ctx.settings.approvals.self_approval_exceptions
        if job.requested_by == self.ctx.actor and self.ctx.actor not in exceptions:
            raise PermissionDenied(
                f"user '{self.ctx.actor}' requested job {job.id} and may not decide on it"
            )

    def history(self, job_id: int) -> list[tuple[str, str, str, str]]:
        """(decision, by, at, comment) for a job, oldest first."""
        with self.ctx.db.session() as s:
            rows = s.scalars(
                select(Approval).where(Approval.job_id == job_id).order_by(Approval.id)
            )
            return [
                (a.decision.value, a.decided_by, a.decided_at.isoformat(), a.comment) for a in rows
            ]

    # simulating ------------------------------------------------------------------------------

    def simulate(self, job_id: int) -> JobView:
        """Create a simulation of exactly what a waiting job requests; it needs no approval.

        Created through the job service, so the same validation applies; the caller runs it
        like any queued job. Refused for a job with sensitive variables (their values are not
        stored, so the simulation could not use what the job will).
        """
        with self.ctx.db.session() as s:
            job = job_view(get_job(s, job_id))
        if job.state != JobState.PENDING_APPROVAL.value:
            raise ConflictError(f"job {job_id} is not waiting for approval ({job.state})")
        if job.sensitive_names:
            names = ", ".join(job.sensitive_names)
            raise UsageError(f"job {job_id} has sensitive variables ({names}): cannot simulate it")
        request = JobRequest(
            plan=job.plan_key,
            targets=job.targets,
            variables=dict(job.variables),
            simulation=True,
            queue=job.queue,
            simulation_of=job_id,
        )
        view = JobService(self.ctx, self.plans).create(request)
        with self.ctx.db.transaction() as s:
            self.ctx.audit(s, "job.simulate", "job", str(job_id), simulation=view.id)
        return view

    def latest_simulation(self, job_id: int) -> SimulationView | None:
        """The newest simulation asked for this job, or None."""
        return self.latest_simulations([job_id]).get(job_id)

    def latest_simulations(self, job_ids: list[int]) -> dict[int, SimulationView]:
        """The newest simulation of each of these jobs that has one, in one read."""
        if not job_ids:
            return {}
        with self.ctx.db.session() as s:
            newest = (
                select(func.max(Job.id))
                .where(Job.simulation_of.in_(job_ids))
                .group_by(Job.simulation_of)
            )
            rows = s.scalars(select(Job).where(Job.id.in_(newest)))
            return {j.simulation_of: SimulationView(job_view(j)) for j in rows if j.simulation_of}

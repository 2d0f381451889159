"""Approvals: a job that needs one waits in ``pending_approval`` until someone else decides.

The requester may never approve their own job (unless listed in ``approvals.self_approval_
exceptions``, for one-person teams). An approval pins a fingerprint of what was requested, so
editing the job voids it. An approval that arrives after the job's window expires the job
instead of running it late. Every decision is audited.
"""

from __future__ import annotations

from sqlalchemy import select

from otter_tui.errors import ConflictError, PermissionDenied
from otter_tui.services.context import ServiceContext
from otter_tui.services.jobs import JobView, fingerprint, get_job, job_view
from otter_tui.store.models import Approval, Decision, Job, JobState


class ApprovalService:
    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

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

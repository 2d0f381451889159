"""Checks a job must pass before its row is written or changed, kept apart from the service.

A simulation asked by an approver must match the job it simulates; a singleton plan has one
active job at most (checked under the write lock); ``editable`` is what an edit may change, as
the audit shows it before and after.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, UsageError
from otter_tui.services.job_views import get_job
from otter_tui.store.models import Job, JobState, PlanRecord

if TYPE_CHECKING:
    from otter_tui.services.jobs import JobRequest, PreparedJob

SINGLETON_BLOCKING = (JobState.QUEUED, JobState.RUNNING)


def editable(job: Job) -> dict[str, Any]:
    """What ``edit`` may change, as the audit shows it."""
    return {"targets": job.targets, "variables": job.variables, "run_at": job.run_at.isoformat()}


def check_simulation_of(s: Session, request: JobRequest, prepared: PreparedJob) -> None:
    """A job that skips approval as the simulation of another must change nothing and simulate
    a job that is still waiting for a decision."""
    if not prepared.simulation or request.run_at is not None or request.schedule_id is not None:
        raise UsageError("a simulation for an approval must be a simulation that runs now")
    pending = get_job(s, request.simulation_of or 0)
    if pending.state is not JobState.PENDING_APPROVAL:
        raise ConflictError(f"job {pending.id} is not waiting for approval ({pending.state.value})")


def refuse_second_singleton(s: Session, record: PlanRecord) -> None:
    """Under the write lock (BEGIN IMMEDIATE / row lock), a second active job is refused."""
    s.execute(select(PlanRecord.id).where(PlanRecord.id == record.id).with_for_update())
    active = s.scalar(
        select(Job.id).where(Job.plan_key == record.key, Job.state.in_(SINGLETON_BLOCKING)).limit(1)
    )
    if active is not None:
        raise ConflictError(f"plan '{record.name}' is a singleton and job {active} is still active")

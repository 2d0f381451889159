"""Finding jobs for a reader who filters (the HTTP API's job list), and a job's bare state.

Read-only; kept apart from :mod:`.jobs` (creating and changing jobs). Filters run in SQL, so a
limit counts matching jobs, not jobs looked at.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from otter_tui.errors import NotFoundError, UsageError
from otter_tui.services.context import ServiceContext
from otter_tui.services.jobs import JobView, job_view
from otter_tui.store.models import Job, JobState

MAX_LIMIT = 1000


@dataclass(frozen=True)
class JobFilter:
    states: tuple[str, ...] = ()
    plan: str = ""
    """A plan key or name."""
    requested_by: str = ""
    before: int | None = None
    """Only jobs with a smaller id: the next page of a newest-first list."""
    limit: int = 100


def find_jobs(ctx: ServiceContext, where: JobFilter) -> list[JobView]:
    """Matching jobs, newest first."""
    if not 0 < where.limit <= MAX_LIMIT:
        raise UsageError(f"limit must be between 1 and {MAX_LIMIT}, got {where.limit}")
    known = {s.value for s in JobState}
    for state in where.states:
        if state not in known:
            raise UsageError(f"unknown job state '{state}' (known: {', '.join(sorted(known))})")
    query = select(Job).order_by(Job.id.desc()).limit(where.limit)
    if where.states:
        query = query.where(Job.state.in_([JobState(x) for x in where.states]))
    if where.plan:
        query = query.where((Job.plan_key == where.plan) | (Job.plan_name == where.plan))
    if where.requested_by:
        query = query.where(Job.requested_by == where.requested_by)
    if where.before is not None:
        query = query.where(Job.id < where.before)
    with ctx.db.session() as s:
        return [job_view(j) for j in s.scalars(query)]


def job_state(ctx: ServiceContext, job_id: int) -> JobState:
    with ctx.db.session() as s:
        state = s.scalar(select(Job.state).where(Job.id == job_id))
    if state is None:
        raise NotFoundError(f"unknown job {job_id}")
    return state


__all__ = ["JobFilter", "find_jobs", "job_state"]

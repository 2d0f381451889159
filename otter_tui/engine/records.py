"""The engine's writes: server-run and job state, drift results. Written, then published.

Every write goes through the engine's one database thread, so the loop never blocks on SQLite
and a job's rows land in the order things happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.targets import JobPlan, PlannedRun
from otter_tui.events import DriftChecked, EventBus, JobStateChanged, ServerRunStateChanged
from otter_tui.services.context import ServiceContext
from otter_tui.store.models import (
    DriftItem,
    DriftStatus,
    Job,
    JobState,
    RunState,
    Server,
    ServerRun,
)


@dataclass(frozen=True)
class Outcome:
    """How a server run ended."""

    state: RunState
    changes: int = 0
    unknowns: int = 0
    warnings: int = 0
    error: str = ""


@dataclass(frozen=True)
class DriftRecord:
    """One collected operation, as stored for the drift view."""

    plan_key: str
    item: str
    status: DriftStatus
    diff: str = ""
    message: str = ""


class JobRecorder:
    def __init__(self, ctx: ServiceContext, bus: EventBus, dbthread: DbThread) -> None:
        self.ctx = ctx
        self.bus = bus
        self.dbthread = dbthread

    async def job_started(self, plan: JobPlan) -> None:
        await self.bus.publish(JobStateChanged(plan.job_id, JobState.RUNNING.value, self.ctx.now()))

    async def run_started(self, plan: JobPlan, run: PlannedRun) -> None:
        now = self.ctx.now()
        await self.dbthread.run(
            self._update_run, run.run_id, state=RunState.RUNNING, started_at=now
        )
        await self._publish_run(plan, run, RunState.RUNNING, "")

    async def finish_run(self, plan: JobPlan, run: PlannedRun, outcome: Outcome) -> None:
        stored = await self.dbthread.run(self._finish_run, run.run_id, outcome)
        await self._publish_run(plan, run, stored, outcome.error)

    def _finish_run(self, run_id: int, outcome: Outcome) -> RunState:
        """Record the outcome; a run already marked ``interrupted`` (its worker stopping) keeps
        that state, so the job and its runs tell one story. Returns the state stored."""
        with self.ctx.db.transaction() as s:
            run = s.get(ServerRun, run_id)
            if run is None:
                return outcome.state
            run.changes, run.unknowns = outcome.changes, outcome.unknowns
            run.warnings = outcome.warnings
            if run.state is RunState.INTERRUPTED:
                return RunState.INTERRUPTED
            run.state, run.finished_at, run.error = outcome.state, self.ctx.now(), outcome.error
            return outcome.state

    async def _publish_run(
        self, plan: JobPlan, run: PlannedRun, state: RunState, error: str
    ) -> None:
        server = run.server.name if run.server else ""
        event = ServerRunStateChanged(
            plan.job_id, run.run_id, server, run.role or "", state.value, self.ctx.now(), error
        )
        await self.bus.publish(event)

    def _update_run(self, run_id: int, **values: Any) -> None:
        with self.ctx.db.transaction() as s:
            s.execute(update(ServerRun).where(ServerRun.id == run_id).values(**values))

    async def finish_job(
        self, job_id: int, state: JobState, summary: dict[str, Any], error: str
    ) -> None:
        now = self.ctx.now()
        stored = await self.dbthread.run(self._finish_job, job_id, state, summary, error)
        await self.bus.publish(JobStateChanged(job_id, stored.value, now, error))

    def _finish_job(
        self, job_id: int, state: JobState, summary: dict[str, Any], error: str
    ) -> JobState:
        """End a running job; one already ended elsewhere (interrupted) keeps its state."""
        with self.ctx.db.transaction() as s:
            job = s.get(Job, job_id)
            if job is None:
                return state
            if job.state is not JobState.RUNNING:
                return job.state
            job.state, job.finished_at, job.summary = state, self.ctx.now(), summary
            job.error, job.lease_expires_at = error, None
            return state

    async def store_drift(
        self, server_id: int, server: str, records: Sequence[DriftRecord]
    ) -> None:
        now = self.ctx.now()
        await self.dbthread.run(self._store_drift, server_id, records)
        await self.bus.publish(DriftChecked(server, rollup([r.status for r in records]), now))

    def _store_drift(self, server_id: int, records: Sequence[DriftRecord]) -> None:
        """Replace the server's drift with this collection, which covered every configuration
        plan that applies to it now: items of a plan that no longer applies (disabled, role
        removed) go, instead of keeping the server drifted forever."""
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            s.execute(delete(DriftItem).where(DriftItem.server_id == server_id))
            s.add_all(
                DriftItem(
                    server_id=server_id,
                    plan_key=r.plan_key,
                    item=r.item,
                    status=r.status,
                    diff=r.diff,
                    message=r.message,
                    checked_at=now,
                )
                for r in _unique(records)
            )
            s.execute(update(Server).where(Server.id == server_id).values(drift_checked_at=now))


def _unique(records: Sequence[DriftRecord]) -> list[DriftRecord]:
    """One row per (plan, item): a plan that declares the same item twice keeps the last."""
    seen: dict[tuple[str, str], DriftRecord] = {}
    for r in records:
        seen[(r.plan_key, r.item)] = r
    return list(seen.values())


DRIFT_ORDER = ("error", "drifted", "unknown", "current")


def rollup(statuses: Sequence[DriftStatus | str]) -> str:
    """A server's (or group's) drift status from its items: the worst one wins."""
    values = {DriftStatus(s).value if not isinstance(s, str) else s for s in statuses}
    if "error" in values:
        return "error"
    if "drifted" in values:
        return "drifted"
    if "unknown" in values:
        return "unknown"
    return "current"


def server_drift_status(session: Any, server_id: int) -> str:
    """``never checked`` when no check ran, else the roll-up of its stored items."""
    checked = session.scalar(select(Server.drift_checked_at).where(Server.id == server_id))
    if checked is None:
        return "never checked"
    statuses = list(
        session.scalars(select(DriftItem.status).where(DriftItem.server_id == server_id))
    )
    return rollup(statuses)

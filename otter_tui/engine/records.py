"""The engine's writes: server-run and job state, drift results. Written, then published.

Every write goes through the engine's one database thread, so the loop never blocks on SQLite
and a job's rows land in the order things happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.groupcommit import GroupCommit
from otter_tui.engine.run_store import Counts, End, RunStateStore, Start
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


@dataclass(frozen=True)
class _RunWrite:
    """A server run starting (``outcome`` None) or finishing, waiting for the group commit."""

    run_id: int
    at: datetime
    outcome: Outcome | None


@dataclass(frozen=True)
class _DriftWrite:
    """One server's collection, replacing its stored drift, waiting for the group commit."""

    server_id: int
    records: Sequence[DriftRecord]


class JobRecorder:
    def __init__(self, ctx: ServiceContext, bus: EventBus, dbthread: DbThread) -> None:
        self.ctx = ctx
        self.bus = bus
        self.dbthread = dbthread
        self._run_store = RunStateStore(ctx.db)
        self._runs = GroupCommit(dbthread, self._store_runs, "run-state-writer")
        self._drift = GroupCommit(dbthread, self._store_drift, "drift-writer")

    async def job_started(self, plan: JobPlan) -> None:
        await self.bus.publish(JobStateChanged(plan.job_id, JobState.RUNNING.value, self.ctx.now()))

    async def run_started(self, plan: JobPlan, run: PlannedRun) -> None:
        await self._runs.submit(_RunWrite(run.run_id, self.ctx.now(), None))
        await self._publish_run(plan, run, RunState.RUNNING, "")

    async def finish_run(self, plan: JobPlan, run: PlannedRun, outcome: Outcome) -> None:
        stored = await self._runs.submit(_RunWrite(run.run_id, self.ctx.now(), outcome))
        await self._publish_run(plan, run, stored, outcome.error)

    def _store_runs(self, writes: Sequence[_RunWrite]) -> list[RunState]:
        """Store a batch of starts and finishes in one transaction; returns each state stored.

        A run already marked ``interrupted`` (its worker stopping) keeps that state when it
        finishes, so the job and its runs tell one story; a run whose row is gone is skipped.
        Driver-level statements (:mod:`otter_tui.engine.run_store`), not the ORM's."""
        now = self.ctx.now()
        store = self._run_store
        with self.ctx.db.transaction() as s:
            found = store.states(s, [w.run_id for w in writes if w.outcome is not None])
            starts: list[Start] = []
            counts: list[Counts] = []
            ends: list[End] = []
            stored: list[RunState] = []
            for w in writes:
                if w.outcome is None:
                    starts.append((w.run_id, w.at))
                    stored.append(RunState.RUNNING)
                    continue
                o, current = w.outcome, found.get(w.run_id)
                if current is None:
                    stored.append(o.state)
                elif current is RunState.INTERRUPTED:
                    counts.append((w.run_id, o.changes, o.unknowns, o.warnings))
                    stored.append(RunState.INTERRUPTED)
                else:
                    tally = (o.changes, o.unknowns, o.warnings)
                    ends.append((w.run_id, o.state, now, o.error, *tally))
                    stored.append(o.state)
            store.write(s, starts, ends, counts)
            return stored

    async def _publish_run(
        self, plan: JobPlan, run: PlannedRun, state: RunState, error: str
    ) -> None:
        server = run.server.name if run.server else ""
        event = ServerRunStateChanged(
            plan.job_id, run.run_id, server, run.role or "", state.value, self.ctx.now(), error
        )
        await self.bus.publish(event)

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
        """Replace the server's stored drift (group-committed with other servers' results)."""
        now = self.ctx.now()
        await self._drift.submit(_DriftWrite(server_id, records))
        await self.bus.publish(DriftChecked(server, rollup([r.status for r in records]), now))

    def _store_drift(self, writes: Sequence[_DriftWrite]) -> list[None]:
        """Replace each server's drift with its collection, which covered every configuration
        plan that applies to it now: items of a plan that no longer applies (disabled, role
        removed) go, instead of keeping the server drifted forever. Plain multi-row statements,
        no ORM objects: a 500-server check is a few statements, not 500 transactions."""
        now = self.ctx.now()
        latest = {w.server_id: w.records for w in writes}  # a server twice: its last collection
        ids = list(latest)
        rows = [
            {
                "server_id": server_id,
                "plan_key": r.plan_key,
                "item": r.item,
                "status": r.status,
                "diff": r.diff,
                "message": r.message,
                "checked_at": now,
            }
            for server_id, records in latest.items()
            for r in _unique(records)
        ]
        with self.ctx.db.transaction() as s:
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                s.execute(delete(DriftItem).where(DriftItem.server_id.in_(chunk)))
                s.execute(update(Server).where(Server.id.in_(chunk)).values(drift_checked_at=now))
            if rows:
                s.execute(insert(DriftItem), rows)
        return [None] * len(writes)


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

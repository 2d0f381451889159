"""Turns what the engine publishes into daemon log lines: job start and end, server runs, drift.

A durable subscriber of the event bus (nothing is dropped). A job's end is logged with the state
*stored* for it, read after the engine wrote it: when a shutdown runs out of time the row says
``interrupted`` even though the engine saw the run as cancelled, and the log must match the row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from otter_tui.events import (
    DriftChecked,
    Event,
    EventBus,
    JobCreated,
    JobStateChanged,
    LogLines,
    ServerRunStateChanged,
    Subscription,
)
from otter_tui.logfmt import emit
from otter_tui.services.queues import QueueBackend
from otter_tui.store.db import Database
from otter_tui.store.models import Job, JobState
from otter_tui.store.outage import OUTAGE, is_unavailable

QUIET_STATES = {JobState.SUCCEEDED.value}
FAILED_STATES = {JobState.FAILED.value}


@dataclass(frozen=True)
class JobFacts:
    """What a job line says besides its id, as stored."""

    plan: str
    queue: str
    state: str
    simulation: bool
    error: str
    summary: dict[str, Any]


def job_facts(db: Database, job_id: int) -> JobFacts | None:
    with db.session() as s:
        job = s.scalar(select(Job).where(Job.id == job_id))
        if job is None:
            return None
        return JobFacts(
            job.plan_key,
            job.queue_name,
            job.state.value,
            job.simulation,
            job.error,
            dict(job.summary),
        )


class LoggedClaims:
    """A queue backend that logs each claim (``job.claimed``) of the backend it wraps."""

    def __init__(self, backend: QueueBackend, db: Database, worker: str) -> None:
        self.backend = backend
        self.db = db
        self.worker = worker

    def claim_next(self, queues: Sequence[str]) -> int | None:
        job_id = self.backend.claim_next(queues)
        if job_id is not None:
            facts = job_facts(self.db, job_id)
            plan, queue = (facts.plan, facts.queue) if facts else ("", "")
            emit("job.claimed", job=job_id, plan=plan, queue=queue, worker=self.worker)
        return job_id

    def yields(self, queue: str) -> bool:
        return self.backend.yields(queue)


class Journal:
    """Subscribes to the bus and logs each event as one line."""

    def __init__(self, db: Database, bus: EventBus, *, job_lines: bool = False) -> None:
        self.db = db
        self.bus = bus
        self.job_lines = job_lines
        self.logged_finished: set[int] = set()
        """Jobs whose ``job.finished`` line was written."""
        self._sub: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._sub = self.bus.subscribe(lossy=False, maxsize=10_000)
        self._task = asyncio.create_task(self._consume(self._sub), name="daemon-journal")

    async def close(self) -> None:
        """Log what is still queued, then stop listening."""
        if self._sub is None or self._task is None:
            return
        await self._sub.queue.join()
        self.bus.unsubscribe(self._sub)
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def finish_unlogged(self, job_ids: list[int]) -> None:
        """At shutdown, ``job.finished`` for each finished job whose line was not written: a run
        cancelled at the end of the grace may report after the journal stopped listening, and
        the log must still say how every job it saw start ended."""
        for job_id in job_ids:
            if job_id in self.logged_finished:
                continue
            facts = await asyncio.to_thread(job_facts, self.db, job_id)
            if facts is not None and JobState(facts.state).finished:
                self._finished(job_id, facts)

    async def _consume(self, sub: Subscription) -> None:
        while True:
            event = await sub.get()
            try:
                await self.record(event)
            except Exception as exc:  # a log line must never take the daemon down
                if is_unavailable(exc):
                    OUTAGE.lost(exc)
                else:
                    logging.getLogger(__name__).exception("could not log %r", event)
            finally:
                sub.queue.task_done()

    async def record(self, event: Event) -> None:
        if isinstance(event, JobCreated):
            await self._created(event)
        elif isinstance(event, JobStateChanged):
            await self._job(event)
        elif isinstance(event, ServerRunStateChanged):
            self._run(event)
        elif isinstance(event, DriftChecked):
            emit("drift.checked", server=event.server, status=event.status)
        elif isinstance(event, LogLines) and self.job_lines:
            for ln in event.lines:
                emit("job.log", job=ln.job_id, server=ln.server, stream=ln.level, text=ln.text)

    async def _created(self, event: JobCreated) -> None:
        """A job this process created (the scheduler's): where it waits and in what state."""
        facts = await asyncio.to_thread(job_facts, self.db, event.job_id)
        plan, queue = (facts.plan, facts.queue) if facts else (event.plan_name, "")
        emit("job.created", job=event.job_id, plan=plan, queue=queue, state=event.state)

    async def _job(self, event: JobStateChanged) -> None:
        facts = await asyncio.to_thread(job_facts, self.db, event.job_id)
        if facts is None:
            return
        if event.state == JobState.RUNNING.value:
            emit(
                "job.started",
                job=event.job_id,
                plan=facts.plan,
                queue=facts.queue,
                simulation=facts.simulation,
            )
        elif JobState(facts.state).finished:
            self._finished(event.job_id, facts)

    def _finished(self, job_id: int, facts: JobFacts) -> None:
        self.logged_finished.add(job_id)
        level = logging.INFO if facts.state in QUIET_STATES else logging.WARNING
        if facts.state in FAILED_STATES:
            level = logging.ERROR
        summary = facts.summary
        fields: dict[str, Any] = {
            "job": job_id,
            "state": facts.state,
            "plan": facts.plan,
            "queue": facts.queue,
        }
        if summary:
            fields["runs"] = summary.get("server_runs", 0)
            for key in ("changes", "unknowns", "warnings"):
                fields[key] = summary.get(key, 0)
        if facts.error:
            fields["error"] = facts.error
        emit("job.finished", level, **fields)

    def _run(self, event: ServerRunStateChanged) -> None:
        level = logging.INFO if event.state in ("running", "succeeded") else logging.WARNING
        fields: dict[str, Any] = {
            "job": event.job_id,
            "run": event.server_run_id,
            "server": event.server or "-",
            "role": event.role or "-",
            "state": event.state,
        }
        if event.error:
            fields["error"] = event.error
        emit("run.state", level, **fields)

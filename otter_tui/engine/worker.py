"""A worker: claims jobs from its queues, runs them on the engine, keeps their leases alive.

It sleeps until there may be work (a job was created in this process, a claim found one, or the
poll interval passed, for jobs created by other processes); it never spins. At start it marks
jobs orphaned by a dead worker ``interrupted``. On stop it claims nothing more, gives running jobs
a bounded time to finish, and marks what is left ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Sequence

from sqlalchemy import select

from otter_tui.engine.runner import Engine
from otter_tui.services.claims import ClaimService
from otter_tui.services.queues import QueueBackend
from otter_tui.store.models import JobQueue

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class Worker:
    def __init__(
        self,
        engine: Engine,
        queues: Sequence[str] = ("default",),
        *,
        poll_seconds: float = 2.0,
        name: str | None = None,
        backend: QueueBackend | None = None,
    ) -> None:
        self.engine = engine
        self.ctx = engine.ctx
        self.queues = tuple(queues)
        self.poll_seconds = poll_seconds
        self.name = name or worker_name()
        self.claims = ClaimService(self.ctx, self.name, self.ctx.settings.engine.lease_seconds)
        self.backend: QueueBackend = backend or self.claims
        """Where jobs come from: ``local`` claims from the database (see services/queues.py)."""
        self.running: dict[int, asyncio.Task[object]] = {}
        self.wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        interrupted = await self.engine.dbthread.run(self.claims.recover_interrupted)
        for job_id in interrupted:
            log.warning("job=%s state=interrupted reason=orphaned-by-dead-worker", job_id)
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="worker-claims"),
            asyncio.create_task(self._lease_loop(), name="worker-leases"),
        ]

    def notify(self) -> None:
        """A job may be waiting: claim now rather than at the next poll."""
        self.wake.set()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            claimed = await self._claim_what_fits()
            if claimed:
                continue
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    async def _claim_what_fits(self) -> bool:
        open_queues = await self.engine.dbthread.run(self._queues_with_room)
        if not open_queues:
            return False
        job_id = await self.engine.dbthread.run(self.backend.claim_next, open_queues)
        if job_id is None:
            return False
        self._launch(job_id)
        return True

    def _launch(self, job_id: int) -> None:
        log.info("job=%s state=running worker=%s", job_id, self.name)
        task: asyncio.Task[object] = asyncio.create_task(
            self.engine.run_job(job_id), name=f"job-{job_id}"
        )
        self.running[job_id] = task
        task.add_done_callback(lambda _t: self._finished(job_id))

    def _finished(self, job_id: int) -> None:
        task = self.running.pop(job_id, None)
        if task is not None and not task.cancelled() and task.exception() is None:
            log.info("job=%s state=%s", job_id, getattr(task.result(), "value", task.result()))
        self.wake.set()

    def _queues_with_room(self) -> list[str]:
        """Queues where this worker runs fewer jobs than the queue's concurrency."""
        with self.ctx.db.session() as s:
            limits = dict(s.execute(select(JobQueue.name, JobQueue.concurrency)).tuples().all())
        busy: dict[str, int] = {}
        for job_id in self.running:
            active = self.engine.active.get(job_id)
            queue = active.plan.queue if active else ""
            busy[queue] = busy.get(queue, 0) + 1
        return [q for q in self.queues if busy.get(q, 0) < limits.get(q, 4)]

    async def _lease_loop(self) -> None:
        interval = max(self.ctx.settings.engine.lease_seconds / 3, 0.5)
        while True:
            await asyncio.sleep(interval)
            cancelled = await self.engine.dbthread.run(self.claims.heartbeat, list(self.running))
            for job_id in cancelled:
                if self.engine.cancel(job_id):
                    log.info("job=%s cancel=requested", job_id)

    async def stop(self, timeout: float) -> None:
        """Claim nothing more; wait up to ``timeout`` for running jobs, interrupt the rest."""
        self._stopping = True
        self.wake.set()
        if self._tasks:
            # Let a claim in flight land first: the job it took gets the grace (and is marked)
            # like the others, instead of being left running with nobody to finish it.
            await asyncio.wait({self._tasks[0]}, timeout=self.poll_seconds + 1)
        if self.running:
            await asyncio.wait(set(self.running.values()), timeout=timeout)
        left = list(self.running)
        if left:
            reason = "the worker stopped before the job finished"
            await self.engine.dbthread.run(self.claims.release_all, left, reason)
            for job_id in left:
                self.engine.cancel(job_id)
            grace = self.ctx.settings.engine.cancel_grace_seconds
            await asyncio.wait(set(self.running.values()), timeout=grace)
        for task in self._tasks:
            task.cancel()

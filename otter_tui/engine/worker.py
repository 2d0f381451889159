"""A worker: claims jobs from its queues, runs them on the engine, keeps their leases alive.

It sleeps until there may be work (a job was created in this process, a claim found one, PostgreSQL
said a job became claimable (:mod:`otter_tui.engine.wakeups`), or the poll interval passed); it
never spins. At start, and at each lease renewal, it marks jobs orphaned by a dead worker
``interrupted``. It prunes old logs and jobs in the background
(:mod:`otter_tui.engine.retention`). On stop it claims nothing more, gives running jobs
a bounded time to finish, and marks what is left ``interrupted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from sqlalchemy import select

from otter_tui.engine.leases import keep_leases
from otter_tui.engine.leases import worker_name as worker_name
from otter_tui.engine.retention import DEFAULT_INTERVAL, PeriodicPrune
from otter_tui.engine.runner import Engine
from otter_tui.engine.slicing import publish_end, run_slice
from otter_tui.engine.wakeups import listen_for_jobs, listens
from otter_tui.services.claims import ClaimService
from otter_tui.services.queues import QueueBackend
from otter_tui.services.slices import ClaimedSlice, JobEnd, SliceService
from otter_tui.store.models import JobQueue
from otter_tui.store.states import JobState

log = logging.getLogger(__name__)


class Worker:
    def __init__(
        self,
        engine: Engine,
        queues: Sequence[str] = ("default",),
        *,
        poll_seconds: float = 2.0,
        name: str | None = None,
        backend: QueueBackend | None = None,
        prune_every: float | None = DEFAULT_INTERVAL,
    ) -> None:
        """``prune_every``: seconds between retention prunes; None leaves pruning to others."""
        self.engine = engine
        self.ctx = engine.ctx
        self.queues = tuple(queues)
        self.poll_seconds = poll_seconds
        self.name = name or worker_name()
        lease = self.ctx.settings.engine.lease_seconds
        self.claims = ClaimService(self.ctx, self.name, lease)
        self.slices = SliceService(self.ctx, self.name, lease)
        """Slices of big jobs (:mod:`otter_tui.services.slices`): claimed before new jobs."""
        self.backend: QueueBackend = backend or self.claims
        """Where jobs come from: ``local`` claims from the database (see services/queues.py)."""
        self.running: dict[int, asyncio.Task[object]] = {}
        self.every_local_queue = False
        """True: serve every queue whose backend is ``local``, as read at each claim pass (so a
        queue added later is served), instead of the fixed :attr:`queues`."""
        self.queue_of: dict[int, str] = {}
        """The queue each running job was claimed from (its share of that queue's concurrency)."""
        self.parts: dict[int, tuple[ClaimedSlice, str, asyncio.Task[object]]] = {}
        """Running slices by id, with their queue (a slice takes a share as a job does)."""
        self.split_here: set[int] = set()
        """Jobs this worker split into slices and has not yet claimed a slice of: still ours
        (quitting now would leave them waiting) until a claim pass takes a slice or finds none."""
        self.wake = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.retention = (
            PeriodicPrune(self.ctx, engine.dbthread, prune_every) if prune_every else None
        )

    async def start(self) -> None:
        interrupted = await self.engine.dbthread.run(self.claims.recover_interrupted)
        for job_id in interrupted:
            log.warning("job=%s state=interrupted reason=orphaned-by-dead-worker", job_id)
        await self._recover_slices()
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="worker-claims"),
            asyncio.create_task(self._lease_loop(), name="worker-leases"),
        ]
        # The engine's own URL: with the password the opener took from the keyring, if any.
        url = self.ctx.db.engine.url.render_as_string(hide_password=False)
        if listens(url):
            wakeups = listen_for_jobs(url, lambda q: q in self.queues, self.notify, name=self.name)
            self._tasks.append(asyncio.create_task(wakeups, name="worker-wakeups"))
        if self.retention is not None:
            self._tasks.append(
                asyncio.create_task(self.retention.run_forever(), name="worker-retention")
            )

    def notify(self) -> None:
        """A job may be waiting: claim now rather than at the next poll."""
        self.wake.set()

    async def _claim_loop(self) -> None:
        while not self._stopping:
            # Cleared before the pass, not after: a wake-up that comes while it runs (a job
            # queued, a split job's slices ready, a run ended) makes one more pass at once.
            # Cleared after it, that wake-up was lost until the next poll: a console (which
            # polls rather seldom) left a big job's slices waiting.
            self.wake.clear()
            split_before = set(self.split_here)
            try:
                claimed = await self._claim_what_fits()
            except Exception:  # e.g. the database was locked for too long: try again later
                log.exception("worker %s: claiming failed", self.name)
                claimed = False
            if claimed:
                continue
            # A whole pass found no slice of the jobs split before it: others run what is left.
            self.split_here -= split_before
            if self._stopping:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), self.poll_seconds)

    async def _claim_what_fits(self) -> bool:
        """A slice of a started job first (it finishes what others began), then a new job."""
        dbthread = self.engine.dbthread
        for queue in await dbthread.run(self._queues_with_room, self._busy_queues()):
            busy, grace = sorted(self._running_parts()), self.poll_seconds
            part = await dbthread.run(self.slices.claim_next, [queue], busy, grace)
            if part is not None:
                self.split_here.discard(part.job_id)
                self._launch_slice(part, queue)
                return True
            job_id = await dbthread.run(self.backend.claim_next, [queue])
            if job_id is not None:
                self._launch(job_id, queue)
                return True
        return False

    def jobs_here(self) -> list[int]:
        """Jobs running in this worker, whole or as one or more of their slices (a job on more
        servers than ``jobs.slice_size`` runs only as slices), or just split here and waiting
        for this worker's next claim: what stopping would interrupt. Leases are kept for these.
        """
        return sorted({*self._running_parts(), *self.split_here})

    def _running_parts(self) -> set[int]:
        """Jobs with a task here: a claim pass leaves their other slices to other workers for a
        while (a job only split here is not one: its first slice is this worker's to take).

        Safe from another thread (the console's UI asks while the engine runs on a thread of its
        own): the dicts are copied in C, under the GIL, before they are read."""
        parts = list(self.parts.values())
        return {*self.running, *(part.job_id for part, _, _ in parts)}

    def _launch_slice(self, part: ClaimedSlice, queue: str) -> None:
        log.info("job=%s slice=%s state=running worker=%s", part.job_id, part.number, self.name)
        task: asyncio.Task[object] = asyncio.create_task(
            run_slice(self.engine, self.slices, part), name=f"job-{part.job_id}-{part.number}"
        )
        self.parts[part.id] = (part, queue, task)
        task.add_done_callback(lambda _t: self._slice_finished(part))

    def _slice_finished(self, part: ClaimedSlice) -> None:
        _, _, task = self.parts.pop(part.id)
        if not task.cancelled() and task.exception() is not None:
            log.error(
                "job=%s slice=%s crashed", part.job_id, part.number, exc_info=task.exception()
            )
        elif not task.cancelled() and isinstance(end := task.result(), JobEnd):
            log.info("job=%s state=%s slices=ended", end.job_id, end.state.value)
        self.wake.set()

    def _launch(self, job_id: int, queue: str) -> None:
        log.info("job=%s state=running worker=%s", job_id, self.name)
        size = self.ctx.settings.jobs.slice_size
        task: asyncio.Task[object] = asyncio.create_task(
            self.engine.run_job(job_id, slice_size=size), name=f"job-{job_id}"
        )
        self.running[job_id] = task
        self.queue_of[job_id] = queue
        task.add_done_callback(lambda _t: self._finished(job_id))

    def _finished(self, job_id: int) -> None:
        task = self.running.pop(job_id, None)
        self.queue_of.pop(job_id, None)
        if task is not None and not task.cancelled():
            if task.exception() is not None:
                log.error("job=%s crashed", job_id, exc_info=task.exception())
            elif (state := task.result()) is JobState.RUNNING:
                log.info("job=%s state=running slices=split", job_id)
                self.split_here.add(job_id)  # its slices are claimed from the next pass on
            else:
                log.info("job=%s state=%s", job_id, getattr(state, "value", ""))
        self.wake.set()

    def _busy_queues(self) -> dict[str, int]:
        """How many jobs and slices run here from each queue. Counted on the event loop, which
        alone changes :attr:`queue_of` and :attr:`parts` (a run's end does): iterated on the
        database thread, they could change size meanwhile."""
        busy: dict[str, int] = {}
        for queue in [*self.queue_of.values(), *(q for _, q, _ in self.parts.values())]:
            busy[queue] = busy.get(queue, 0) + 1
        return busy

    def _queues_with_room(self, busy: dict[str, int]) -> list[str]:
        """On the database thread: queues where this worker runs fewer jobs (``busy``) than the
        queue's concurrency, and that no other process serves in its stead
        (:meth:`QueueBackend.yields`)."""
        with self.ctx.db.session() as s:
            query = select(JobQueue.name, JobQueue.concurrency, JobQueue.backend)
            rows = list(s.execute(query.order_by(JobQueue.id)))
        limits = {name: concurrency for name, concurrency, _backend in rows}
        if self.every_local_queue:
            self.queues = tuple(name for name, _c, backend in rows if backend == "local")
        room = [q for q in self.queues if busy.get(q, 0) < limits.get(q, 4)]
        return [q for q in room if not self.backend.yields(q)]

    async def _lease_loop(self) -> None:
        await keep_leases(self.claims, self.engine, self.jobs_here, on_renew=self._renew_slices)

    async def _renew_slices(self) -> None:
        """Renew our slices' leases, keep sliced jobs of our queues alive, end dead ones' slices."""
        try:
            await self.engine.dbthread.run(self.slices.heartbeat, list(self.parts), self.queues)
        except Exception:  # a lease outlives a few missed beats
            log.exception("worker %s: slice lease renewal failed", self.name)
        await self._recover_slices()

    async def _recover_slices(self) -> None:
        try:
            ends = await self.engine.dbthread.run(self.slices.recover)
        except Exception:  # the next renewal tries again
            log.exception("worker %s: looking for orphaned slices failed", self.name)
            return
        await self._ended(ends, "orphaned-slice")

    async def _ended(self, ends: list[JobEnd], reason: str) -> None:
        for end in ends:
            log.warning("job=%s state=%s reason=%s", end.job_id, end.state.value, reason)
            await publish_end(self.engine, end)

    async def stop(self, timeout: float) -> None:
        """Claim nothing more; wait up to ``timeout`` for running jobs, interrupt the rest."""
        self._stopping = True
        self.wake.set()
        if self._tasks:
            # Let a claim in flight land first: the job it took gets the grace (and is marked)
            # like the others, instead of being left running with nobody to finish it.
            await asyncio.wait({self._tasks[0]}, timeout=self.poll_seconds + 1)
        tasks = self._all_tasks()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
        await self._release_slices()
        left = list(self.running)
        if left:
            reason = "the worker stopped before the job finished"
            await self.engine.dbthread.run(self.claims.release_all, left, reason)
            for job_id in left:
                self.engine.cancel(job_id)
        if self._all_tasks():
            grace = self.ctx.settings.engine.cancel_grace_seconds
            await asyncio.wait(self._all_tasks(), timeout=grace)
        for task in self._tasks:
            task.cancel()

    def _all_tasks(self) -> set[asyncio.Task[object]]:
        return {*self.running.values(), *(task for _, _, task in self.parts.values())}

    async def _release_slices(self) -> None:
        """Slices still running at the end of the grace: interrupted, and their jobs cancelled
        here so their runs stop (other workers' slices of those jobs go on)."""
        parts = [part for part, _, _ in self.parts.values()]
        if not parts:
            return
        reason = f"worker {self.name} stopped before its slice finished"
        ends = await self.engine.dbthread.run(self.slices.release, [p.id for p in parts], reason)
        await self._ended(ends, "worker-stopped")
        for part in parts:
            self.engine.cancel(part.job_id)

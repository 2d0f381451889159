"""Running jobs and schedules in the console's own process, unless a daemon does.

When no daemon is alive, the console is what runs jobs: its worker claims queued jobs (the ones
it created, and any other process's), exactly as the daemon's would, since a claim is atomic
whoever makes it. Before every claim it looks for a live daemon serving the queue (the daemon's
presence row, :mod:`otter_tui.services.presence`): while there is one it claims nothing and only
runs what must run here, a job with sensitive variables, whose values exist only in this
process's memory; when the daemon goes away it claims again at the next poll. On exit the worker
stops: running jobs get a short time to finish and whatever is left is marked ``interrupted``,
never silently re-run.

The console's scheduler (:func:`console_scheduler`) likewise leads only while no daemon with a
scheduler is alive; :func:`status_line` says who schedules, for the header.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from otter_tui.errors import UsageError
from otter_tui.events import EventBus

if TYPE_CHECKING:
    from otter_tui.engine.runner import Engine
    from otter_tui.engine.worker import Worker
    from otter_tui.runtime import Runtime
    from otter_tui.scheduler import Scheduler
    from otter_tui.services.claims import ClaimService
    from otter_tui.services.jobs import JobService

log = logging.getLogger(__name__)

STOP_SECONDS = 2.0
"""On exit, how long running jobs get to finish before they are marked interrupted."""


class DaemonAwareClaims:
    """The console worker's queue backend: claims, except from a queue a live daemon serves."""

    def __init__(self, claims: ClaimService, jobs: JobService) -> None:
        self.claims = claims
        self.jobs = jobs
        self.daemons: dict[str, str | None] = {}
        """Each queue asked about -> the live daemon serving it at the last poll (None: none)."""

    @property
    def daemon(self) -> str | None:
        """A live daemon serving one of the console's queues, as last seen; None: none."""
        return next(filter(None, self.daemons.values()), None)

    def claim_next(self, queues: Sequence[str]) -> int | None:
        free = [q for q in queues if not self.yields(q)]
        return self.claims.claim_next(free) if free else None

    def yields(self, queue: str) -> bool:
        """A live daemon serves ``queue``: its jobs, and the slices of jobs it split, are its."""
        return self._daemon_of(queue) is not None

    def _daemon_of(self, queue: str) -> str | None:
        """On the database thread: replaces :attr:`daemons` whole, never changes it in place,
        so the UI thread, iterating it for the header, never sees it change size."""
        holder = self.jobs.daemon_holder(queue)
        self.daemons = {**self.daemons, queue: holder}
        return holder


class ConsoleRunner:
    """The console's engine and worker; started and stopped by the app.

    The engine, the claims and the worker are built on first use (normally :meth:`start`, which
    the app calls after its first frame): importing the engine pulls in asyncssh and the
    transports, which the console does not need to paint. Until then nothing runs here, so
    :attr:`running` is empty and :meth:`notify` has nothing to wake (the worker claims at once
    when it starts).
    """

    def __init__(
        self, runtime: Runtime, bus: EventBus, *, poll: bool = True, poll_seconds: float = 2.0
    ) -> None:
        self.runtime = runtime
        self.bus = bus
        self.claims_queues = poll
        """False: only jobs handed over with :meth:`launch` run here, never queued ones."""
        self.poll_seconds = poll_seconds
        self.problem: str | None = None
        """A queue named in ``[console] queues`` that cannot be served, in one line; None: none."""
        self._started = False
        self._loop: asyncio.AbstractEventLoop | None = None
        """The loop :meth:`start` ran on: the engine's objects are its (``screens.engine_thread``
        puts it on a thread of its own; the UI's calls are handed to it)."""

    @cached_property
    def engine(self) -> Engine:
        """Executes the jobs this process claimed."""
        from otter_tui.engine.runner import Engine

        return Engine(self.runtime.ctx, self.bus, plans=self.runtime.plans, warm=True)

    @cached_property
    def name(self) -> str:
        from otter_tui.engine.worker import worker_name

        return worker_name()

    @cached_property
    def claims(self) -> DaemonAwareClaims:
        """Where the worker's claims go; it knows whether a daemon runs the jobs instead."""
        from otter_tui.services.claims import ClaimService

        lease = self.runtime.settings.engine.lease_seconds
        return DaemonAwareClaims(
            ClaimService(self.runtime.ctx, self.name, lease), self.runtime.jobs
        )

    @cached_property
    def worker(self) -> Worker:
        """Claims queued jobs (when polling, no daemon serving) and keeps running leases alive."""
        from otter_tui.engine.worker import Worker

        worker = Worker(
            self.engine,
            self.configured if self.claims_queues else (),
            poll_seconds=self.poll_seconds,
            name=self.name,
            backend=self.claims,
        )
        worker.every_local_queue = self.claims_queues and not self.configured
        return worker

    def _built(self, part: str) -> bool:
        """Whether ``part`` (a cached property) exists yet, without building it."""
        return part in self.__dict__

    @property
    def configured(self) -> tuple[str, ...]:
        """The queues ``[console] queues`` names; empty: every local queue."""
        return self.runtime.settings.console.queues

    @property
    def queues(self) -> tuple[str, ...]:
        """The queues this console's worker claims from (known once it has started)."""
        return self.worker.queues if self._built("worker") else self.configured

    @property
    def poll(self) -> bool:
        """True while this console claims queued jobs: it may, and a daemon does not serve
        every queue it would claim from."""
        daemons = self.claims.daemons.values() if self._built("claims") else ()
        return self.claims_queues and (not daemons or None in daemons)

    @property
    def daemon(self) -> str | None:
        """The daemon running the queued jobs instead of this console, as last seen."""
        return self.claims.daemon if self._built("claims") else None

    @property
    def running(self) -> list[int]:
        """Ids of the jobs running in this process, whole or as slices (what quitting would
        interrupt)."""
        return self.worker.jobs_here() if self._built("worker") else []

    def run_on(self, loop: asyncio.AbstractEventLoop) -> None:
        """Build and run everything on ``loop`` (the engine's thread's), from now on: a job
        launched before :meth:`start` has finished goes there too."""
        self._loop = loop

    def _on_loop(self) -> bool:
        """The caller runs on the engine's loop (or nothing has started yet)."""
        if self._loop is None:
            return True
        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:  # a thread with no loop
            return False

    def _soon(self, fn: Callable[..., object], *args: object) -> None:
        """``fn(*args)`` on the engine's loop: now if the caller is on it, else handed over."""
        if self._on_loop():
            fn(*args)
        else:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(fn, *args)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Import the engine off the event loop: the console has painted and stays responsive.
        await asyncio.to_thread(_import_engine)
        if self.claims_queues and self.configured:
            self.worker.queues = await asyncio.to_thread(self._known_queues)
        await self.engine.start()
        await self.worker.start()
        self._started = True

    def _known_queues(self) -> tuple[str, ...]:
        """The configured queues that exist with the ``local`` backend; a bad name is kept in
        :attr:`problem` (the app shows it) and left out, so the console still opens."""
        from otter_tui.services.queues import QueueService

        queues = QueueService(self.runtime.ctx)
        try:
            return queues.local(self.configured)
        except UsageError as error:
            self.problem = f"config console.queues: {error}"
            local = set(queues.local())
            return tuple(q for q in self.configured if q in local)

    def notify(self) -> None:
        """A job was queued: claim it now rather than at the next poll."""
        if self.claims_queues and self._built("worker"):
            self._soon(self.worker.notify)

    def claim(self, job_id: int) -> bool:
        """Blocking: claim one job by id for :meth:`launch` (call it from a thread worker)."""
        return self.worker.claims.claim(job_id)

    def launch(self, job_id: int, secrets: Mapping[str, Any]) -> None:
        """Run a job claimed with :meth:`claim`, with the sensitive values only this process has."""
        self._soon(self._launch, job_id, dict(secrets))

    def _launch(self, job_id: int, secrets: Mapping[str, Any]) -> None:
        task: asyncio.Task[object] = asyncio.create_task(
            self.engine.run_job(job_id, secrets), name=f"job-{job_id}"
        )
        self.worker.running[job_id] = task
        task.add_done_callback(lambda _task: self._finished(job_id))

    def _finished(self, job_id: int) -> None:
        self.worker.running.pop(job_id, None)
        self.worker.wake.set()

    def cancel(self, job_id: int) -> bool:
        """Stop a job running here at once (the service only flags it); False if not ours."""
        if not self._built("engine"):
            return False
        if self._on_loop():
            return self.engine.cancel(job_id)
        ours = job_id in self.running
        self._soon(self.engine.cancel, job_id)
        return ours

    async def stop(self, timeout: float = STOP_SECONDS) -> None:
        """Claim nothing more, give running jobs ``timeout`` seconds, interrupt the rest."""
        if not self._started:
            return
        self._started = False
        left = self.running
        if left:
            log.warning("console exiting with running jobs %s", left)
        await self.worker.stop(timeout)
        await self.engine.close()


def _import_engine() -> None:
    importlib.import_module("otter_tui.engine.runner")
    importlib.import_module("otter_tui.engine.worker")


def console_runner(runtime: Runtime, bus: EventBus) -> ConsoleRunner:
    """A runner that claims from the queue whenever no daemon serves it (checked every poll)."""
    return ConsoleRunner(runtime, bus, poll_seconds=runtime.settings.daemon.poll_seconds)


def console_scheduler(
    runtime: Runtime, bus: EventBus, on_job_created: Callable[[], None]
) -> Scheduler:
    """The console's scheduler: leads only while no daemon runs one (``defer_to_daemon``)."""
    from otter_tui.scheduler import Scheduler

    holder = f"console:{socket.gethostname()}:{os.getpid()}"
    return Scheduler(
        runtime, holder=holder, bus=bus, on_job_created=on_job_created, defer_to_daemon=True
    )


def status_line(scheduler: Scheduler | None, runner: ConsoleRunner | None) -> str:
    """Who schedules (and, if it differs, who runs queued jobs), as the header shows it."""
    parts = []
    if scheduler is not None:
        parts.append(f"scheduler: {scheduler_owner(scheduler)}")
    daemon = runner.daemon if runner is not None else None
    if daemon is not None and (scheduler is None or scheduler.daemon != daemon):
        parts.append(f"jobs: daemon {daemon}")
    return " · ".join(parts)


def scheduler_owner(scheduler: Scheduler) -> str:
    if scheduler.is_leader:
        return "this console"
    if scheduler.daemon is not None:
        return f"daemon {scheduler.daemon}"
    if scheduler.leader is not None:
        return scheduler.leader.replace("console:", "console ", 1)
    return "nobody yet"

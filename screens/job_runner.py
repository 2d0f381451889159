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

from otter_tui.events import EventBus
from otter_tui.runtime import Runtime

if TYPE_CHECKING:
    from otter_tui.engine.runner import Engine
    from otter_tui.engine.worker import Worker
    from otter_tui.scheduler import Scheduler
    from otter_tui.services.claims import ClaimService
    from otter_tui.services.jobs import JobService

log = logging.getLogger(__name__)

STOP_SECONDS = 2.0
"""On exit, how long running jobs get to finish before they are marked interrupted."""


class DaemonAwareClaims:
    """The console worker's queue backend: claims, except while a daemon serves the queue."""

    def __init__(self, claims: ClaimService, jobs: JobService) -> None:
        self.claims = claims
        self.jobs = jobs
        self.daemon: str | None = None
        """The live daemon serving the console's queues, as seen at the last poll; None: none."""

    def claim_next(self, queues: Sequence[str]) -> int | None:
        self.daemon = next(filter(None, map(self.jobs.daemon_holder, queues)), None)
        return None if self.daemon is not None else self.claims.claim_next(queues)


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
        self._started = False

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

        queues = ("default",) if self.claims_queues else ()
        return Worker(
            self.engine,
            queues,
            poll_seconds=self.poll_seconds,
            name=self.name,
            backend=self.claims,
        )

    def _built(self, part: str) -> bool:
        """Whether ``part`` (a cached property) exists yet, without building it."""
        return part in self.__dict__

    @property
    def poll(self) -> bool:
        """True while this console claims queued jobs: it may, and no daemon serves its queue."""
        return self.claims_queues and self.daemon is None

    @property
    def daemon(self) -> str | None:
        """The daemon running the queued jobs instead of this console, as last seen."""
        return self.claims.daemon if self._built("claims") else None

    @property
    def running(self) -> list[int]:
        """Ids of the jobs running in this process."""
        return sorted(self.worker.running) if self._built("worker") else []

    async def start(self) -> None:
        # Import the engine off the event loop: the console has painted and stays responsive.
        await asyncio.to_thread(_import_engine)
        await self.engine.start()
        await self.worker.start()
        self._started = True

    def notify(self) -> None:
        """A job was queued: claim it now rather than at the next poll."""
        if self.claims_queues and self._built("worker"):
            self.worker.notify()

    def claim(self, job_id: int) -> bool:
        """Blocking: claim one job by id for :meth:`launch` (call it from a thread worker)."""
        return self.worker.claims.claim(job_id)

    def launch(self, job_id: int, secrets: Mapping[str, Any]) -> None:
        """Run a job claimed with :meth:`claim`, with the sensitive values only this process has."""
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
        return self._built("engine") and self.engine.cancel(job_id)

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

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
import logging
import os
import socket
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker, worker_name
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
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
    """The console's engine and worker; started and stopped by the app."""

    def __init__(
        self, runtime: Runtime, bus: EventBus, *, poll: bool = True, poll_seconds: float = 2.0
    ) -> None:
        self.engine = Engine(runtime.ctx, bus, plans=runtime.plans)
        """Executes the jobs this process claimed."""
        self.claims_queues = poll
        """False: only jobs handed over with :meth:`launch` run here, never queued ones."""
        queues = ("default",) if poll else ()
        name = worker_name()
        lease = runtime.settings.engine.lease_seconds
        self.claims = DaemonAwareClaims(ClaimService(runtime.ctx, name, lease), runtime.jobs)
        """Where the worker's claims go; it knows whether a daemon runs the jobs instead."""
        self.worker = Worker(
            self.engine, queues, poll_seconds=poll_seconds, name=name, backend=self.claims
        )
        """Claims queued jobs (when polling, no daemon serving) and keeps running leases alive."""
        self._started = False

    @property
    def poll(self) -> bool:
        """True while this console claims queued jobs: it may, and no daemon serves its queue."""
        return self.claims_queues and self.daemon is None

    @property
    def daemon(self) -> str | None:
        """The daemon running the queued jobs instead of this console, as last seen."""
        return self.claims.daemon

    @property
    def running(self) -> list[int]:
        """Ids of the jobs running in this process."""
        return sorted(self.worker.running)

    async def start(self) -> None:
        await self.engine.start()
        await self.worker.start()
        self._started = True

    def notify(self) -> None:
        """A job was queued: claim it now rather than at the next poll."""
        if self.claims_queues:
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
        return self.engine.cancel(job_id)

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


def console_runner(runtime: Runtime, bus: EventBus) -> ConsoleRunner:
    """A runner that claims from the queue whenever no daemon serves it (checked every poll)."""
    return ConsoleRunner(runtime, bus, poll_seconds=runtime.settings.daemon.poll_seconds)


def console_scheduler(
    runtime: Runtime, bus: EventBus, on_job_created: Callable[[], None]
) -> Scheduler:
    """The console's scheduler: leads only while no daemon runs one (``defer_to_daemon``)."""
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

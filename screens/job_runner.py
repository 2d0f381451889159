"""Running jobs in the console's own process: an engine and a worker on the app's event loop.

When no daemon holds its lease, the console is what runs jobs: its worker claims queued jobs
(the ones it created, and any other process's), exactly as the daemon's would, since a claim is
atomic whoever makes it. When a daemon is running, the worker claims nothing on its own and the
console only runs what must run here: a job with sensitive variables, whose values exist only in
this process's memory. On exit the worker stops: running jobs get a short time to finish and
whatever is left is marked ``interrupted``, never silently re-run.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime

log = logging.getLogger(__name__)

STOP_SECONDS = 2.0
"""On exit, how long running jobs get to finish before they are marked interrupted."""


class ConsoleRunner:
    """The console's engine and worker; started and stopped by the app."""

    def __init__(
        self, runtime: Runtime, bus: EventBus, *, poll: bool = True, poll_seconds: float = 2.0
    ) -> None:
        self.engine = Engine(runtime.ctx, bus, plans=runtime.plans)
        """Executes the jobs this process claimed."""
        self.poll = poll
        """False when a daemon runs jobs: only jobs handed over with :meth:`launch` run here."""
        queues = ("default",) if poll else ()
        self.worker = Worker(self.engine, queues, poll_seconds=poll_seconds)
        """Claims queued jobs (when polling) and keeps the leases of running ones alive."""
        self._started = False

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
        if self.poll:
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
    """Blocking: a runner that polls the queue unless a daemon is running jobs already."""
    return ConsoleRunner(runtime, bus, poll=runtime.jobs.daemon_holder() is None)

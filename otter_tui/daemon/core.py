"""The headless daemon: workers (and the scheduler) with no console, driven by signals.

- start: announce this daemon (its presence row, :mod:`otter_tui.daemon.beacon`), start the
  engine, one worker for the served queues, the scheduler;
- SIGHUP: reload config.toml and the plan files (:mod:`otter_tui.daemon.reload`);
- SIGTERM / SIGINT: stop the scheduler, withdraw the presence row (a console takes over
  scheduling and claiming at once), claim nothing more, give running jobs
  ``daemon.shutdown_grace_seconds`` to finish, cancel and mark the rest ``interrupted``, exit 0.

Everything it says goes to stdout as logfmt (:mod:`otter_tui.logfmt`). It never imports
Textual or Rich.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select

from otter_tui import __version__
from otter_tui.api_settings import Bind
from otter_tui.config import Settings
from otter_tui.daemon.beacon import PresenceBeacon
from otter_tui.daemon.journal import Journal, LoggedClaims
from otter_tui.daemon.reload import reload_settings
from otter_tui.daemon.scheduler_hook import SchedulerLike, build_scheduler
from otter_tui.daemon.sdnotify import notify, watchdog
from otter_tui.engine.runner import Engine
from otter_tui.engine.transports import TransportFactory
from otter_tui.engine.worker import Worker, worker_name
from otter_tui.events import EventBus
from otter_tui.heap import settle_for_long_run
from otter_tui.logfmt import emit
from otter_tui.runtime import Runtime
from otter_tui.scheduler.clock import Clock, SystemClock
from otter_tui.services.claims import ClaimService
from otter_tui.services.queues import QueueService
from otter_tui.store.models import Job

if TYPE_CHECKING:
    from otter_tui.api.threaded import ThreadedApi

LEADER_CHECK_SECONDS = 1.0
SCHEDULER_STOP_SECONDS = 10.0


@dataclass(frozen=True)
class DaemonOptions:
    queues: tuple[str, ...] = ()
    """Serve only these queues; empty: every queue whose backend is ``local``."""
    scheduler: bool = True
    """Run the scheduler (it still defers to another leader on the same database)."""
    job_lines: bool = False
    """Also log every line of every job's log (they are always stored)."""
    api: Bind | None = None
    """Also serve the HTTP API on this address (see docs/api.md)."""


def served_queues(runtime: Runtime, names: Sequence[str]) -> tuple[str, ...]:
    """The queues this daemon's local worker claims from; unknown or foreign ones are refused."""
    return QueueService(runtime.ctx).local(names)


class Daemon:
    """One daemon process. ``await run()`` returns the exit code."""

    def __init__(
        self,
        runtime: Runtime,
        options: DaemonOptions | None = None,
        *,
        transports: TransportFactory | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.runtime = runtime
        self.options = options or DaemonOptions()
        self.queues = served_queues(runtime, self.options.queues)
        self.bus = EventBus()
        self._own_transports = transports is None
        self.engine = Engine(
            runtime.ctx, self.bus, plans=runtime.plans, transports=transports, warm=True
        )
        self.journal = Journal(runtime.db, self.bus, job_lines=self.options.job_lines)
        self.worker = self._worker(worker_name())
        self.beacon = self._beacon(clock or SystemClock(runtime.ctx.clock))
        self.scheduler: SchedulerLike | None = None
        self.api: ThreadedApi | None = None
        self.exit_code = 0
        self._stop_reason = "stopped"
        self._stop = asyncio.Event()
        self._scheduler_stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._reloading = asyncio.Lock()

    def _worker(self, name: str) -> Worker:
        """The local worker; its claims are logged (``job.claimed``)."""
        lease = self.runtime.settings.engine.lease_seconds
        claims = LoggedClaims(ClaimService(self.runtime.ctx, name, lease), self.runtime.db, name)
        poll = self.runtime.settings.daemon.poll_seconds
        return Worker(self.engine, self.queues, poll_seconds=poll, name=name, backend=claims)

    def _beacon(self, clock: Clock) -> PresenceBeacon:
        """This daemon's presence row, named like its worker (``host:pid``)."""
        return PresenceBeacon(
            self.runtime.db,
            self.worker.name,
            scheduler=self.options.scheduler,
            queues=lambda: self.queues,
            length=timedelta(seconds=self.settings.scheduler.lease_seconds),
            clock=clock,
        )

    @property
    def settings(self) -> Settings:
        return self.runtime.ctx.settings

    async def run(self) -> int:
        """Start, serve until a stop signal, shut down; the process exit code."""
        self._install_signals()
        try:
            await self.start()
            try:
                await self._stop.wait()
            finally:
                await self.shutdown()
        finally:
            self._remove_signals()
        return self.exit_code

    def request_stop(self, reason: str) -> None:
        if self._stop.is_set():
            emit("daemon.stopping", reason=reason, note="already stopping")
            return
        self._stop_reason = reason
        self._stop.set()

    def request_reload(self) -> None:
        self._tasks.append(asyncio.create_task(self.reload(), name="daemon-reload"))

    # start ------------------------------------------------------------------------------------

    async def start(self) -> None:
        # The API first: an address in use is refused before this daemon announces itself or
        # claims a job it would then leave to its lease's expiry.
        await self._start_api()
        await self.beacon.start()
        await self.engine.start()
        self.journal.start()
        await self.worker.start()
        self._start_scheduler()
        emit(
            "daemon.started",
            version=__version__,
            pid=os.getpid(),
            worker=self.worker.name,
            queues=self.queues,
            scheduler=self._scheduler_state(),
            config=self.settings.source or "defaults",
            grace=self.settings.daemon.shutdown_grace_seconds,
        )
        notify(f"READY=1\nSTATUS=serving queues {','.join(self.queues) or 'none'}")
        settle_for_long_run(freeze=True)
        self._tasks.append(asyncio.create_task(watchdog(self._stop), name="daemon-watchdog"))

    async def _start_api(self) -> None:
        """The HTTP API on a loop of its own (:mod:`otter_tui.api.threaded`: its responses and
        streams do not wait for the SSH sessions on this one); imported only when asked, so a
        plain daemon stays lean."""
        if self.options.api is None:
            return
        from otter_tui.api.threaded import ThreadedApi

        api = ThreadedApi(self.runtime, self.options.api)
        await api.start()
        self.api = api

    def _scheduler_state(self) -> str:
        return "on" if self.scheduler is not None else "off"

    def _start_scheduler(self) -> None:
        if not self.options.scheduler:
            return
        self.scheduler = build_scheduler(
            self.runtime, self.bus, self.worker.name, self.worker.notify
        )
        task = asyncio.create_task(self.scheduler.run(self._scheduler_stop), name="scheduler")
        task.add_done_callback(self._scheduler_ended)
        self._tasks.append(task)
        self._tasks.append(asyncio.create_task(self._watch_leadership(), name="daemon-leader"))

    def _scheduler_ended(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self._scheduler_stop.is_set():
            return
        exc = task.exception()
        emit("scheduler.crashed", logging.ERROR, error=repr(exc) if exc else "returned early")
        self.exit_code = 1
        self.request_stop("scheduler-crashed")

    async def _watch_leadership(self) -> None:
        """Log each change of leadership (whether this daemon's scheduler creates the jobs)."""
        leader = False
        while not self._scheduler_stop.is_set() and self.scheduler is not None:
            now = bool(self.scheduler.is_leader)
            if now != leader:
                emit("scheduler.leader", state="acquired" if now else "released")
                leader = now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._scheduler_stop.wait(), LEADER_CHECK_SECONDS)
        if leader:
            emit("scheduler.leader", state="released")

    def _install_signals(self) -> None:
        """POSIX only: elsewhere Ctrl-C still interrupts, without the graceful stop."""
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.request_stop, sig.name)
            loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    def _remove_signals(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError):
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    # reload -----------------------------------------------------------------------------------

    async def reload(self) -> None:
        """Re-read config.toml and the plan files; a bad file changes nothing."""
        async with self._reloading:
            path = self.settings.source
            result = await asyncio.to_thread(reload_settings, self.settings, path)
            if result.error:
                emit("config.reload_failed", logging.ERROR, path=path, error=result.error)
                return
            old_ssh = self.settings.ssh
            self._apply(result.settings)
            if self._own_transports and result.settings.ssh != old_ssh:
                await self.engine.use_ssh_settings(result.settings)
            emit(
                "config.reloaded",
                path=path,
                changed=result.changed or "none",
                restart_needed=result.restart_needed or "none",
            )
            await self._sync_plans()
            await self._refresh_queues()
            if self.scheduler is not None:
                self.scheduler.wake()  # look at schedules (and plans) again now

    def _apply(self, new: Settings) -> None:
        self.runtime.settings = self.runtime.ctx.settings = new

    async def _sync_plans(self) -> None:
        report = await asyncio.to_thread(self.runtime.plans.sync, audit=False)
        emit(
            "plans.synced",
            created=report.created or "none",
            uninstalled=report.uninstalled or "none",
            errors=len(report.errors),
        )
        for error in report.errors:
            emit("plans.load_error", logging.WARNING, error=str(error))

    async def _refresh_queues(self) -> None:
        """Serving every queue: pick up queues added (or removed) since the start."""
        if self.options.queues:
            return
        queues = await asyncio.to_thread(served_queues, self.runtime, ())
        if queues != self.queues:
            self.queues = self.worker.queues = queues
            emit("queues.served", queues=queues)

    # stop -------------------------------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop creating and claiming jobs; running ones get the grace, the rest are marked."""
        grace = self.settings.daemon.shutdown_grace_seconds
        running = sorted(self.worker.running)
        emit("daemon.stopping", reason=self._stop_reason, grace=grace, running=running or "none")
        notify("STOPPING=1")
        if self.api is not None:
            await self.api.stop()
        await self._stop_scheduler()
        await self.beacon.stop()
        await self.worker.stop(grace)
        await self.journal.close()
        for task in self._tasks:
            task.cancel()
        await self.engine.close()
        await self.journal.finish_unlogged(running)
        states = await asyncio.to_thread(job_states, self.runtime, running)
        interrupted = [j for j, state in states.items() if state == "interrupted"]
        emit(
            "daemon.stopped",
            jobs=running or "none",
            interrupted=interrupted or "none",
            exit=self.exit_code,
        )

    async def _stop_scheduler(self) -> None:
        self._scheduler_stop.set()
        pending = [t for t in self._tasks if t.get_name() == "scheduler" and not t.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=SCHEDULER_STOP_SECONDS)
            for task in late:
                emit("scheduler.stop_timeout", logging.WARNING, seconds=SCHEDULER_STOP_SECONDS)
                task.cancel()


def job_states(runtime: Runtime, job_ids: Sequence[int]) -> dict[int, str]:
    if not job_ids:
        return {}
    with runtime.db.session() as s:
        rows = s.execute(select(Job.id, Job.state).where(Job.id.in_(list(job_ids)))).all()
        return {job_id: state.value for job_id, state in rows}

"""The console's background work: its job runner and its scheduler, started after the first frame.

The app owns their lives through :class:`Background`: they start once the first frame is painted
(so the console shows up before the engine is even imported) and stop on exit (the scheduler lets
its lease go at once). The header's sub-title says who schedules: ``scheduler: this console`` or
``scheduler: daemon host:pid``.

In the console (``threaded``) they run on an event loop of their own, on a thread
(:mod:`screens.engine_thread`), with the bridge that brings their events to the screens: a job's
SSH sessions never hold up a key press. Tests that drive the runner from the app's loop build
it unthreaded.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from screens.engine_thread import EngineThread
from screens.job_runner import ConsoleRunner, status_line

if TYPE_CHECKING:
    from otter_tui.scheduler import Scheduler

SCHEDULER_STOP_SECONDS = 5.0
"""On exit, how long the scheduler gets to finish its pass and release its lease."""


class Background:
    """The runner (jobs run here) and the scheduler (schedules fire here) of one console."""

    def __init__(
        self,
        runner: ConsoleRunner | None,
        scheduler: Scheduler | None,
        make_scheduler: Callable[[], Scheduler] | None,
        *,
        threaded: bool = False,
    ) -> None:
        self.threaded = threaded
        """Run on an event loop of their own (:attr:`thread`) rather than the app's."""
        self.thread: EngineThread | None = None
        self.runner = runner
        """Runs jobs in this process; None: none run here."""
        self.scheduler = scheduler
        """Creates jobs from schedules while no daemon does; None: never."""
        self._make_scheduler = make_scheduler
        """Builds :attr:`scheduler` on start, when none was given (it imports the scheduler, the
        job service and the cron parser, which the first frame does not need)."""
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> bool:
        """Something runs here (jobs or schedules): the header shows who does."""
        return self.scheduler is not None or self.runner is not None

    def _engine_thread(self) -> EngineThread:
        if self.thread is None:
            self.thread = EngineThread()
            if self.runner is not None:
                self.runner.run_on(self.thread.loop)
        return self.thread

    def spawn(self, coro: Coroutine[Any, Any, object], name: str) -> None:
        """Run ``coro`` beside the runner, on the engine's thread (``threaded`` only): the
        bridge that turns the bus's events into the app's messages."""
        self._engine_thread().spawn(coro, name)

    async def start(self) -> None:
        """Start the runner, then the scheduler (built now if it was not given)."""
        if self.threaded:
            await self._engine_thread().run(self._start_here())
        else:
            await self._start_here()

    async def _start_here(self) -> None:
        if self.runner is not None:
            await self.runner.start()
        if self.scheduler is None and self._make_scheduler is not None:
            self.scheduler = self._make_scheduler()
        if self.scheduler is not None:
            self._stop.clear()
            self._task = asyncio.create_task(
                self.scheduler.run(self._stop), name="console-scheduler"
            )

    async def stop(self) -> None:
        """Stop scheduling (releasing the lease, so a daemon need not wait), then the runner;
        then the engine's thread, if they ran on one."""
        thread, self.thread = self.thread, None
        if thread is None:
            await self._stop_here()
            return
        try:
            await thread.run(self._stop_here())
        finally:
            await thread.close()

    async def _stop_here(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            self._stop.set()
            _done, late = await asyncio.wait({task}, timeout=SCHEDULER_STOP_SECONDS)
            for pending in late:
                pending.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pending
        if self.runner is not None:
            await self.runner.stop()

    def status(self) -> str:
        """Who schedules and runs queued jobs, for the header ("" when nothing runs here)."""
        return status_line(self.scheduler, self.runner)

    def running(self) -> list[int]:
        """The jobs running in this console now."""
        return self.runner.running if self.runner is not None else []

"""Where the daemon plugs in the scheduler (cron and ``--at`` jobs -> job rows).

The scheduler package (``otter_tui.scheduler``) is built separately; the daemon needs only the
small surface below. :func:`build_scheduler` is the one place that knows how to construct it:
it returns None while the package (or its ``Scheduler``) does not exist, and the daemon then runs
workers only and says so in its start-up line (``scheduler=absent``).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any, Protocol

from otter_tui.events import EventBus
from otter_tui.runtime import Runtime


class SchedulerLike(Protocol):
    """What the daemon uses of a scheduler."""

    @property
    def is_leader(self) -> bool:
        """True while this scheduler holds the leader lease (the only one creating jobs)."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until ``stop`` is set."""
        ...

    def wake(self) -> None:
        """Something changed (a schedule edited, a job created): look again now."""
        ...


def build_scheduler(
    runtime: Runtime, bus: EventBus, on_job_created: Callable[[], None]
) -> SchedulerLike | None:
    """The scheduler for this daemon, or None when the scheduler package is not installed.

    ``on_job_created`` wakes the local workers, so a job the scheduler just created starts at
    once instead of at the next poll.
    """
    try:
        module: Any = importlib.import_module("otter_tui.scheduler")
    except ModuleNotFoundError as exc:
        if exc.name != "otter_tui.scheduler":
            raise
        return None
    if not hasattr(module, "Scheduler"):
        return None
    scheduler: SchedulerLike = module.Scheduler(runtime.ctx)
    return scheduler

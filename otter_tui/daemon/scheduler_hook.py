"""Where the daemon plugs in the scheduler (cron and one-shot schedules -> job rows).

The daemon needs only the small surface below (:class:`SchedulerLike`); :func:`build_scheduler`
is the one place that knows how to construct :class:`otter_tui.scheduler.Scheduler`. The
scheduler holds the ``scheduler`` leader lease: of all daemons and consoles on one database only
the leader creates jobs, the others step back and take over when its lease runs out or is
released. A console releases it as soon as it sees this daemon's presence row, so the daemon's
scheduler (which never defers) leads within a renewal interval of starting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.scheduler import Scheduler


class SchedulerLike(Protocol):
    """What the daemon uses of a scheduler."""

    @property
    def is_leader(self) -> bool:
        """True while this scheduler holds the leader lease (the only one creating jobs)."""
        ...

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until ``stop`` is set; then release the lease."""
        ...

    def wake(self) -> None:
        """Something changed (a schedule edited, a job created): look again now."""
        ...


def build_scheduler(
    runtime: Runtime, bus: EventBus, holder: str, on_job_created: Callable[[], None]
) -> SchedulerLike:
    """This daemon's scheduler, named ``holder`` in the lease row.

    ``on_job_created`` wakes the local worker, so a job the scheduler just created starts at once
    instead of at the next poll; each new job is also published on ``bus`` (``job.created``).
    """
    return Scheduler(runtime, holder=holder, bus=bus, on_job_created=on_job_created)

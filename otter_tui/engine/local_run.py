"""Run one job in this process, now: the path of ``otter-tui run`` and of sensitive variables.

The job is created as a row (by the caller, through the job service), then claimed by id, so a
daemon polling the same queue can never run it as well. Sensitive values never leave memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from otter_tui.engine.leases import keep_leases, worker_name
from otter_tui.engine.runner import Engine
from otter_tui.events import EventBus, LogLine, LogLines, Subscription
from otter_tui.services.claims import ClaimService
from otter_tui.services.context import ServiceContext
from otter_tui.services.plans import PlanService
from otter_tui.store.models import JobState

LinePrinter = Callable[[LogLine], None]
BatchPrinter = Callable[[Sequence[LogLine]], None]
"""Takes each published batch of the job's lines at once: one write (and one flush) per batch
rather than per line, which is most of what printing a big fan-out's log costs."""
log = logging.getLogger(__name__)


async def run_claimed(
    ctx: ServiceContext,
    job_id: int,
    *,
    secrets: Mapping[str, Any] | None = None,
    plans: PlanService | None = None,
    on_line: LinePrinter | None = None,
    on_batch: BatchPrinter | None = None,
    engine_factory: Callable[[EventBus], Engine] | None = None,
) -> JobState | None:
    """Claim ``job_id`` and run it here; None if another worker already has it.

    ``on_line`` (each line) or ``on_batch`` (each batch of lines) prints the job's log as it is
    published."""
    claims = ClaimService(ctx, worker_name(), ctx.settings.engine.lease_seconds)
    claims.recover_interrupted()  # a start, like a worker's: orphans are marked, never re-run
    if not claims.claim(job_id):
        return None
    bus = EventBus()
    engine = engine_factory(bus) if engine_factory else Engine(ctx, bus, plans=plans)
    if on_batch is None and on_line is not None:
        on_batch = _each(on_line)
    sub = bus.subscribe(lossy=False, maxsize=10_000, kinds=(LogLines,)) if on_batch else None
    printer = asyncio.create_task(_print(bus, sub, job_id, on_batch)) if sub and on_batch else None
    await engine.start()
    leases = asyncio.create_task(keep_leases(claims, engine, lambda: [job_id]))
    try:
        return await engine.run_job(job_id, secrets)
    finally:
        leases.cancel()
        await engine.close()
        if sub is not None and printer is not None:
            if not printer.done():
                await sub.queue.join()
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer


def _each(on_line: LinePrinter) -> BatchPrinter:
    def print_batch(lines: Sequence[LogLine]) -> None:
        for line in lines:
            on_line(line)

    return print_batch


async def _print(bus: EventBus, sub: Subscription, job_id: int, on_batch: BatchPrinter) -> None:
    """Print the job's lines; if printing fails (``| head`` closed the pipe), stop printing
    and step off the bus, so the job runs on and stores its whole log regardless."""
    try:
        async for event in sub:
            if isinstance(event, LogLines):
                lines = [line for line in event.lines if line.job_id == job_id]
                if lines:
                    on_batch(lines)
            sub.queue.task_done()
    except Exception as exc:
        log.warning("job=%s: stopped printing its log (%s); it runs on", job_id, exc)
        bus.unsubscribe(sub)
        _stop_following(sub)


def _stop_following(sub: Subscription) -> None:
    while not sub.queue.empty():
        sub.queue.get_nowait()
        sub.queue.task_done()

"""Keeping a worker's leases alive, noticing cancel requests quickly, and noticing dead workers.

A lease is renewed every third of its length (a job whose lease expired belonged to a dead
worker). A cancel request (``jobs cancel`` from any process sets a flag on the job row) is looked
for every second with a cheap read, so a running job stops within seconds even with a long lease.
At each renewal the worker also marks jobs whose lease ran out ``interrupted``: a worker killed
with ``kill -9`` is noticed by any live one within a lease period and a third, not only by the next
worker to start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

from otter_tui.engine.runner import Engine
from otter_tui.services.claims import ClaimService

log = logging.getLogger(__name__)


def worker_name() -> str:
    """``host:pid``: who holds a claim. Here, not in ``worker``, so a one-shot ``run`` that
    claims one job does not import the worker's queue polling, wake-ups and pruning."""
    return f"{socket.gethostname()}:{os.getpid()}"


CANCEL_POLL_SECONDS = 1.0
Sleep = Callable[[float], Awaitable[None]]


async def keep_leases(
    claims: ClaimService,
    engine: Engine,
    running: Callable[[], list[int]],
    *,
    sleep: Sleep = asyncio.sleep,
    on_renew: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """Until cancelled: renew the leases of ``running()`` jobs and pass on cancel requests.

    ``on_renew``: more to do at each renewal (a worker's slices: :mod:`otter_tui.engine.worker`).
    """
    renew_every = max(claims.lease.total_seconds() / 3, 0.5)
    poll = min(CANCEL_POLL_SECONDS, renew_every)
    since_renewal = 0.0
    while True:
        await sleep(poll)
        since_renewal += poll
        renew = since_renewal >= renew_every
        try:
            cancelled = await _beat(claims, engine, running(), renew)
        except Exception:  # a lease outlives a few missed beats; keep beating
            log.exception("worker %s: lease renewal failed", claims.worker)
            continue
        if renew:
            # What this worker keeps alive first (its slices, its queues' sliced jobs), then the
            # others' orphans: a worker late to its own renewal (a stalled machine) would
            # otherwise find a job it keeps alive expired and interrupt it itself.
            since_renewal = 0.0
            if on_renew is not None:
                await on_renew()
            await _recover(claims, engine)
        for job_id in cancelled:
            if engine.cancel(job_id):
                log.info("job=%s cancel=requested", job_id)


async def _recover(claims: ClaimService, engine: Engine) -> None:
    try:
        orphans = await engine.dbthread.run(claims.recover_interrupted)
    except Exception:  # the next renewal tries again
        log.exception("worker %s: looking for orphaned jobs failed", claims.worker)
        return
    for job_id in orphans:
        log.warning("job=%s state=interrupted reason=orphaned-by-dead-worker", job_id)


async def _beat(claims: ClaimService, engine: Engine, job_ids: list[int], renew: bool) -> list[int]:
    if not job_ids:
        return []
    if renew:
        return await engine.dbthread.run(claims.heartbeat, job_ids)
    return await engine.dbthread.run(claims.cancel_requested, job_ids)

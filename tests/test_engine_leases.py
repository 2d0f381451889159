"""Leases on an injected clock: a live worker's job is never taken for an orphan, a dead one's
is marked ``interrupted`` once its lease has run out; the lease loop renews every lease/3 and
passes on a cancel request within one poll."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from otter_tui.engine.leases import keep_leases
from otter_tui.engine.runner import Engine
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime
from tests.fixtures_core import FixedClock

pytestmark = pytest.mark.both_stores


def test_only_an_expired_lease_makes_an_orphan(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    add_local(rt, "here")
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    assert ClaimService(rt.ctx, "alive", lease_seconds=30).claim(job.id)
    starting = ClaimService(rt.ctx, "new", lease_seconds=30)

    clock.advance(29)
    assert starting.recover_interrupted() == []
    assert rt.jobs.show(job.id).state == "running"

    clock.advance(2)
    assert starting.recover_interrupted() == [job.id]
    view = rt.jobs.show(job.id)
    assert view.state == "interrupted" and view.error == (
        "worker alive stopped before the job finished"
    )
    assert {r.state for r in view.server_runs} <= {"interrupted"}
    rt.close()


def stepping_sleep(clock: FixedClock, ticks: int) -> Callable[[float], Awaitable[None]]:
    """A sleep that moves the clock, and ends the loop after ``ticks`` sleeps."""
    count = 0

    async def sleep(seconds: float) -> None:
        nonlocal count
        count += 1
        if count > ticks:
            raise RuntimeError("stop")
        clock.advance(seconds)

    return sleep


def claimed_by_me(rt: Runtime) -> tuple[int, ClaimService, Engine]:
    """A job on a local server, claimed by worker ``me`` (30 s lease); the claims; an engine."""
    add_local(rt, "here")
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    claims = ClaimService(rt.ctx, "me", lease_seconds=30)
    assert claims.claim(job.id)
    return job.id, claims, Engine(rt.ctx, EventBus(), plans=rt.plans)


async def test_lease_loop_renews_and_passes_on_cancel(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    job_id, claims, engine = claimed_by_me(rt)
    cancelled: list[int] = []
    engine.cancel = lambda job_id: cancelled.append(job_id) is None  # type: ignore[method-assign]
    rt.jobs.cancel(job_id)  # running: only a request, the worker must act on it

    with pytest.raises(RuntimeError, match="stop"):
        await keep_leases(claims, engine, lambda: [job_id], sleep=stepping_sleep(clock, 12))

    assert cancelled[0] == job_id and len(cancelled) == 12  # seen at the first 1 s poll
    starting = ClaimService(rt.ctx, "new", lease_seconds=30)
    clock.advance(27)  # now 39 s after the claim: renewed at 10 s, it holds until 40 s
    assert starting.recover_interrupted() == []
    clock.advance(2)
    assert starting.recover_interrupted() == [job_id]
    engine.dbthread.close()
    rt.close()


async def test_a_live_worker_marks_a_dead_workers_job_within_a_lease_period(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    add_local(rt, "here")
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    assert ClaimService(rt.ctx, "dead", lease_seconds=30).claim(job.id)
    alive = ClaimService(rt.ctx, "alive", lease_seconds=30)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)

    # 41 one-second ticks: the dead lease ran out at 30 s, the renewal at 40 s looks for orphans.
    with pytest.raises(RuntimeError, match="stop"):
        await keep_leases(alive, engine, list, sleep=stepping_sleep(clock, 41))

    view = rt.jobs.show(job.id)
    assert view.state == "interrupted"
    assert view.error == "worker dead stopped before the job finished"
    engine.dbthread.close()
    rt.close()


def test_cancelling_an_orphan_ends_it_cancelled_at_once(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    add_local(rt, "here")
    expired, gone, alive = (create(rt, "Echo", TargetSpec(servers=("here",))) for _ in range(3))
    assert ClaimService(rt.ctx, "lost", lease_seconds=5).claim(expired.id)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    dead_worker = f"{socket.gethostname()}:{dead.pid}"
    assert ClaimService(rt.ctx, dead_worker, lease_seconds=30).claim(gone.id)
    live_worker = f"{socket.gethostname()}:{os.getpid()}"
    assert ClaimService(rt.ctx, live_worker, lease_seconds=30).claim(alive.id)
    clock.advance(10)

    assert rt.jobs.cancel(expired.id).state == "cancelled"
    assert rt.jobs.cancel(gone.id).state == "cancelled"
    assert rt.jobs.show(gone.id).error == f"cancelled; its worker {dead_worker} was gone"
    assert rt.jobs.cancel(alive.id).state == "running"  # a live worker acts on the request
    rt.close()


async def test_a_late_renewal_keeps_alive_what_it_renews_before_looking_for_orphans(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    """A worker whose renewal comes late (the machine stalled) renews what it keeps alive, as a
    worker does its queues' sliced jobs, before it looks for expired leases: it must not find
    that job expired and interrupt it itself."""
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    job_id, claims, engine = claimed_by_me(rt)
    sleeps = 0

    async def stalling(seconds: float) -> None:
        nonlocal sleeps
        sleeps += 1
        if sleeps > 10:
            raise RuntimeError("stop")
        clock.advance(25 if sleeps == 10 else seconds)  # the 10th poll (a renewal) is late

    async def renew_kept_alive() -> None:
        await engine.dbthread.run(claims.heartbeat, [job_id])

    with pytest.raises(RuntimeError, match="stop"):
        await keep_leases(claims, engine, list, sleep=stalling, on_renew=renew_kept_alive)

    assert rt.jobs.show(job_id).state == "running"
    engine.dbthread.close()
    rt.close()

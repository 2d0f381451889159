"""Leases on an injected clock: a live worker's job is never taken for an orphan, a dead one's
is marked ``interrupted`` once its lease has run out; the lease loop renews every lease/3 and
passes on a cancel request within one poll."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from otter_tui.engine.leases import keep_leases
from otter_tui.engine.runner import Engine
from otter_tui.events import EventBus
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


async def test_lease_loop_renews_and_passes_on_cancel(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    add_local(rt, "here")
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    claims = ClaimService(rt.ctx, "me", lease_seconds=30)
    assert claims.claim(job.id)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    cancelled: list[int] = []
    engine.cancel = lambda job_id: cancelled.append(job_id) is None  # type: ignore[method-assign]
    rt.jobs.cancel(job.id)  # running: only a request, the worker must act on it

    with pytest.raises(RuntimeError, match="stop"):
        await keep_leases(claims, engine, lambda: [job.id], sleep=stepping_sleep(clock, 12))

    assert cancelled[0] == job.id and len(cancelled) == 12  # seen at the first 1 s poll
    starting = ClaimService(rt.ctx, "new", lease_seconds=30)
    clock.advance(27)  # now 39 s after the claim: renewed at 10 s, it holds until 40 s
    assert starting.recover_interrupted() == []
    clock.advance(2)
    assert starting.recover_interrupted() == [job.id]
    engine.dbthread.close()
    rt.close()

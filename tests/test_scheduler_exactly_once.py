"""Exactly once: two schedulers on one database, a kill between the firing row and the job, and a
schedule disabled or deleted between the moment it is found due and the moment it is dispatched.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.runtime import open_runtime
from otter_tui.scheduler import Scheduler, lease
from otter_tui.scheduler.dispatch import Dispatcher
from otter_tui.store.models import FiringState, Lease, ScheduleFiring
from tests.fixtures_scheduler import GUARD, START, World, make_world

pytestmark = pytest.mark.both_stores

MINUTE = timedelta(minutes=1)


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


async def test_two_loops_on_one_database_dispatch_each_of_200_firings_once(world: World) -> None:
    """Each loop has its own engine and thread on the same SQLite file. Steps of a minute are
    longer than the lease (15 s), so at every step both race for it: leadership changes hands."""
    world.add("tick", overlap="parallel")
    other = open_runtime(settings=world.rt.settings, clock=world.fixed, seed=False)
    leaders: Counter[str] = Counter()
    try:
        async with world.running("a") as (a,):
            stop = asyncio.Event()
            b = Scheduler(other, holder="b", clock=world.clock)
            task = asyncio.create_task(b.run(stop))
            world.loops.append(task)
            await world.settle()
            for _ in range(200):
                await world.step(60)
                leaders.update(s.holder for s in (a, b) if s.is_leader)
            stop.set()
            await asyncio.wait_for(task, GUARD)
            world.loops.remove(task)
    finally:
        other.close()
    firings = world.firings("tick")
    assert [due for due, _, _ in firings] == [START + MINUTE * i for i in range(1, 201)]
    assert {state for _, state, _ in firings} == {"dispatched"}
    jobs = world.jobs()
    assert len(jobs) == 200
    assert sorted(job for _, _, job in firings) == [j.id for j in jobs]
    assert sum(leaders.values()) == 200  # exactly one leader after every step


async def test_two_schedulers_with_the_same_name_still_dispatch_once(world: World) -> None:
    """A copied config (same holder name) defeats the lease; the unique firing key does not."""
    for i in range(20):
        world.add(f"s{i}", overlap="parallel")
    world.set_time(START + MINUTE)
    ctx = world.rt.ctx
    lease.acquire(world.rt.db, "twin", world.clock.now(), timedelta(minutes=5))
    twins = [Dispatcher(ctx, world.rt.plans, "twin") for _ in range(2)]
    due = twins[0].due_schedule_ids(world.clock.now(), 100)
    await asyncio.gather(
        *(
            asyncio.to_thread(lambda d=d: [d.fire_schedule(i, world.clock.now()) for i in due])
            for d in twins
        )
    )
    assert len(world.jobs()) == 20
    assert all(world.states(f"s{i}") == ["dispatched"] for i in range(20))


KILLER = textwrap.dedent(
    """
    import asyncio, os, sys
    from datetime import datetime
    from otter_tui.runtime import open_runtime
    from otter_tui.scheduler import ManualClock, Scheduler
    from otter_tui.scheduler.rounds import Round
    from otter_tui.services import jobs

    create, write = jobs.JobService.create, Round.write

    def create_then_die(self, *args, **kwargs):
        view = create(self, *args, **kwargs)  # the firing row and the job row are written...
        os._exit(9)                           # ...and the process dies before the commit

    def write_then_die(self):                 # the same for a round written in bulk
        write(self)
        os._exit(9)

    jobs.JobService.create, Round.write = create_then_die, write_then_die
    now = datetime.fromisoformat(sys.argv[2])
    runtime = open_runtime(sys.argv[1], actor="alice", clock=lambda: now, seed=False)
    asyncio.run(Scheduler(runtime, holder="doomed", clock=ManualClock(now)).run(asyncio.Event()))
    """
)


async def test_killed_between_the_firing_row_and_the_job_it_runs_once_after_restart(
    world: World,
) -> None:
    world.add("tick")
    world.set_time(START + MINUTE)
    config = str(world.rt.settings.source)
    done = subprocess.run(
        [sys.executable, "-c", KILLER, config, world.clock.now().isoformat()],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 9, done.stderr
    assert world.firings("tick") == []  # nothing half-written survives the kill
    assert world.jobs() == []
    with world.rt.db.session() as s:
        assert s.scalar(select(Lease.holder)) == "doomed"
    async with world.running("successor") as (successor,):
        assert not successor.is_leader  # the dead holder's lease has not run out yet
        await world.step(16)
        assert successor.is_leader
        world.finish_jobs()
        await world.step(60)
    states = world.firings("tick")
    assert [(due, state) for due, state, _ in states] == [
        (START + MINUTE, "dispatched"),
        (START + 2 * MINUTE, "dispatched"),
    ]
    assert len(world.jobs()) == 2


async def test_a_firing_left_pending_is_marked_failed_never_run(world: World) -> None:
    """Only older or foreign code could commit a pending firing; it is never started."""
    world.add("tick")
    with world.rt.db.transaction() as s:
        s.add(ScheduleFiring(schedule_id=1, due_at=START + MINUTE, state=FiringState.PENDING))
    world.set_time(START + MINUTE)
    async with world.running("daemon"):
        await world.step(60)
    firings = world.schedules.firings("tick")
    assert [(f.due_at, f.state) for f in reversed(firings)] == [
        (START + MINUTE, "failed"),
        (START + 2 * MINUTE, "dispatched"),
    ]
    assert "never run twice" in firings[-1].note or "can never run twice" in firings[-1].note
    assert len(world.jobs()) == 1


@pytest.mark.parametrize("change", ["disable", "remove"])
async def test_changed_between_found_due_and_dispatched_does_not_run(
    world: World, change: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.add("tick")
    listed = Dispatcher.due_schedule_ids
    changed: list[int] = []

    def list_then_change(self: Dispatcher, now: object, limit: int) -> list[int]:
        found = listed(self, now, limit)  # type: ignore[arg-type]
        if found:
            if change == "disable":
                world.schedules.set_enabled("tick", False)
            else:
                world.schedules.remove("tick")
            changed.extend(found)
        return found

    monkeypatch.setattr(Dispatcher, "due_schedule_ids", list_then_change)
    world.set_time(START + MINUTE)
    async with world.running("daemon"):
        pass
    assert changed == [1]  # it was found due, then changed before its transaction
    assert world.jobs() == []
    with world.rt.db.session() as s:
        assert list(s.scalars(select(ScheduleFiring))) == []


async def test_a_queued_firing_of_a_disabled_schedule_does_not_run(world: World) -> None:
    world.add("tick", overlap="queue")
    async with world.running("daemon") as (scheduler,):
        await world.step(60)
        world.start_jobs()
        await world.step(60)
        assert world.states("tick") == ["dispatched", "queued"]
        world.schedules.set_enabled("tick", False)
        world.finish_jobs()
        mark = world.clock.sleep_calls
        scheduler.wake()
        await world.settle(since=mark)
    assert world.states("tick") == ["dispatched", "skipped"]
    assert len(world.jobs()) == 1

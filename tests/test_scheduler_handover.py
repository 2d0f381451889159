"""Who schedules: the console's scheduler leads while no daemon runs, steps back when a daemon
appears, and takes back when it stops, with every firing dispatched once and none lost.

The console and the daemon each have their own runtime (engine, thread) on one SQLite file, like
two processes; the daemon's presence heartbeat is the real :class:`PresenceBeacon`. Time moves
only when the test moves it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

import pytest

from otter_tui.daemon.beacon import PresenceBeacon
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.scheduler import Scheduler
from otter_tui.services import presence
from tests.fixtures_scheduler import GUARD, START, World, make_world

pytestmark = pytest.mark.both_stores

MINUTE = timedelta(minutes=1)
RENEWAL = 5.0
"""A third of the default ``[scheduler] lease_seconds`` (15): how often leases are renewed."""
DAEMON = "host:42"


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


@pytest.fixture
def daemon_rt(world: World) -> Iterator[Runtime]:
    """The daemon's own runtime on the same database (another process, in real life)."""
    rt = open_runtime(settings=world.rt.settings, clock=world.fixed, seed=False)
    yield rt
    rt.close()


class Loops:
    """Loops on the world's manual clock, each stopped by its own event."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.stops: list[tuple[asyncio.Event, asyncio.Task[None]]] = []

    async def start(self, scheduler: Scheduler) -> asyncio.Event:
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop))
        self.stops.append((stop, task))
        self.world.loops.append(task)
        await self.world.settle()
        return stop

    async def stop(self, stop: asyncio.Event) -> None:
        task = next(t for s, t in self.stops if s is stop)
        stop.set()
        await asyncio.wait_for(task, GUARD)
        self.world.loops.remove(task)
        self.stops.remove((stop, task))

    async def close(self) -> None:
        for stop, _task in list(self.stops):
            await self.stop(stop)


@asynccontextmanager
async def loops(world: World) -> AsyncIterator[Loops]:
    running = Loops(world)
    try:
        yield running
    finally:
        await running.close()


def console(world: World) -> Scheduler:
    return Scheduler(world.rt, holder="console:here:1", clock=world.clock, defer_to_daemon=True)


def beacon(world: World, rt: Runtime, *, scheduler: bool = True) -> PresenceBeacon:
    return PresenceBeacon(
        rt.db,
        DAEMON,
        scheduler=scheduler,
        queues=lambda: ("default",),
        length=timedelta(seconds=3 * RENEWAL),
        clock=world.clock,
    )


async def minutes(world: World, count: int, extra_loops: int = 0) -> None:
    """Let ``count`` minutes pass in renewal-sized steps, finishing each job like a worker."""
    for _ in range(int(count * 60 / RENEWAL)):
        await world.step(RENEWAL, len(world.loops) + extra_loops)
        world.finish_jobs()


async def test_the_console_schedules_while_no_daemon_runs(world: World) -> None:
    world.add("tick")
    async with loops(world) as running:
        scheduler = console(world)
        await running.start(scheduler)
        assert (scheduler.is_leader, scheduler.daemon) == (True, None)
        await minutes(world, 2)
    assert world.states("tick") == ["dispatched", "dispatched"]


async def test_a_daemon_takes_over_and_hands_back_with_no_firing_twice_or_lost(
    world: World, daemon_rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "otter_tui.scheduler")
    world.add("tick")
    async with loops(world) as running:
        mine = console(world)
        await running.start(mine)
        await minutes(world, 2)  # 12:01 and 12:02 by the console
        assert mine.is_leader

        await world.step(30)  # 12:02:30: a daemon starts
        daemons = Scheduler(daemon_rt, holder=DAEMON, clock=world.clock)
        heartbeat = beacon(world, daemon_rt)
        await heartbeat.start()
        daemon_stop = await running.start(daemons)
        assert mine.is_leader and not daemons.is_leader  # the console's lease still runs
        await world.step(RENEWAL, 3)  # the console sees the daemon and lets the lease go
        await world.step(RENEWAL, 3)  # the daemon's next try takes it
        assert (mine.is_leader, mine.daemon, daemons.is_leader) == (False, DAEMON, True)
        assert f"scheduler=console:here:1 leader=no reason=daemon:{DAEMON}" in caplog.messages
        await minutes(world, 3, extra_loops=1)  # 12:03, 12:04 and 12:05 by the daemon
        assert daemons.is_leader and not mine.is_leader

        await running.stop(daemon_stop)  # the daemon stops cleanly: lease and presence go
        await heartbeat.stop()
        await world.step(RENEWAL)
        assert (mine.is_leader, mine.daemon) == (True, None)
        await minutes(world, 2)  # 12:06 and 12:07 by the console again
    firings = world.firings("tick")
    assert [due for due, _, _ in firings] == [START + MINUTE * i for i in range(1, 8)]
    assert {state for _, state, _ in firings} == {"dispatched"}
    assert sorted(job for _, _, job in firings) == [job.id for job in world.jobs()]


async def test_a_daemon_without_a_scheduler_leaves_scheduling_to_the_console(
    world: World, daemon_rt: Runtime
) -> None:
    world.add("tick")
    heartbeat = beacon(world, daemon_rt, scheduler=False)
    await heartbeat.start()
    try:
        async with loops(world) as running:
            mine = console(world)
            await running.start(mine)
            await minutes(world, 1, extra_loops=1)
            assert (mine.is_leader, mine.daemon) == (True, None)
    finally:
        await heartbeat.stop()
    assert world.states("tick") == ["dispatched"]


async def test_a_dead_daemon_is_forgotten_when_its_presence_expires(world: World) -> None:
    world.add("tick")
    now = world.clock.now()
    length = timedelta(seconds=3 * RENEWAL)
    presence.announce(
        world.rt.db, DAEMON, scheduler=True, queues=["default"], now=now, length=length
    )
    async with loops(world) as running:
        mine = console(world)
        await running.start(mine)
        assert (mine.is_leader, mine.daemon) == (False, DAEMON)
        await minutes(world, 1)  # nobody renews it: after 15 s the console leads again
        assert (mine.is_leader, mine.daemon) == (True, None)
    assert world.states("tick") == ["dispatched"]

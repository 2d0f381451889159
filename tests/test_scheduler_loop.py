"""The scheduler loop on a real SQLite file with real migrations, driven by a manual clock.

No test sleeps: time moves only when a test moves it, and each step waits until the loops have
reacted and sleep again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from otter_tui.store.models import Job, JobState
from tests.fixtures_scheduler import START, World, make_world

pytestmark = pytest.mark.both_stores

MINUTE = timedelta(minutes=1)


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


async def test_an_every_minute_schedule_makes_one_job_a_minute(world: World) -> None:
    world.add("tick")
    async with world.running("daemon") as (scheduler,):
        assert scheduler.is_leader
        for _ in range(3):
            await world.step(60)
            world.finish_jobs()
    firings = world.firings("tick")
    assert [due for due, _, _ in firings] == [START + MINUTE * i for i in (1, 2, 3)]
    assert {state for _, state, _ in firings} == {"dispatched"}
    jobs = world.jobs()
    assert [j.id for j in jobs] == [job for _, _, job in firings]
    assert all(j.schedule_id == 1 and j.requested_by == "alice" for j in jobs)
    assert scheduler.is_leader is False  # stopping let the lease go


# --- misfire: the scheduler was down -------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("run_once", ["missed", "missed", "dispatched"]),
        ("skip", ["missed", "missed", "missed"]),
        ("run_all", ["dispatched", "dispatched", "dispatched"]),
    ],
)
async def test_down_across_three_firings(world: World, policy: str, expected: list[str]) -> None:
    world.add("ten", "*/10 * * * *", misfire=policy, overlap="parallel")
    world.set_time(START + 35 * MINUTE)  # 12:10, 12:20 and 12:30 fell due while nothing ran
    async with world.running("daemon"):
        assert world.states("ten") == expected
        await world.step(5 * 60)  # 12:40 is the normal tick again
    assert world.states("ten") == [*expected, "dispatched"]
    dues = [due for due, state, _ in world.firings("ten") if state == "dispatched"]
    assert [job.run_at for job in world.jobs()] == [START + 35 * MINUTE] * (len(dues) - 1) + [
        START + 40 * MINUTE
    ]


def test_run_once_says_which_run_covered_the_missed_ones(world: World) -> None:
    world.add("ten", "*/10 * * * *", misfire="run_once")
    world.set_time(START + 35 * MINUTE)
    notes = _dispatch_once(world, "ten")
    assert notes[:2] == ["coalesced into the run due at 2026-11-30 12:30:00 UTC"] * 2


@pytest.mark.parametrize(("late", "state"), [(300, "dispatched"), (301, "missed")])
async def test_grace_window_edges(world: World, late: int, state: str) -> None:
    world.add("hourly", "0 * * * *", misfire="run_once", grace_seconds=300)
    world.set_time(START + timedelta(hours=1, seconds=late))
    async with world.running("daemon"):
        assert world.states("hourly") == [state]
    if state == "missed":
        assert world.firings("hourly")[0][2] is None
        assert world.jobs() == []


@pytest.mark.parametrize(("late", "state"), [(60, "dispatched"), (61, "missed")])
async def test_a_minute_late_is_on_time_even_for_skip(world: World, late: int, state: str) -> None:
    world.add("hourly", "0 * * * *", misfire="skip")
    world.set_time(START + timedelta(hours=1, seconds=late))
    async with world.running("daemon"):
        assert world.states("hourly") == [state]


async def test_a_thirty_day_outage_with_run_all_is_capped_and_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    month = 30 * 24 * 3600
    world.add("tick", misfire="run_all", overlap="parallel", grace_seconds=month, misfire_cap=10)
    world.set_time(START + timedelta(days=30, seconds=30))
    caplog.set_level(logging.WARNING, logger="otter_tui.scheduler")
    async with world.running("daemon"):
        firings = world.firings("tick")
    dispatched = [due for due, state, _ in firings if state == "dispatched"]
    assert dispatched == [START + MINUTE * i for i in range(1, 11)] + [START + timedelta(days=30)]
    assert len(world.jobs()) == 11  # ten catch-up runs (the cap) plus the on-time one
    assert sum(1 for _, state, _ in firings if state == "missed") == 100  # listed, rest summed up
    assert any(
        "capped=True" in r.getMessage() and "cap=10" in r.getMessage() for r in caplog.records
    )
    view = world.schedules.show("tick")
    assert view.next_due_at == START + timedelta(days=30, minutes=1)


# --- overlap: a 3-minute job on a 1-minute schedule -----------------------------------------------


async def _three_minute_jobs(world: World, minutes: int) -> list[int]:
    """Run ``minutes`` firings; each job runs from its start for 3 minutes. Returns, per
    minute, how many jobs were running at once."""
    concurrency: list[int] = []
    async with world.running("daemon") as (scheduler,):
        for _ in range(minutes):
            await world.step(59)
            _finish_started_before(world, world.clock.now() - timedelta(seconds=179))
            mark = world.clock.sleep_calls
            scheduler.wake()  # what the daemon does when a job ends
            await world.settle(since=mark)
            world.start_jobs()
            await world.step(1)
            world.start_jobs()
            concurrency.append(_running(world))
            assert _queued_firings(world) <= 1
    return concurrency


async def test_overlap_skip_never_runs_two_and_records_the_skips(world: World) -> None:
    world.add("tick", overlap="skip")
    concurrency = await _three_minute_jobs(world, 9)
    assert max(concurrency) == 1
    assert world.states("tick") == ["dispatched", "skipped", "skipped"] * 3
    assert len(world.jobs()) == 3


async def test_overlap_queue_keeps_at_most_one_waiting(world: World) -> None:
    """12:02 waits behind the 12:01 job and starts when it ends (12:03:59); 12:03 is skipped
    because one firing already waits; 12:04 waits behind the 12:02 job, and so on."""
    world.add("tick", overlap="queue")
    concurrency = await _three_minute_jobs(world, 9)
    assert max(concurrency) == 1
    assert world.states("tick") == [
        *("dispatched", "dispatched", "skipped"),
        *("dispatched", "skipped", "skipped"),
        *("queued", "skipped", "skipped"),
    ]
    started = [job.run_at - START for job in world.jobs()]
    assert started == [timedelta(minutes=1), timedelta(seconds=239), timedelta(seconds=419)]


async def test_overlap_parallel_runs_every_firing(world: World) -> None:
    world.add("tick", overlap="parallel")
    concurrency = await _three_minute_jobs(world, 9)
    assert world.states("tick") == ["dispatched"] * 9
    assert max(concurrency) == 3


def _finish_started_before(world: World, moment: object) -> None:
    with world.rt.db.transaction() as s:
        s.execute(
            update(Job)
            .where(Job.state == JobState.RUNNING, Job.started_at <= moment)
            .values(state=JobState.SUCCEEDED, finished_at=world.clock.now())
        )


def _running(world: World) -> int:
    return sum(1 for j in world.jobs() if j.state is JobState.RUNNING)


def _queued_firings(world: World) -> int:
    return sum(1 for name in ("tick",) for s in world.states(name) if s == "queued")


def _dispatch_once(world: World, name: str) -> list[str]:
    from otter_tui.scheduler import lease
    from otter_tui.scheduler.dispatch import Dispatcher
    from otter_tui.services.context import ServiceContext

    ctx = ServiceContext(world.rt.db, world.rt.settings, "alice", world.clock.now)
    lease.acquire(world.rt.db, "probe", world.clock.now(), timedelta(seconds=15))
    dispatcher = Dispatcher(ctx, world.rt.plans, "probe")
    for schedule_id in dispatcher.due_schedule_ids(world.clock.now(), 10):
        dispatcher.fire_schedule(schedule_id, world.clock.now())
    return [f.note for f in reversed(world.schedules.firings(name))]

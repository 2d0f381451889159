"""A round decided ahead of its minute (scheduler/ahead.py): written at the minute, never before,
stamped with the clock's now at the insert, and re-checked in the writing transaction so that a
schedule disabled or edited, a plan that now needs approval, a job that finished, or a lease
lost since the preparation is respected. Driven by the manual clock: no test sleeps."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from otter_tui.scheduler import ahead, lease
from otter_tui.scheduler.dispatch import Dispatcher, LeaseLost
from otter_tui.services.inventory import InventoryService
from otter_tui.services.schedules import ScheduleFields
from otter_tui.store.models import Job, JobState, Lease, ScheduleFiring
from tests.fixtures_scheduler import START, TICK, World, make_world

pytestmark = pytest.mark.both_stores

MINUTE = timedelta(minutes=1)
PREPARED_AT = START + MINUTE - ahead.LEAD
"""When the loop decides the round due at 12:01."""


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


async def _to(world: World, moment: timedelta) -> None:
    """Move the clock to START + ``moment`` and wait until the loop sleeps again."""
    mark = world.clock.sleep_calls
    world.set_time(START + moment)
    await world.settle(since=mark)


def _nothing_written(world: World) -> bool:
    with world.rt.db.session() as s:
        return not s.scalars(select(Job.id)).all() and not s.scalars(select(ScheduleFiring)).all()


async def test_a_prepared_round_is_written_at_its_minute_stamped_with_now(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="otter_tui.scheduler")
    for name in ("a", "b", "c"):
        world.add(name)
    async with world.running("daemon") as (scheduler,):
        await _to(world, MINUTE - ahead.LEAD)
        assert scheduler._prepared is not None and scheduler._prepared.at == START + MINUTE
        world.set_time(START + MINUTE - timedelta(microseconds=1))  # wakes nothing
        assert _nothing_written(world)
        await _to(world, MINUTE + timedelta(milliseconds=500))
    stamp = START + MINUTE + timedelta(milliseconds=500)
    jobs = world.jobs()
    assert len(jobs) == 3
    assert {(j.created_at, j.run_at, j.state) for j in jobs} == {(stamp, stamp, JobState.QUEUED)}
    for name in ("a", "b", "c"):
        assert world.firings(name) == [(START + MINUTE, "dispatched", world.firings(name)[0][2])]
    assert "prepared_round=3" in caplog.text


async def test_a_schedule_disabled_or_edited_after_preparation_is_respected(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="otter_tui.scheduler")
    for name in ("same", "disabled", "edited"):
        world.add(name, variables={"word": "old"})
    async with world.running("daemon") as (scheduler,):
        await _to(world, MINUTE - ahead.LEAD)
        assert scheduler._prepared is not None
        world.schedules.set_enabled("disabled", False)
        world.schedules.edit("edited", ScheduleFields(variables={"word": "new"}))
        await _to(world, MINUTE)
    assert world.firings("disabled") == []
    by_schedule = {j.schedule_id: j for j in world.jobs()}
    assert len(by_schedule) == 2
    assert by_schedule[1].variables == {"word": "old"}  # "same", as prepared
    assert by_schedule[3].variables == {"word": "new"}  # decided again at the minute
    assert {j.created_at for j in by_schedule.values()} == {START + MINUTE}
    assert "prepared_round=1" in caplog.text and "2 changed since" in caplog.text


async def test_a_plan_that_needs_approval_since_the_preparation_makes_a_pending_job(
    world: World,
) -> None:
    world.add("tick")
    async with world.running("daemon") as (scheduler,):
        await _to(world, MINUTE - ahead.LEAD)
        assert scheduler._prepared is not None
        world.rt.plans.override(TICK, "approval_required", "true")
        await _to(world, MINUTE)
    (job,) = world.jobs()
    assert job.state is JobState.PENDING_APPROVAL and job.approval_required
    assert job.window_end == START + 2 * MINUTE  # before the next occurrence


async def test_a_job_that_finished_after_the_preparation_no_longer_blocks(world: World) -> None:
    world.add("tick")  # overlap "skip": a firing while its last job is active is skipped
    async with world.running("daemon") as (scheduler,):
        await _to(world, MINUTE)
        await _to(world, 2 * MINUTE - ahead.LEAD)  # decided while the 12:01 job is queued
        assert scheduler._prepared is not None
        world.finish_jobs()
        await _to(world, 2 * MINUTE)
    assert world.states("tick") == ["dispatched", "dispatched"]


def _prepared_by_one(world: World, lease_for: timedelta) -> tuple[Dispatcher, ahead.Prepared]:
    """Scheduler "one", holding the lease for ``lease_for``, prepares the round of 12:01."""
    world.add("tick")
    dispatcher = Dispatcher(world.rt.ctx, world.rt.plans, "one")
    world.set_time(PREPARED_AT)
    lease.acquire(world.rt.db, "one", world.clock.now(), lease_for)
    prepared = ahead.prepare(dispatcher, START + MINUTE)
    assert prepared is not None
    return dispatcher, prepared


def test_nothing_is_written_before_the_minute_nor_after_the_lease_is_lost(world: World) -> None:
    dispatcher, prepared = _prepared_by_one(world, timedelta(seconds=30))
    assert _nothing_written(world)
    assert ahead.fire(dispatcher, prepared, START + MINUTE - timedelta(microseconds=1)) is None
    assert _nothing_written(world)
    with world.rt.db.transaction() as s:  # another scheduler took over meanwhile
        s.execute(update(Lease).values(holder="two", expires_at=START + 5 * MINUTE))
    world.set_time(START + MINUTE)
    with pytest.raises(LeaseLost):
        ahead.fire(dispatcher, prepared, START + MINUTE)
    assert _nothing_written(world)


def test_a_preparation_is_not_used_once_its_minute_is_long_past(world: World) -> None:
    dispatcher, prepared = _prepared_by_one(world, timedelta(minutes=5))
    late = START + MINUTE + ahead.LEAD + timedelta(seconds=1)
    world.set_time(late)
    assert ahead.fire(dispatcher, prepared, late) is None
    assert _nothing_written(world)


async def test_two_schedulers_write_a_prepared_round_once(world: World) -> None:
    for name in ("a", "b"):
        world.add(name, overlap="parallel")
    async with world.running("one", "two") as schedulers:
        for minute in (1, 2):
            await _to(world, minute * MINUTE - ahead.LEAD)
            assert [s._prepared is not None for s in schedulers].count(True) == 1
            await _to(world, minute * MINUTE)
    for name in ("a", "b"):
        dues = [due for due, state, _ in world.firings(name) if state == "dispatched"]
        assert dues == [START + MINUTE, START + 2 * MINUTE]
    assert len(world.jobs()) == 4


async def test_an_inventory_change_after_preparation_means_deciding_at_the_minute(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="otter_tui.scheduler")
    world.add("tick")
    async with world.running("daemon") as (scheduler,):
        await _to(world, MINUTE - ahead.LEAD)
        assert scheduler._prepared is not None
        InventoryService(world.rt.ctx).add_role("late-role")
        await _to(world, MINUTE)
    assert "prepared round dropped: role changed since" in caplog.text
    assert "prepared_round=" not in caplog.text
    (job,) = world.jobs()  # decided at the minute instead, as before
    assert job.created_at == START + MINUTE

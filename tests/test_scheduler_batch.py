"""Due firings dispatched as one batch: one transaction, each schedule in its own SAVEPOINT, so a
schedule that fails rolls back alone and the others' jobs are committed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from otter_tui.scheduler import lease
from otter_tui.scheduler.dispatch import Dispatcher, Outcome
from otter_tui.store.models import Schedule
from tests.fixtures_scheduler import START, World, make_world

pytestmark = pytest.mark.both_stores

MINUTE = timedelta(minutes=1)


@pytest.fixture
def world(tmp_path: Path, store_url: str | None) -> Iterator[World]:
    yield from make_world(tmp_path, url=store_url)


def test_a_batch_dispatches_each_due_schedule_once(world: World) -> None:
    for i in range(5):
        world.add(f"s{i}", overlap="parallel")
    world.set_time(START + MINUTE)
    dispatcher = Dispatcher(world.rt.ctx, world.rt.plans, "one")
    lease.acquire(world.rt.db, "one", world.clock.now(), timedelta(minutes=5))
    due = dispatcher.due_schedule_ids(world.clock.now(), 100)
    outcomes = dispatcher.fire_schedules(due, world.clock.now())
    assert [o.state for o in outcomes] == ["dispatched"] * 5
    assert dispatcher.fire_schedules(due, world.clock.now()) == []  # already advanced
    assert len(world.jobs()) == 5


async def test_a_failing_schedule_rolls_back_alone(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        world.add(f"s{i}", overlap="parallel")
    world.set_time(START + MINUTE)
    dispatcher = Dispatcher(world.rt.ctx, world.rt.plans, "one")
    lease.acquire(world.rt.db, "one", world.clock.now(), timedelta(minutes=5))
    due = dispatcher.due_schedule_ids(world.clock.now(), 100)
    real = Dispatcher._fire_due

    def fire_due(self: Dispatcher, s: Session, row: Schedule, now: datetime) -> list[Outcome]:
        outcomes = real(self, s, row, now)  # its firing row and job are written, then it fails
        if row.name == "s1":
            raise RuntimeError("boom")
        return outcomes

    monkeypatch.setattr(Dispatcher, "_fire_due", fire_due)
    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.to_thread(dispatcher.fire_schedules, due, world.clock.now())
    assert world.states("s0") == ["dispatched"]
    assert world.states("s1") == []  # rolled back: still due, fired at the next pass
    assert world.states("s2") == ["dispatched"]
    assert len(world.jobs()) == 2

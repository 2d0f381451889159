"""The scheduler loop on a real SQLite database, driven by a manual clock (no sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.fixtures_scheduler import START, World, make_world

MINUTE = timedelta(minutes=1)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    yield from make_world(tmp_path)


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
    assert {j.schedule_id for j in jobs} == {1}
    assert scheduler.is_leader is False

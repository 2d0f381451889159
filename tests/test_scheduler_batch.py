"""Due firings dispatched as one batch: one transaction, written in bulk (scheduler/rounds.py);
if the bulk write fails it rolls back whole and each schedule runs in its own SAVEPOINT, so a
schedule that fails rolls back alone and the others' jobs are committed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from otter_tui.scheduler import lease
from otter_tui.scheduler.dispatch import Dispatcher, Outcome
from otter_tui.scheduler.rounds import Round
from otter_tui.services import context as context_module
from otter_tui.services.audit import AuditService
from otter_tui.store.models import AuditEvent, Schedule
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
    monkeypatch.setattr(Round, "decide", _fails_for_s1(Round.decide))  # and the bulk round
    with pytest.raises(RuntimeError, match="boom"):
        await asyncio.to_thread(dispatcher.fire_schedules, due, world.clock.now())
    assert world.states("s0") == ["dispatched"]
    assert world.states("s1") == []  # rolled back: still due, fired at the next pass
    assert world.states("s2") == ["dispatched"]
    assert len(world.jobs()) == 2


def _fails_for_s1(real: Callable[[Round, int], None]) -> Callable[[Round, int], None]:
    def decide(self: Round, schedule_id: int) -> None:
        real(self, schedule_id)
        if self.batch.schedules[schedule_id].name == "s1":
            raise RuntimeError("boom")

    return decide


def _fire_all(world: World) -> list[Outcome]:
    dispatcher = Dispatcher(world.rt.ctx, world.rt.plans, "one")
    lease.acquire(world.rt.db, "one", world.clock.now(), timedelta(minutes=5))
    due = dispatcher.due_schedule_ids(world.clock.now(), 1000)
    return dispatcher.fire_schedules(due, world.clock.now())


def _audited_jobs(world: World) -> list[str]:
    with world.rt.db.session() as s:
        query = select(AuditEvent.object_name).where(AuditEvent.action == "job.create")
        return sorted(s.scalars(query))


def test_a_round_of_many_schedules_makes_one_job_each_in_one_insert(world: World) -> None:
    """Written in bulk: every job stamped at one instant, one audit event each, chain intact."""
    for i in range(150):
        world.add(f"s{i}", overlap="parallel")
    world.add("gated", plan="gated.Gated", overlap="parallel")
    world.set_time(START + MINUTE)
    outcomes = _fire_all(world)
    assert [o.state for o in outcomes] == ["dispatched"] * 151
    jobs = world.jobs()
    assert len({j.schedule_id for j in jobs}) == len(jobs) == 151
    assert len({j.created_at for j in jobs}) == 1  # one round, one insert
    assert {j.state.value for j in jobs if j.plan_name == "Gated"} == {"pending_approval"}
    assert {o.note for o in outcomes if o.job_id} == {
        f"job {o.job_id} {o.job_state}" for o in outcomes
    }
    assert all(len(world.firings(f"s{i}")) == 1 for i in range(150))
    assert _audited_jobs(world) == sorted(str(j.id) for j in jobs)
    assert AuditService(world.rt.ctx).verify().intact


def test_a_bulk_round_failing_half_way_leaves_nothing_half_written(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The jobs are inserted, then their audit events fail: the whole bulk part rolls back and the
    per-schedule path makes each job exactly once (with its audit event)."""
    for i in range(20):
        world.add(f"s{i}", overlap="parallel")
    world.set_time(START + MINUTE)
    real = context_module.audit_many

    def broken(*args: object, **kwargs: object) -> None:
        real(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr("otter_tui.scheduler.rounds.audit_many", broken)
    outcomes = _fire_all(world)
    assert [o.state for o in outcomes] == ["dispatched"] * 20
    jobs = world.jobs()
    assert len(jobs) == 20
    assert all(world.states(f"s{i}") == ["dispatched"] for i in range(20))
    assert _audited_jobs(world) == sorted(str(j.id) for j in jobs)
    assert AuditService(world.rt.ctx).verify().intact

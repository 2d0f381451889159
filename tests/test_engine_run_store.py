"""Server runs starting and finishing, stored by the recorder's driver-level statements
(``engine/run_store.py``): what reads back through the ORM is what the ORM itself wrote before,
on SQLite and PostgreSQL; an interrupted run keeps its state; a run whose row is gone is skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import update

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.records import JobRecorder, Outcome
from otter_tui.engine.targets import JobPlan, PlannedRun, prepare_job
from otter_tui.events import EventBus, ServerRunStateChanged
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.store.models import RunState, ServerRun
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime
from tests.fixtures_core import FixedClock

pytestmark = pytest.mark.both_stores


def _prepared(rt: Runtime, names: tuple[str, ...]) -> tuple[JobPlan, list[PlannedRun]]:
    for name in names:
        add_local(rt, name)
    job = create(rt, "Echo", TargetSpec(servers=names))
    assert ClaimService(rt.ctx, "here", lease_seconds=30).claim(job.id)
    plan = prepare_job(rt.db, job.id, {})
    return plan, sorted(plan.runs, key=lambda run: run.server.name if run.server else "")


def test_starts_and_finishes_read_back_as_written(
    tmp_path: Path, clock: FixedClock, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, clock=clock, url=store_url)
    plan, (one, two, three, orm) = _prepared(rt, ("a1", "a2", "a3", "a4"))
    job_id = plan.job_id
    bus, dbthread = EventBus(), DbThread()
    seen = bus.subscribe(lossy=False, maxsize=100)
    recorder = JobRecorder(rt.ctx, bus, dbthread)
    started_at = clock()

    async def scenario() -> None:
        await asyncio.gather(*(recorder.run_started(plan, r) for r in (one, two, three)))
        clock.advance(7)
        with rt.db.transaction() as s:  # the worker is stopping: the run is marked interrupted
            s.execute(
                update(ServerRun)
                .where(ServerRun.id == three.run_id)
                .values(state=RunState.INTERRUPTED)
            )
        gone = PlannedRun(10**9, None, None, {}, ())
        await asyncio.gather(
            recorder.finish_run(plan, one, Outcome(RunState.SUCCEEDED, 2, 1, 0)),
            recorder.finish_run(plan, two, Outcome(RunState.FAILED, error="x: it's 'bad'")),
            recorder.finish_run(plan, three, Outcome(RunState.FAILED, 4, 0, 3, "late")),
            recorder.finish_run(plan, gone, Outcome(RunState.SUCCEEDED)),
        )

    asyncio.run(scenario())
    dbthread.close()
    with rt.db.transaction() as s:  # the same time written by the ORM, for the raw comparison
        s.execute(update(ServerRun).where(ServerRun.id == orm.run_id).values(started_at=started_at))
    with rt.db.session() as s:
        raw = f"SELECT id, started_at FROM server_runs WHERE id IN ({one.run_id}, {orm.run_id})"
        stored = {row[0]: row[1] for row in s.connection().exec_driver_sql(raw)}
    assert stored[one.run_id] == stored[orm.run_id]  # byte for byte what the ORM writes
    with rt.db.session() as s:
        rows = {r.id: r for r in s.query(ServerRun).filter(ServerRun.job_id == job_id)}
    first, second, third = rows[one.run_id], rows[two.run_id], rows[three.run_id]
    assert (first.state, first.changes, first.unknowns, first.warnings) == (
        RunState.SUCCEEDED,
        2,
        1,
        0,
    )
    assert first.started_at == started_at and first.finished_at == clock()
    assert first.error == ""
    assert (second.state, second.error, second.finished_at) == (
        RunState.FAILED,
        "x: it's 'bad'",
        clock(),
    )
    # Interrupted stays interrupted (no finish time, no error of its own), but its counts land.
    assert (third.state, third.changes, third.warnings, third.error) == (
        RunState.INTERRUPTED,
        4,
        3,
        "",
    )
    events = []
    while not seen.queue.empty():
        event = seen.queue.get_nowait()
        if isinstance(event, ServerRunStateChanged):
            events.append((event.server_run_id, event.state))
    assert events[-4:] == [
        (one.run_id, "succeeded"),
        (two.run_id, "failed"),
        (three.run_id, "interrupted"),
        (10**9, "succeeded"),
    ]
    rt.close()

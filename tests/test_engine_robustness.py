"""The engine under trouble: a write lock held by another process longer than the busy timeout
is waited out (no line lost, no job stuck ``running``); an error in the engine itself still ends
the job, ``failed`` with the reason."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.logs import LogWriter
from otter_tui.engine.runner import Engine
from otter_tui.events import EventBus, LogLine, LogLines
from otter_tui.services.claims import ClaimService
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime, log_text
from tests.fixtures_core import db_file


def hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    taken.set()
    time.sleep(seconds)
    conn.execute("ROLLBACK")
    conn.close()


async def test_job_survives_a_long_held_write_lock(tmp_path: Path) -> None:
    rt = engine_runtime(tmp_path, database={"busy_timeout_ms": 100})
    add_local(rt, "here")
    job = create(rt, "Echo", TargetSpec(servers=("here",)), lines="50")
    assert ClaimService(rt.ctx, "me").claim(job.id)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    await engine.start()
    taken = threading.Event()
    holder = threading.Thread(target=hold_write_lock, args=(db_file(tmp_path), 1.0, taken))
    holder.start()
    taken.wait()

    state = await engine.run_job(job.id)  # every write of it waits 10x the busy timeout

    await engine.close()
    holder.join()
    assert state.value == "succeeded"
    assert rt.jobs.show(job.id).state == "succeeded"
    assert log_text(rt, job.id, "here")[1:51] == [str(n) for n in range(1, 51)]
    rt.close()


async def test_an_engine_error_still_ends_the_job(tmp_path: Path) -> None:
    rt = engine_runtime(tmp_path)
    add_local(rt, "here")
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    assert ClaimService(rt.ctx, "me").claim(job.id)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    await engine.start()

    async def broken(*_args: object) -> None:
        raise RuntimeError("disk on fire")

    engine.recorder.run_started = broken  # type: ignore[method-assign]
    state = await engine.run_job(job.id)
    await engine.close()

    assert state.value == "failed"
    view = rt.jobs.show(job.id)
    assert view.state == "failed" and view.error == "engine error: RuntimeError: disk on fire"
    rt.close()


async def test_a_finished_run_does_not_wait_for_other_jobs_output(tmp_path: Path) -> None:
    """A run is recorded finished once *its* lines are stored; a busy neighbour that keeps the
    writer's queue full must not hold it back (waiting for the whole queue to drain would)."""
    rt = engine_runtime(tmp_path)
    add_local(rt, "here")
    jobs = [create(rt, "Echo", TargetSpec(servers=("here",))).id for _ in range(2)]
    bus = EventBus()
    writer = LogWriter(rt.db, bus, DbThread(), maxsize=4)
    writer.start()
    busy = asyncio.create_task(flood(bus, jobs[0]))
    await asyncio.sleep(0.2)  # the neighbour's batches now fill the queue
    await bus.publish(LogLines((line(jobs[1], 1), line(jobs[1], 2))))

    await asyncio.wait_for(writer.wait_stored(jobs[1], 2), timeout=5)

    assert not busy.done() and not writer.subscription.queue.empty()
    busy.cancel()
    assert log_text(rt, jobs[1]) == ["line 1", "line 2"]
    rt.close()


def line(job_id: int, seq: int) -> LogLine:
    return LogLine(job_id, None, "", seq, datetime.now(UTC), "info", "stdout", f"line {seq}")


async def flood(bus: EventBus, job_id: int) -> None:
    seq = 0
    while True:
        await bus.publish(LogLines(tuple(line(job_id, seq + i) for i in range(1, 1001))))
        seq += 1000

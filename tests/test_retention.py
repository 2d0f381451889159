"""Retention: old logs and old finished jobs are pruned, active jobs never are; it runs once
from the CLI and periodically in a worker (driven here by an injected clock and sleep)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from otter_tui import cli
from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.retention import PeriodicPrune, prune
from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.store.models import Job, JobState, LogEntry, RunState, ServerRun
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime
from tests.fixtures_core import FixedClock
from tests.fixtures_ssh import wait_until

pytestmark = pytest.mark.both_stores

LINES_PER_JOB = 5


def aged_job(rt: Runtime, state: JobState, days_ago: float, now: datetime) -> int:
    """A job in ``state`` that finished (or, if active, was created) ``days_ago``, with a server
    run and a few log lines."""
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    when = now - timedelta(days=days_ago)
    with rt.db.transaction() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state, job.created_at, job.run_at = state, when, when
        job.finished_at = None if not state.finished else when
        run = ServerRun(job_id=job_id, server_name="here", state=RunState.SUCCEEDED)
        s.add(run)
        s.flush()
        s.add_all(
            LogEntry(job_id=job_id, server_run_id=run.id, seq=i, at=when, text=f"line {i}")
            for i in range(1, LINES_PER_JOB + 1)
        )
    return job_id


def lines_of(rt: Runtime, job_id: int) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).where(LogEntry.job_id == job_id)) or 0


def exists(rt: Runtime, job_id: int) -> bool:
    with rt.db.session() as s:
        return s.get(Job, job_id) is not None


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))


@pytest.fixture
def rt(tmp_path: Path, clock: FixedClock, store_url: str | None) -> Iterator[Runtime]:
    retention = {"log_days": 30, "job_days": 180}
    runtime = engine_runtime(tmp_path, retention=retention, clock=clock, url=store_url)
    add_local(runtime, "here")
    yield runtime
    runtime.close()


def test_prune_removes_old_logs_and_jobs_never_active_ones(rt: Runtime, clock: FixedClock) -> None:
    now = clock.now
    ancient = aged_job(rt, JobState.FAILED, 200, now)
    old = aged_job(rt, JobState.SUCCEEDED, 40, now)
    recent = aged_job(rt, JobState.SUCCEEDED, 1, now)
    running = aged_job(rt, JobState.RUNNING, 400, now)
    waiting = aged_job(rt, JobState.SCHEDULED, 400, now)
    approval = aged_job(rt, JobState.PENDING_APPROVAL, 400, now)

    pruned = prune(rt.ctx)

    assert pruned.jobs == 1 and pruned.log_lines == 2 * LINES_PER_JOB
    assert not exists(rt, ancient)
    with rt.db.session() as s:
        assert s.scalar(select(func.count()).where(ServerRun.job_id == ancient)) == 0
    assert exists(rt, old) and lines_of(rt, old) == 0
    assert rt.jobs.show(old).summary["log_pruned_at"] == now.isoformat()
    assert len(rt.jobs.show(old).server_runs) == 1  # the result stays, only the log goes
    for kept in (recent, running, waiting, approval):
        assert exists(rt, kept) and lines_of(rt, kept) == LINES_PER_JOB
    assert prune(rt.ctx).jobs == 0  # idempotent


def test_zero_days_keeps_everything(tmp_path: Path, clock: FixedClock) -> None:
    runtime = engine_runtime(tmp_path, retention={"log_days": 0, "job_days": 0}, clock=clock)
    add_local(runtime, "here")
    job = aged_job(runtime, JobState.SUCCEEDED, 5000, clock.now)
    assert prune(runtime.ctx).describe() == "pruned 0 job(s) and 0 log line(s)"
    assert lines_of(runtime, job) == LINES_PER_JOB


def fake_sleep(clock: FixedClock, ticks: int) -> tuple[list[float], Callable[[float], object]]:
    """A sleep that moves the clock instead of waiting, and stops the loop after ``ticks``."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) >= ticks:
            raise RuntimeError("enough")
        clock.advance(seconds)

    return slept, sleep


async def test_periodic_prune_catches_jobs_as_they_age(rt: Runtime, clock: FixedClock) -> None:
    job = aged_job(rt, JobState.SUCCEEDED, 29, clock.now)
    slept, sleep = fake_sleep(clock, ticks=3)
    dbthread = DbThread()
    periodic = PeriodicPrune(rt.ctx, dbthread, interval=86_400, sleep=sleep)  # type: ignore[arg-type]

    with pytest.raises(RuntimeError, match="enough"):
        await periodic.run_forever()
    dbthread.close()

    assert periodic.runs == 3 and slept == [86_400] * 3
    assert lines_of(rt, job) == 0  # 29 days old at the first prune, 31 at the third


async def test_worker_prunes_in_the_background(rt: Runtime, clock: FixedClock) -> None:
    old = aged_job(rt, JobState.SUCCEEDED, 365, clock.now)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    worker = Worker(engine, poll_seconds=0.05)
    await engine.start()
    await worker.start()
    try:
        assert await wait_until(lambda: not exists(rt, old), timeout=10)
    finally:
        await worker.stop(1)
        await engine.close()
    assert worker.retention is not None and worker.retention.runs >= 1


def test_jobs_prune_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], clock: FixedClock
) -> None:
    runtime = engine_runtime(tmp_path, retention={"log_days": 30, "job_days": 180}, clock=clock)
    add_local(runtime, "here")
    gone = aged_job(runtime, JobState.SUCCEEDED, 181, clock.now)
    trimmed = aged_job(runtime, JobState.SUCCEEDED, 31, clock.now)
    config = str(tmp_path / "config.toml")

    assert cli.run(["--config", config, "jobs", "prune"], actor="alice", clock=clock) == 0
    assert "pruned 1 job(s) and 10 log line(s)" in capsys.readouterr().out
    assert not exists(runtime, gone)
    logs = ["--config", config, "jobs", "logs", str(trimmed)]
    assert cli.run(logs, actor="alice", clock=clock) == 0
    assert "(log pruned by retention at " in capsys.readouterr().out

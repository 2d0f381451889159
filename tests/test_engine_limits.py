"""Time limits and cancel against a real sshd: the remote ``sleep`` must be gone afterwards.

Each test runs ``sleep N`` with an N no one else uses, so ``pgrep`` on this machine (where the
sshd servers run) tells whether the server-side process survived.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otter_tui import cli
from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, create, engine_runtime, log_text, run_now
from tests.fixtures_ssh import pgrep, unique_sleep, wait_until


def test_soft_limit_stops_the_run_and_lets_it_clean_up(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    [name] = add_fleet(rt, ssh_fleet, [0])
    sleep = unique_sleep()
    job = create(rt, "Limited", TargetSpec(servers=(name,)), seconds=sleep.split()[1])

    assert run_now(rt, job.id) == "failed"

    [run] = rt.jobs.show(job.id).server_runs
    assert run.state == "failed" and "soft time limit (1s)" in run.error
    assert "cleaned up" in log_text(rt, job.id, name)
    assert asyncio.run(wait_until(lambda: not pgrep(sleep), timeout=5))
    rt.close()


def test_hard_limit_kills_a_run_that_ignores_the_soft_one(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    [name] = add_fleet(rt, ssh_fleet, [1])
    sleep = unique_sleep()
    job = create(rt, "Stubborn", TargetSpec(servers=(name,)), seconds=sleep.split()[1])

    assert run_now(rt, job.id) == "failed"

    [run] = rt.jobs.show(job.id).server_runs
    assert run.state == "failed" and "time limit (2s) reached; killed" in run.error
    assert "ignoring the request to stop" in log_text(rt, job.id, name)
    assert asyncio.run(wait_until(lambda: not pgrep(sleep), timeout=5))
    rt.close()


@contextlib.asynccontextmanager
async def sleeping(rt: Runtime, sleep: str) -> AsyncIterator[None]:
    """A worker runs the queued job until its two remote ``sleep`` processes run; stopped after."""
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    worker = Worker(engine, poll_seconds=0.05, prune_every=None)
    await engine.start()
    await worker.start()
    try:
        assert await wait_until(lambda: len(pgrep(f"^{sleep}$")) == 2, timeout=15)
        yield
    finally:
        await worker.stop(5)
        await engine.close()


@pytest.mark.asyncio
async def test_jobs_cancel_ends_the_remote_sleep(tmp_path: Path, ssh_fleet: SshdFleet) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet, engine={"lease_seconds": 30})  # renewed every 10 s
    names = add_fleet(rt, ssh_fleet, [2, 3])
    sleep = unique_sleep()
    job = create(rt, "Sleeper", TargetSpec(servers=tuple(names)), seconds=sleep.split()[1])
    async with sleeping(rt, sleep):
        asked = time.monotonic()
        argv = ["--config", str(tmp_path / "config.toml"), "jobs", "cancel", str(job.id)]
        assert await asyncio.to_thread(cli.run, argv, actor="alice") == 0
        assert await wait_until(lambda: rt.jobs.show(job.id).state == "cancelled", timeout=10)
        assert time.monotonic() - asked < 6  # polled every second, not at the 10 s renewal
    assert await wait_until(lambda: not pgrep(sleep), timeout=5)
    runs = rt.jobs.show(job.id).server_runs
    assert {r.state for r in runs} == {"cancelled"}
    assert all(r.error == "cancelled" for r in runs)
    rt.close()


@pytest.mark.asyncio
async def test_a_cancel_past_its_grace_kills_the_run_which_stays_cancelled(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    """No grace at all: the runs are killed at once, yet they were cancelled, not failed, and
    the remote sleep is still ended before the connection is dropped."""
    rt = engine_runtime(
        tmp_path, ssh_fleet, engine={"lease_seconds": 30, "cancel_grace_seconds": 0}
    )
    names = add_fleet(rt, ssh_fleet, [0, 1])
    sleep = unique_sleep()
    job = create(rt, "Sleeper", TargetSpec(servers=tuple(names)), seconds=sleep.split()[1])
    async with sleeping(rt, sleep):
        rt.jobs.cancel(job.id)
        assert await wait_until(lambda: rt.jobs.show(job.id).state == "cancelled", timeout=15)
    runs = rt.jobs.show(job.id).server_runs
    assert {r.state for r in runs} == {"cancelled"}, [(r.state, r.error) for r in runs]
    assert all(r.error == "cancelled; did not stop within 0s; killed" for r in runs)
    assert await wait_until(lambda: not pgrep(sleep), timeout=5), "no remote sleep left behind"
    rt.close()

"""``kill -9`` of ``otter-tui run`` mid-job, then a new start: the job is ``interrupted``, the
server runs that had finished are there with their whole logs, and nothing is run again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.context import ServiceContext, system_clock
from otter_tui.services.plans import PlanService
from tests.engine_support import add_local, engine_runtime, log_text
from tests.fixtures_core import admit_os_account
from tests.fixtures_ssh import pgrep, unique_sleep, wait_until

OTTER = str(Path(sys.executable).with_name("otter-tui"))


@pytest.mark.asyncio
async def test_kill_9_mid_job_then_restart(tmp_path: Path) -> None:
    rt = engine_runtime(tmp_path, engine={"lease_seconds": 2})
    for name in ("fast1", "fast2", "slow"):
        add_local(rt, name)
    rt.variables.set("server", "fast1", "delay", "0")
    rt.variables.set("server", "fast2", "delay", "0")
    slow = unique_sleep()
    rt.variables.set("server", "slow", "delay", slow.split()[1])
    argv = [OTTER, "--config", str(tmp_path / "config.toml"), "run", "engine_plans.Staggered"]
    admit_os_account(rt)
    child = subprocess.Popen([*argv, "--roles", "fleet"], stdout=subprocess.DEVNULL)
    try:
        assert await wait_until(lambda: two_finished(rt), timeout=30)
        assert await wait_until(lambda: bool(pgrep(slow)), timeout=10)
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    finally:
        for pid in pgrep(slow):
            os.kill(pid, signal.SIGKILL)
    job = rt.jobs.recent(limit=1)[0]
    assert job.state == "running"  # nobody has noticed yet

    await start_worker_later(rt.ctx, minutes=1)

    view = rt.jobs.show(job.id)
    assert view.state == "interrupted"
    assert "stopped before the job finished" in view.error
    states = {r.server: r.state for r in view.server_runs}
    assert states == {"fast1": "succeeded", "fast2": "succeeded", "slow": "interrupted"}
    for name in ("fast1", "fast2"):
        assert log_text(rt, job.id, name) == [
            "run: echo start; sleep 0",
            "start",
            f"done on {name}",
        ]
    headers = [x for x in log_text(rt, job.id) if x.startswith("running Staggered")]
    assert len(headers) == 1  # never run again
    assert rt.jobs.count() == 1
    rt.close()


def two_finished(rt: Runtime) -> bool:
    jobs = rt.jobs.recent(limit=1)
    if not jobs:
        return False
    runs = rt.jobs.show(jobs[0].id).server_runs
    return sum(r.state == "succeeded" for r in runs) == 2


async def start_worker_later(ctx: ServiceContext, minutes: int) -> None:
    """Start a worker whose clock is ``minutes`` ahead (the dead worker's lease has expired),
    let it poll a few times, and stop it."""
    later = ServiceContext(
        ctx.db, ctx.settings, ctx.actor, lambda: system_clock() + timedelta(minutes=minutes)
    )
    engine = Engine(later, EventBus(), plans=PlanService(later))
    worker = Worker(engine, poll_seconds=0.05, prune_every=None)
    await engine.start()
    await worker.start()
    await wait_until(lambda: False, timeout=0.5)  # several claim polls
    await worker.stop(1)
    await engine.close()

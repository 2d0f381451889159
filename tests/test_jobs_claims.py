"""Exactly once: a singleton plan under 20 simultaneous requests, and two workers (two processes,
then two engines) on one SQLite file never running the same job twice."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy import func, select

from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.errors import ConflictError
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.services.context import ServiceContext
from otter_tui.services.jobs import JobRequest, JobService, JobView
from otter_tui.services.plans import PlanService
from otter_tui.store.db import Database
from otter_tui.store.models import Job, JobState, LogEntry, ServerRun
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime, run_now
from tests.fixtures_ssh import wait_until

pytestmark = pytest.mark.both_stores

REQUESTS = 20


def own_context(rt: Runtime) -> ServiceContext:
    """A context on its own connection pool, as another process would have."""
    db = Database(rt.settings.database_url, rt.settings.database.busy_timeout_ms)
    return ServiceContext(db, rt.settings, rt.ctx.actor, rt.ctx.clock)


def test_singleton_twenty_concurrent_requests_one_job(
    tmp_path: Path, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, url=store_url)
    server = add_local(rt, "here")
    contexts = [own_context(rt) for _ in range(REQUESTS)]
    barrier = threading.Barrier(REQUESTS)
    created: list[int] = []
    refused: list[str] = []

    def request(ctx: ServiceContext) -> None:
        service = JobService(ctx, PlanService(ctx))
        barrier.wait()
        try:
            created.append(create_sleeper(service, server).id)
        except ConflictError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=request, args=(c,)) for c in contexts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert len(created) == 1 and len(refused) == REQUESTS - 1
    assert all(f"singleton and job {created[0]} is still active" in m for m in refused)
    assert rt.jobs.count() == 1
    assert run_now(rt, created[0]) == "succeeded"
    assert create_sleeper(rt.jobs, server).state == "queued"  # free again once it ended
    for ctx in contexts:
        ctx.db.dispose()
    rt.close()


def create_sleeper(service: JobService, server: str) -> JobView:
    targets = TargetSpec(servers=(server,))
    return service.create(JobRequest("engine_plans.Sleeper", targets, {"seconds": "0"}))


CLAIMER = """
import sys, time
from pathlib import Path
from otter_tui.config import load_settings
from otter_tui.services.claims import ClaimService
from otter_tui.services.claims import ClaimService
from otter_tui.services.context import ServiceContext
from otter_tui.store.db import Database

settings = load_settings(sys.argv[1])
db = Database(settings.database_url, settings.database.busy_timeout_ms)
claims = ClaimService(ServiceContext(db, settings, "alice"), sys.argv[2])
go = Path(sys.argv[3])
claims.cancel_requested([-1])  # connected, so both start claiming on equal terms
Path(f"{go}.{sys.argv[2]}").touch()
while not go.exists():
    time.sleep(0.001)
while (job := claims.claim_next(["default"])) is not None:
    print(job, flush=True)
    time.sleep(0.005)  # as a worker does, it starts what it took before it claims again
"""


def test_two_processes_never_claim_one_job_twice(tmp_path: Path, store_url: str | None) -> None:
    rt = engine_runtime(tmp_path, url=store_url)
    server = add_local(rt, "here")
    jobs = {create(rt, "Echo", TargetSpec(servers=(server,))).id for _ in range(300)}
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", CLAIMER, str(tmp_path / "config.toml"), f"w{i}", str(go)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    ready = [tmp_path / f"go.w{i}" for i in range(2)]
    deadline = time.monotonic() + 60
    while not all(p.exists() for p in ready):  # both connected and polling for the start file
        assert time.monotonic() < deadline, "a claimer did not start"
        time.sleep(0.01)
    go.touch()
    claimed = [{int(x) for x in w.communicate(timeout=60)[0].split()} for w in workers]

    assert claimed[0].isdisjoint(claimed[1])
    assert claimed[0] | claimed[1] == jobs
    assert claimed[0] and claimed[1], "both workers should have won some claims"
    with rt.db.session() as s:
        owners = {job: worker for job, worker in s.execute(select(Job.id, Job.worker))}
    assert all(owners[j] == "w0" for j in claimed[0])
    assert all(owners[j] == "w1" for j in claimed[1])
    rt.close()


@pytest.mark.asyncio
async def test_two_workers_run_each_job_once(tmp_path: Path, store_url: str | None) -> None:
    # A lease far longer than a beat: this is about claims, not about noticing dead workers. With
    # the tests' 3 s lease, a CI run under faketime on a loaded machine once saw a live worker's
    # renewal late enough for the other worker to mark three of its jobs interrupted.
    rt = engine_runtime(tmp_path, url=store_url, engine={"lease_seconds": 20})
    server = add_local(rt, "here")
    jobs = [create(rt, "Staggered", TargetSpec(servers=(server,))).id for _ in range(24)]
    contexts = [own_context(rt) for _ in range(2)]
    engines = [Engine(ctx, EventBus(), plans=PlanService(ctx)) for ctx in contexts]
    workers = [
        Worker(e, poll_seconds=0.05, name=f"worker{i}", prune_every=None)
        for i, e in enumerate(engines)
    ]
    for engine, worker in zip(engines, workers, strict=True):
        await engine.start()
        await worker.start()

    def all_done() -> bool:
        return all(v.state == "succeeded" for v in rt.jobs.recent(limit=100))

    assert await wait_until(all_done, timeout=60)
    for engine, worker in zip(engines, workers, strict=True):
        await worker.stop(5)
        await engine.close()

    with rt.db.session() as s:
        runs_per_job = select(ServerRun.job_id, func.count()).group_by(ServerRun.job_id)
        runs = {job: n for job, n in s.execute(runs_per_job)}
        headers = s.scalar(select(func.count()).where(LogEntry.text.like("running Staggered on %")))
        per_worker = select(Job.worker, func.count()).group_by(Job.worker)
        by_worker = {worker: n for worker, n in s.execute(per_worker)}
    assert runs == {job: 1 for job in jobs}
    assert headers == len(jobs)
    assert set(by_worker) == {"worker0", "worker1"}
    for ctx in contexts:
        ctx.db.dispose()
    rt.close()


def test_the_oldest_due_job_goes_first_even_one_checked_after_its_claim(
    tmp_path: Path, store_url: str | None
) -> None:
    """On PostgreSQL a plain job is claimed by one statement and a singleton's by the checked
    claim; neither path may overtake the other's older job, nor run a singleton twice."""
    rt = engine_runtime(tmp_path, url=store_url)
    server = add_local(rt, "here")
    singleton = create_sleeper(rt.jobs, server).id
    plain = [create(rt, "Echo", TargetSpec(servers=(server,))).id for _ in range(2)]
    claims = ClaimService(rt.ctx, "w1")
    assert [claims.claim_next(["default"]) for _ in range(3)] == [singleton, *plain]
    with rt.db.transaction() as s:  # the singleton's job ended; a second one waits for a claim
        s.get_one(Job, singleton).state = JobState.SUCCEEDED
    second = create_sleeper(rt.jobs, server).id
    later = create(rt, "Echo", TargetSpec(servers=(server,))).id
    assert claims.claim_next(["default"]) == second
    assert claims.claim_next(["default"]) == later
    assert claims.claim_next(["default"]) is None
    rt.close()


async def test_a_wake_up_during_a_claim_pass_is_not_lost(tmp_path: Path) -> None:
    """Something that wakes the worker while a pass is looking (a split job's slices ready, a
    job queued) gets a pass of its own at once, not at the next poll, 5 minutes away here."""
    rt = engine_runtime(tmp_path)
    engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
    loop = asyncio.get_running_loop()
    second_pass = asyncio.Event()

    class WakesDuringTheFirstPass:
        calls = 0

        def claim_next(self, queues: Sequence[str]) -> int | None:  # on the database thread
            self.calls += 1
            if self.calls == 1:
                loop.call_soon_threadsafe(worker.notify)  # e.g. a job's run ended meanwhile
            else:
                loop.call_soon_threadsafe(second_pass.set)
            return None

        def yields(self, queue: str) -> bool:
            return False

    worker = Worker(
        engine, poll_seconds=300, name="w", backend=WakesDuringTheFirstPass(), prune_every=None
    )
    await engine.start()
    await worker.start()
    try:
        await asyncio.wait_for(second_pass.wait(), timeout=30)
    finally:
        await worker.stop(5)
        await engine.close()
        rt.close()

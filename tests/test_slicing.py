"""Slicing on both databases: a job on more servers than ``jobs.slice_size`` is split into slices
that any worker of its queue claims; every run is done once, each server's log is whole and in
order, the job ends once all slices end; a cancel reaches every slice; a slice whose worker died
is marked ``interrupted`` (never re-run) and the job ends when the others are done.

The workers are real :class:`Worker` objects, each on its own :class:`Engine` (as in separate
daemons), on one SQLite file or one PostgreSQL database; servers use the local transport.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.cli import run
from otter_tui.engine.runner import Engine
from otter_tui.engine.targets import prepare_job
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services import presence
from otter_tui.services.claims import ClaimService
from otter_tui.services.slices import ClaimedSlice, SliceService
from otter_tui.store.models import JobSlice, ServerRun
from otter_tui.targeting import TargetSpec
from screens.job_detail import run_title
from screens.job_runner import ConsoleRunner
from tests.engine_support import add_local, create, engine_runtime
from tests.fixtures_core import ACTOR
from tests.fixtures_ssh import unique_sleep

pytestmark = pytest.mark.both_stores

SERVERS = 8
SIZE = 3
FLEET = TargetSpec(roles=("fleet",))
LEASE = timedelta(minutes=5)


@pytest.fixture
def rt(tmp_path: Path, store_url: str | None) -> Iterator[Runtime]:
    runtime = engine_runtime(tmp_path, url=store_url, jobs={"slice_size": SIZE})
    for i in range(SERVERS):
        add_local(runtime, f"local{i:02d}")
    yield runtime
    runtime.close()


class Workers:
    """Workers on engines of their own, started and stopped together."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.workers: list[Worker] = []

    async def start(self, *names: str, poll_seconds: float = 0.05) -> None:
        for name in names:
            engine = Engine(self.rt.ctx, EventBus(), plans=self.rt.plans)
            worker = Worker(engine, poll_seconds=poll_seconds, name=name, prune_every=None)
            await engine.start()
            await worker.start()
            self.workers.append(worker)

    async def stop(self) -> None:
        for worker in self.workers:
            await worker.stop(5)
            await worker.engine.close()


@pytest.fixture
async def workers(rt: Runtime) -> AsyncIterator[Workers]:
    group = Workers(rt)
    yield group
    await group.stop()


async def finished(rt: Runtime, job_id: int, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while not (state := rt.jobs.show(job_id).state) or state in ("queued", "running"):
        assert time.monotonic() < deadline, f"job {job_id} still {state}"
        await asyncio.sleep(0.05)
    return state


def slices_of(rt: Runtime, job_id: int) -> list[tuple[int, str, str | None]]:
    with rt.db.session() as s:
        query = select(JobSlice.number, JobSlice.state, JobSlice.worker)
        rows = s.execute(query.where(JobSlice.job_id == job_id).order_by(JobSlice.number))
        return [(n, state.value, worker) for n, state, worker in rows]


def runs_of(rt: Runtime, job_id: int) -> dict[str, tuple[str, int | None]]:
    with rt.db.session() as s:
        query = select(ServerRun.server_name, ServerRun.state, ServerRun.slice_number)
        rows = list(s.execute(query.where(ServerRun.job_id == job_id)))
    assert len(rows) == len({name for name, _, _ in rows}), "one run per server"
    return {name: (state.value, number) for name, state, number in rows}


async def test_a_big_job_is_split_and_every_run_is_done_once_in_order(
    rt: Runtime, workers: Workers
) -> None:
    await workers.start("w1", "w2")
    job = create(rt, "Echo", FLEET, lines="3")
    assert await finished(rt, job.id) == "succeeded"

    assert {n: s for n, s, _ in slices_of(rt, job.id)} == {1: "done", 2: "done", 3: "done"}
    assert {w for _, _, w in slices_of(rt, job.id)} <= {"w1", "w2"}
    runs = runs_of(rt, job.id)
    assert len(runs) == SERVERS and {s for s, _ in runs.values()} == {"succeeded"}
    assert sorted(n for _, n in runs.values()) == [1, 1, 1, 2, 2, 2, 3, 3]
    lines = rt.jobs.logs(job.id, limit=10_000)
    seqs = [line.seq for line in lines]
    assert seqs == list(range(1, len(lines) + 1)), "numbered in the order stored, with no gap"
    for name in runs:
        mine = [line.text for line in lines if line.server == name]
        assert mine[-4:] == ["1", "2", "3", f"done on {name}"], mine
    assert (
        lines[-1].text.startswith("job succeeded: 8 succeeded") and "in 3 slices" in lines[-1].text
    )
    view = rt.jobs.show(job.id)
    assert view.summary["server_runs"] == SERVERS and view.summary["slices"] == 3
    assert view.slices == 3 and {r.worker for r in view.server_runs} <= {"w1", "w2"}
    first = view.server_runs[0]
    assert run_title(first) == f"local00 (slice 1 on {first.worker})"


def test_jobs_show_says_which_worker_ran_each_slice(
    rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    job = create(rt, "Echo", FLEET, lines="1")
    assert ClaimService(rt.ctx, "w0", 3).claim(job.id)
    prepare_job(rt.db, job.id, {}, None, SIZE)
    assert SliceService(rt.ctx, "w9", 3).claim_next(["default"]) is not None
    assert run(["--config", str(rt.settings.source), "jobs", "show", str(job.id)], actor=ACTOR) == 0
    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines() if line.startswith(tuple("0123456789"))]
    assert rows[0][-2:] == ["1", "w9"] and rows[-1][-2:] == ["3", "-"], out


async def test_a_lone_worker_runs_every_slice_at_once(rt: Runtime, workers: Workers) -> None:
    await workers.start("w1")
    job = create(rt, "Sleeper", FLEET, seconds="1")
    assert await finished(rt, job.id) == "succeeded"
    with rt.db.session() as s:
        query = select(JobSlice.started_at, JobSlice.finished_at).where(JobSlice.job_id == job.id)
        times = list(s.execute(query.order_by(JobSlice.number)))
    assert len(times) == 3
    first_end = times[0][1]
    assert first_end is not None and all(start < first_end for start, _ in times), times


async def test_a_job_within_the_slice_size_runs_whole(rt: Runtime, workers: Workers) -> None:
    await workers.start("w1")
    servers = ("local00", "local01", "local02")
    job = create(rt, "Echo", TargetSpec(servers=servers), lines="1")
    assert await finished(rt, job.id) == "succeeded"
    assert slices_of(rt, job.id) == []
    assert {n for _, n in runs_of(rt, job.id).values()} == {None}


async def test_a_cancel_reaches_every_slice(rt: Runtime, workers: Workers) -> None:
    await workers.start("w1", "w2")
    sleep = unique_sleep().split()[1]
    job = create(rt, "Sleeper", FLEET, seconds=sleep)
    deadline = time.monotonic() + 30
    while sum(s == "running" for s, _ in runs_of(rt, job.id).values()) < SIZE:
        assert time.monotonic() < deadline, runs_of(rt, job.id)
        await asyncio.sleep(0.05)
    rt.jobs.cancel(job.id)
    assert await finished(rt, job.id) == "cancelled"
    assert {s for s, _ in runs_of(rt, job.id).values()} == {"cancelled"}
    assert {s for _, s, _ in slices_of(rt, job.id)} == {"done"}
    assert rt.jobs.logs(job.id, limit=10_000)[-1].text.startswith("job cancelled: 8 cancelled")


async def test_a_slice_whose_worker_died_is_interrupted_and_never_rerun(
    rt: Runtime, workers: Workers
) -> None:
    job = create(rt, "Echo", FLEET, lines="2")
    # A worker claims the job, splits it and takes slice 1, then dies (its leases are short).
    assert ClaimService(rt.ctx, "gone:1", 3).claim(job.id)
    prepare_job(rt.db, job.id, {}, None, SIZE)
    dead = SliceService(rt.ctx, "gone:1", 0.2).claim_next(["default"])
    assert dead is not None and dead.number == 1
    await workers.start("w1")
    assert await finished(rt, job.id) == "interrupted"

    assert slices_of(rt, job.id) == [
        (1, "interrupted", "gone:1"),
        (2, "done", "w1"),
        (3, "done", "w1"),
    ]
    runs = runs_of(rt, job.id)
    assert {s for s, n in runs.values() if n == 1} == {"interrupted"}
    assert {s for s, n in runs.values() if n != 1} == {"succeeded"}
    lines = rt.jobs.logs(job.id, limit=10_000)
    never_run = {name for name, (_, n) in runs.items() if n == 1}
    assert not [line for line in lines if line.server in never_run], "never re-run"
    view = rt.jobs.show(job.id)
    assert view.error == "worker gone:1 stopped before its slice finished"
    assert view.summary["states"] == {"interrupted": 3, "succeeded": 5}


SliceClaim = Callable[[Sequence[str], Sequence[int], float], ClaimedSlice | None]


async def lone_worker(
    workers: Workers, claim: Callable[[Worker, SliceClaim], SliceClaim]
) -> Worker:
    """One worker that claims only when woken (a 300 s poll), its slice claims wrapped."""
    await workers.start("w1", poll_seconds=300)
    worker = workers.workers[0]
    worker.slices.claim_next = claim(worker, worker.slices.claim_next)  # type: ignore[method-assign]
    return worker


async def test_a_job_split_here_is_here_until_its_first_slice_is_claimed(
    rt: Runtime, workers: Workers
) -> None:
    """Between splitting a job and claiming its first slice the job is still this worker's (the
    console asks before quitting then: it would leave the job waiting for another worker)."""
    here_at_first_claim: list[list[int]] = []

    def noting(worker: Worker, claim: SliceClaim) -> SliceClaim:
        def claim_next(queues: Sequence[str], busy: Sequence[int] = (), grace: float = 0.0):
            here = worker.jobs_here()
            part = claim(queues, busy, grace)
            if part is not None and not here_at_first_claim:
                here_at_first_claim.append(here)
            return part

        return claim_next

    worker = await lone_worker(workers, noting)
    job = create(rt, "Echo", FLEET, lines="1")
    worker.notify()
    assert await finished(rt, job.id) == "succeeded"
    assert here_at_first_claim == [[job.id]]
    deadline = time.monotonic() + 30
    while worker.jobs_here():  # the last slice's task ends just after the job's row does
        assert time.monotonic() < deadline, worker.jobs_here()
        await asyncio.sleep(0.02)


async def test_a_job_split_here_whose_slices_others_run_is_not_here(
    rt: Runtime, workers: Workers
) -> None:
    """A worker that finds none of its split job's slices left for it (other workers took them
    all) no longer counts the job as its own: quitting it interrupts nothing."""
    worker = await lone_worker(workers, lambda _worker, _claim: lambda *_args: None)
    job = create(rt, "Echo", FLEET, lines="1")
    worker.notify()
    deadline = time.monotonic() + 30
    while len(slices_of(rt, job.id)) < 3 or worker.jobs_here():
        assert time.monotonic() < deadline, (slices_of(rt, job.id), worker.jobs_here())
        await asyncio.sleep(0.05)
    assert rt.jobs.show(job.id).state == "running"
    assert {state for _, state, _ in slices_of(rt, job.id)} == {"queued"}
    await workers.start("w2")
    assert await finished(rt, job.id) == "succeeded"


async def test_a_console_leaves_a_daemons_slices_to_it_until_the_daemon_is_gone(
    rt: Runtime,
) -> None:
    """While a daemon serves the queue the console claims nothing of it, not even a slice of a
    job the daemon split (it ran them all before); once the daemon is gone it runs them."""
    daemon = "otter-host:4242"
    now = rt.ctx.now()
    presence.announce(rt.db, daemon, scheduler=False, queues=("default",), now=now, length=LEASE)
    job = create(rt, "Echo", FLEET, lines="1")
    assert ClaimService(rt.ctx, daemon, 300).claim(job.id)
    prepare_job(rt.db, job.id, {}, None, SIZE)
    runner = ConsoleRunner(rt, EventBus(), poll_seconds=0.05)
    passes = 0
    look = runner.worker._queues_with_room

    def counted(busy: dict[str, int]) -> list[str]:
        nonlocal passes
        passes += 1
        return look(busy)

    runner.worker._queues_with_room = counted  # type: ignore[method-assign]
    await runner.start()
    try:
        deadline = time.monotonic() + 30
        while passes < 3:  # two whole claim passes, and a third begun
            assert time.monotonic() < deadline
            await asyncio.sleep(0.02)
        assert runner.daemon == daemon and runner.running == []
        assert {state for _, state, _ in slices_of(rt, job.id)} == {"queued"}
        presence.withdraw(rt.db, daemon)
        assert await finished(rt, job.id) == "succeeded"
        assert {worker for _, _, worker in slices_of(rt, job.id)} == {runner.name}
    finally:
        await runner.stop()

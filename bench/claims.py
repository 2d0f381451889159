"""Claims across processes: throughput and duplicates draining 10,000 queued no-op jobs with 1, 2
and 4 worker processes, on PostgreSQL and, side by side as the baseline, on a SQLite file; and
job-created-to-claimed latency on PostgreSQL with LISTEN/NOTIFY, beside the 2 s poll it replaces.

    .venv/bin/python -m bench.claims            # 10,000 jobs, 1/2/4 workers, 200 latency samples
    .venv/bin/python -m bench.claims --jobs 2000 --samples 50

Each worker is its own process with its own connection pool and runs the product's claim
(:meth:`ClaimService.claim_next`, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, ``BEGIN IMMEDIATE``
on SQLite) until the queue is empty; a no-op job is only claimed, never run, so the figure is the
claim path alone. Jobs are bulk-inserted rows, as the job service would store them. Latency runs
a real :class:`Worker` (poll set to 60 s, so only a notice can wake it) in one process while
another process creates jobs through the job service; it is each job's ``started_at`` (stamped at
its claim) minus its ``created_at``.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from bench.timing import percentile
from otter_tui.config import Settings, settings_from_mapping
from otter_tui.services.claims import ClaimService
from otter_tui.services.context import ServiceContext
from otter_tui.store.db import Database, open_database
from otter_tui.store.models import Job, PlanKind
from otter_tui.testing.postgres import PostgresCluster

WORKERS = (1, 2, 4)
NOOP_PLAN = '''
from otter_tui.plan import OrchestrationPlan, RunContext


class Noop(OrchestrationPlan):
    """Does nothing."""

    name = "Noop"

    async def run(self, ctx: RunContext) -> None:
        pass
'''


def settings_for(url: str, root: Path) -> Settings:
    paths = {"data_dir": str(root / "data"), "plans_dir": str(root / "plans")}
    return settings_from_mapping({"database": {"url": url}, "paths": paths}, None)


def fill(url: str, jobs: int) -> None:
    db = open_database(url)
    row = {
        "kind": PlanKind.ORCHESTRATION,
        "plan_key": "noop.Noop",
        "plan_name": "Noop",
        "targets": {},
        "variables": {},
        "sensitive_names": [],
        "requested_by": "bench",
    }
    with db.transaction() as s:
        s.execute(insert(Job), [row] * jobs)
    with db.engine.connect() as conn:  # what autovacuum does after a bulk insert
        conn.exec_driver_sql("ANALYZE jobs")
        conn.commit()
    db.dispose()


def drain(url: str, name: str, go: Any, out: Any) -> None:
    """A worker process: claim until nothing is left; report the ids it won."""
    db = Database(url)
    ctx = ServiceContext(db, settings_for(url, Path(tempfile.gettempdir())), "bench")
    claims = ClaimService(ctx, name)
    go.wait()
    won: list[int] = []
    while (job := claims.claim_next(["default"])) is not None:
        won.append(job)
    out.put(won)
    db.dispose()


def measure_claims(url: str, workers: int, jobs: int) -> dict[str, float]:
    fill(url, jobs)
    spawn = mp.get_context("spawn")
    go, out = spawn.Event(), spawn.Queue()
    procs = [spawn.Process(target=drain, args=(url, f"w{i}", go, out)) for i in range(workers)]
    for proc in procs:
        proc.start()
    time.sleep(2.0)  # every interpreter up and waiting
    started = time.perf_counter()
    go.set()
    won = [out.get(timeout=600) for _ in procs]
    elapsed = time.perf_counter() - started
    for proc in procs:
        proc.join()
    claimed = [job for ids in won for job in ids]
    return {
        "claims_per_s": len(claimed) / elapsed,
        "duplicates": len(claimed) - len(set(claimed)),
        "unclaimed": jobs - len(set(claimed)),
        "seconds": elapsed,
    }


def listen_worker(url: str, root: str, ready: Any, stop: Any) -> None:
    """A process running a real Worker that only a NOTIFY can wake (poll: 60 s)."""
    asyncio.run(_listen_worker(url, Path(root), ready, stop))


async def _listen_worker(url: str, root: Path, ready: Any, stop: Any) -> None:
    from otter_tui.engine.runner import Engine
    from otter_tui.engine.worker import Worker
    from otter_tui.events import EventBus
    from otter_tui.services.plans import PlanService

    db = Database(url)
    ctx = ServiceContext(db, settings_for(url, root), "bench")
    engine = Engine(ctx, EventBus(), plans=PlanService(ctx))
    worker = Worker(engine, poll_seconds=60.0, name="listener", prune_every=None)
    await engine.start()
    await worker.start()
    await asyncio.sleep(1.0)  # LISTEN in place
    ready.set()
    while not stop.is_set():
        await asyncio.sleep(0.1)
    await worker.stop(5)
    await engine.close()
    db.dispose()


def measure_latency(url: str, samples: int) -> dict[str, float]:
    from otter_tui.runtime import open_runtime
    from otter_tui.services.jobs import JobRequest

    root = Path(tempfile.mkdtemp(prefix="otter-bench-claims-"))
    (root / "plans").mkdir()
    (root / "plans" / "noop.py").write_text(NOOP_PLAN)
    rt = open_runtime(settings=settings_for(url, root), actor="bench", seed=False)
    rt.plans.set_enabled("noop.Noop", True)
    spawn = mp.get_context("spawn")
    ready, stop = spawn.Event(), spawn.Event()
    proc = spawn.Process(target=listen_worker, args=(url, str(root), ready, stop))
    proc.start()
    ready.wait(60)
    ids = []
    for _ in range(samples):
        ids.append(rt.jobs.create(JobRequest("noop.Noop")).id)
        time.sleep(0.1)  # 10 jobs a second: latency, not a backlog behind a busy worker
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with rt.db.session() as s:
            rows = s.execute(select(Job.created_at, Job.started_at).where(Job.id.in_(ids))).all()
        if all(started is not None for _, started in rows):
            break
        time.sleep(0.1)
    stop.set()
    proc.join(30)
    rt.close()
    waits = [(b - a).total_seconds() * 1000 for a, b in rows if b is not None]
    return {"p50_ms": percentile(waits, 0.5), "p99_ms": percentile(waits, 0.99), "n": len(waits)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.claims")
    parser.add_argument("--jobs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args(argv)
    print(f"draining {args.jobs} queued no-op jobs (claims only)")
    print(f"{'store':<11} {'workers':>7} {'claims/s':>9} {'duplicates':>10} {'left':>5} {'s':>6}")
    with PostgresCluster() as cluster, tempfile.TemporaryDirectory() as tmp:
        for workers in WORKERS:
            for store in ("postgresql", "sqlite"):
                name = f"claims_{workers}"
                url = (
                    cluster.create_database(name)
                    if store == "postgresql"
                    else f"sqlite:///{tmp}/claims_{workers}.db"
                )
                got = measure_claims(url, workers, args.jobs)
                print(
                    f"{store:<11} {workers:>7} {got['claims_per_s']:>9.0f} "
                    f"{got['duplicates']:>10.0f} {got['unclaimed']:>5.0f} {got['seconds']:>6.2f}",
                    flush=True,
                )
        latency = measure_latency(cluster.create_database("latency"), args.samples)
    print(
        f"created->claimed on PostgreSQL with NOTIFY (worker poll 60 s): "
        f"p50 {latency['p50_ms']:.1f} ms, p99 {latency['p99_ms']:.1f} ms "
        f"over {latency['n']:.0f} jobs (baseline: the 2 s poll, mean wait about 1000 ms)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

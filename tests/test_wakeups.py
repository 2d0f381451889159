"""On PostgreSQL a worker hears of a job created by another process at once (LISTEN/NOTIFY), not
at its next poll; polling stays as the fallback when the listening connection is lost."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.plans import PlanService
from otter_tui.targeting import TargetSpec
from otter_tui.testing.postgres import PostgresCluster
from tests.engine_support import add_local, create, engine_runtime
from tests.fixtures_ssh import wait_until
from tests.test_jobs_claims import own_context

POLL = 300.0
"""Far longer than any wait below: a job claimed in time was claimed because of a notice."""


@pytest.fixture
async def listening(tmp_path: Path, pg_url: str) -> AsyncIterator[tuple[Runtime, Worker]]:
    """A runtime (the job creator) and a worker of another context that polls every 5 minutes."""
    rt = engine_runtime(tmp_path, url=pg_url)
    add_local(rt, "here")
    ctx = own_context(rt)
    engine = Engine(ctx, EventBus(), plans=PlanService(ctx))
    worker = Worker(engine, poll_seconds=POLL, name="listener", prune_every=None)
    await engine.start()
    await worker.start()
    assert await wait_until(lambda: listeners(rt) == 1, timeout=10)
    yield rt, worker
    await worker.stop(5)
    await engine.close()
    ctx.db.dispose()
    rt.close()


def listeners(rt: Runtime) -> int:
    with rt.db.session() as s:
        query = "SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN otter_jobs'"
        return int(s.scalar(text(query)) or 0)


def state(rt: Runtime, job_id: int) -> str:
    return rt.jobs.show(job_id).state


async def test_a_job_made_elsewhere_is_claimed_without_waiting_for_the_poll(
    listening: tuple[Runtime, Worker],
) -> None:
    rt, _worker = listening
    for _ in range(3):
        job = create(rt, "Echo", TargetSpec(servers=("here",)))
        assert await wait_until(lambda j=job.id: state(rt, j) == "succeeded", timeout=10)


async def test_a_worker_listens_again_after_its_connection_was_killed(
    listening: tuple[Runtime, Worker], pg_cluster: PostgresCluster
) -> None:
    rt, _worker = listening
    with rt.db.session() as s:
        s.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query = 'LISTEN otter_jobs'"
            )
        )
    assert await wait_until(lambda: listeners(rt) == 0, timeout=10)
    assert await wait_until(lambda: listeners(rt) == 1, timeout=10)
    job = create(rt, "Echo", TargetSpec(servers=("here",)))
    assert await wait_until(lambda: state(rt, job.id) == "succeeded", timeout=10)

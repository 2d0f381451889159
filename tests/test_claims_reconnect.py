"""The claim's own connection on PostgreSQL, which is not pinged before use: when the server ends
it (as a restart does), the next claim fails as an outage, never as a plain error nor as "no job";
the worker's database thread waits that out and its retry claims the job on a fresh connection."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from otter_tui.engine.dbthread import DbThread
from otter_tui.services.claims import ClaimService
from otter_tui.store.models import Job
from otter_tui.store.outage import is_unavailable
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime


def end_other_sessions(engine: Engine) -> None:
    """Every other session on the database ends, pooled connections included."""
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )


def test_a_claim_whose_connection_was_ended_is_retried_as_an_outage(
    tmp_path: Path, pg_url: str
) -> None:
    rt = engine_runtime(tmp_path, url=pg_url)
    server = add_local(rt, "here")
    first = create(rt, "Echo", TargetSpec(servers=(server,))).id
    claims = ClaimService(rt.ctx, "w1")
    assert claims.claim_next(["default"]) == first  # the claim's connection is now pooled
    end_other_sessions(rt.db.engine)
    with pytest.raises(DBAPIError) as lost:
        claims.claim_next(["default"])
    assert is_unavailable(lost.value)
    assert claims.claim_next(["default"]) is None  # a fresh connection, pooled in turn
    second = create(rt, "Echo", TargetSpec(servers=(server,))).id
    end_other_sessions(rt.db.engine)
    dbthread = DbThread(outage_limit=30)
    try:
        assert asyncio.run(dbthread.run(claims.claim_next, ["default"])) == second
    finally:
        dbthread.close()
    with rt.db.session() as s:
        query = select(Job.id, Job.worker).where(Job.id.in_([first, second]))
        workers = {job: worker for job, worker in s.execute(query)}
    assert workers == {first: "w1", second: "w1"}
    rt.close()

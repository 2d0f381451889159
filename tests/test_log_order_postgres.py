"""PostgreSQL only (on SQLite one writer holds the whole database, so these transactions cannot
overlap): the last slice's end and a log writer storing lines of the same job at that moment
both commit, rather than wait on each other until the server kills one as a deadlock.

The writer holds the job's ``log_counts`` row (already there: no foreign-key check) and then
needs a key-share lock on the job's row (its lines' foreign key); the slice's end locks the
job's row and then needs the ``log_counts`` row for the job's last line. That only works
because the end locks the job ``FOR NO KEY UPDATE``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.log_store import LogInsert
from otter_tui.events import LogLine
from otter_tui.services.slices import _end_slice
from otter_tui.store.db import Database
from otter_tui.store.log_counts import reserve
from otter_tui.store.models import LOG_COUNTS, Job, JobSlice, JobState
from otter_tui.store.states import SliceState
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
GUARD = 20.0


def running_job_with_one_slice(rt_db: Database, job_id: int) -> int:
    with rt_db.transaction() as s:
        job = s.get(Job, job_id)
        assert job is not None
        job.state, job.slices = JobState.RUNNING, 1
        piece = JobSlice(job_id=job_id, number=1, state=SliceState.RUNNING, worker="w1")
        s.add(piece)
        s.flush()
        return piece.id


def wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + GUARD
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def waiting_on_a_lock(db: Database) -> bool:
    with db.engine.connect() as conn:
        query = (
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE wait_event_type = 'Lock' AND datname = current_database()"
        )
        return bool(conn.execute(text(query)).scalar())


def test_the_last_slice_ends_while_a_writer_stores_the_jobs_lines(
    tmp_path: Path, pg_url: str
) -> None:
    rt = engine_runtime(tmp_path, url=pg_url)
    add_local(rt, "here")
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    slice_id = running_job_with_one_slice(rt.db, job_id)
    reserved, errors = threading.Event(), []
    writer_db, store = Database(pg_url), LogInsert(rt.db)
    store.store([LogLine(job_id, None, "", 1, AT, "info", "stdout", "slice starts", 1)])
    lines = [LogLine(job_id, None, "", 2, AT, "info", "stdout", "late line", 1)]

    def write() -> None:
        try:
            with writer_db.transaction() as s:
                connection = s.connection()
                first = reserve(connection, {job_id: 1})
                reserved.set()
                wait_for(lambda: waiting_on_a_lock(rt.db))  # the end waits for log_counts
                connection.exec_driver_sql(store.sql, store.rows(lines, first))
        except Exception as exc:  # the assertion below names it
            errors.append(exc)
            reserved.set()

    writer = threading.Thread(target=write)
    writer.start()
    assert reserved.wait(GUARD)
    with rt.db.transaction() as s:
        end = _end_slice(s, AT, slice_id, SliceState.DONE, "")
    writer.join(GUARD)
    writer_db.engine.dispose()

    assert not errors, errors
    assert end is not None and end.state is JobState.SUCCEEDED
    texts = [(x.seq, x.text) for x in rt.jobs.logs(job_id)]
    assert texts[:2] == [(1, "slice starts"), (2, "late line")] and texts[2][0] == 3
    assert texts[2][1].startswith("job succeeded")
    with rt.db.session() as s:
        assert s.scalar(select(Job.state).where(Job.id == job_id)) is JobState.SUCCEEDED
    rt.close()


async def test_a_deadlocks_victim_on_the_engines_database_thread_runs_again(
    tmp_path: Path, pg_url: str
) -> None:
    """Two transactions take two jobs' ``log_counts`` rows in opposite orders; the server kills
    the engine's (the other waits longer before it looks for a deadlock), which runs again."""
    rt = engine_runtime(tmp_path, url=pg_url)
    add_local(rt, "here")
    a, b = (create(rt, "Echo", TargetSpec(servers=("here",))).id for _ in range(2))
    holds_a, other_db, attempts = threading.Event(), Database(pg_url), []

    def other() -> None:
        with other_db.transaction() as s:
            s.execute(text("SET LOCAL deadlock_timeout = '30s'"))
            reserve(s.connection(), {a: 1})
            holds_a.set()
            wait_for(lambda: waiting_on_a_lock(rt.db))  # the engine's side waits for a
            reserve(s.connection(), {b: 1})

    def engines() -> None:
        attempts.append(1)
        with rt.db.transaction() as s:
            reserve(s.connection(), {b: 1})
            if len(attempts) == 1:
                assert holds_a.wait(GUARD)
                reserve(s.connection(), {a: 1})  # waits for the other; a deadlock once it asks b
            else:
                reserve(s.connection(), {a: 1})

    thread = threading.Thread(target=other)
    thread.start()
    await DbThread().run(engines)
    thread.join(GUARD)
    other_db.engine.dispose()

    assert len(attempts) == 2, "killed once, then run again whole"
    with rt.db.session() as s:
        counts = {job: n for job, n in s.execute(select(LOG_COUNTS.c.job_id, LOG_COUNTS.c.lines))}
    assert counts == {a: 2, b: 2}, "both transactions committed, each once"
    rt.close()

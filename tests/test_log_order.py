"""A job's log is numbered in the order its lines were stored, on SQLite and PostgreSQL, so a
live follower reading "after the last ``seq`` I saw" gets every line, even when a big job's
slices store their lines from several processes at once and a slice that started first stores
its lines last (a live follower of a 1,000-server job once got 86,000 of 811,000 lines)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import insert

from otter_tui.engine.log_store import LogInsert
from otter_tui.events import LogLine
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import LogView
from otter_tui.store.db import Database, upgrade
from otter_tui.store.models import LogEntry
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime

pytestmark = pytest.mark.both_stores

AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def rt(tmp_path: Path, store_url: str | None) -> Runtime:
    runtime = engine_runtime(tmp_path, url=store_url)
    add_local(runtime, "here")
    return runtime


def part(job_id: int, number: int, texts: list[str]) -> list[LogLine]:
    """Lines of one slice as its process numbers them in memory (each part from 1)."""
    return [
        LogLine(job_id, None, "", i + 1, AT, "info", "stdout", text, number)
        for i, text in enumerate(texts)
    ]


def follow(rt: Runtime, job_id: int, after: int) -> list[LogView]:
    """What a follower gets: every stored line after the last ``seq`` it saw, page by page."""
    got: list[LogView] = []
    while page := rt.jobs.logs(job_id, after_seq=after, limit=7):
        got += page
        after = page[-1].seq
    return got


def test_a_slice_that_stores_its_lines_late_is_not_skipped_by_a_follower(rt: Runtime) -> None:
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    store = LogInsert(rt.db)
    store.store(part(job_id, 0, ["job starts: 2 slices"]))
    store.store(part(job_id, 2, ["slice 2: a", "slice 2: b"]))
    seen = follow(rt, job_id, 0)
    assert [x.text for x in seen] == ["job starts: 2 slices", "slice 2: a", "slice 2: b"]

    store.store(part(job_id, 1, ["slice 1: a", "slice 1: b", "slice 1: c"]))
    later = follow(rt, job_id, seen[-1].seq)
    assert [x.text for x in later] == ["slice 1: a", "slice 1: b", "slice 1: c"]
    assert [x.seq for x in seen + later] == [1, 2, 3, 4, 5, 6]
    rt.close()


def test_one_batch_of_two_jobs_numbers_each_job_from_its_own_count(rt: Runtime) -> None:
    first = create(rt, "Echo", TargetSpec(servers=("here",))).id
    second = create(rt, "Echo", TargetSpec(servers=("here",))).id
    store = LogInsert(rt.db)
    store.store(part(first, 0, ["a1", "a2"]))
    store.store([*part(second, 0, ["b1"]), *part(first, 0, ["a3"]), *part(second, 0, ["b2"])])
    assert [(x.seq, x.text) for x in follow(rt, first, 0)] == [(1, "a1"), (2, "a2"), (3, "a3")]
    assert [(x.seq, x.text) for x in follow(rt, second, 0)] == [(1, "b1"), (2, "b2")]
    rt.close()


def test_two_processes_storing_one_job_at_once_never_hide_a_line_from_a_follower(
    rt: Runtime,
) -> None:
    """Two writers on connections of their own (as two daemons running slices of one job)
    store batches at once while a follower keeps reading: it sees each line exactly once."""
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    batches, size = 60, 25
    errors: list[BaseException] = []

    def write(number: int) -> None:
        db = Database(rt.db.url)
        try:
            store = LogInsert(db)
            for batch in range(batches):
                texts = [f"{number}:{batch * size + i}" for i in range(size)]
                store.store(part(job_id, number, texts))
        except BaseException as exc:  # the follower must not wait for a writer that died
            errors.append(exc)
        finally:
            db.engine.dispose()

    writers = [threading.Thread(target=write, args=(n,)) for n in (1, 2)]
    for thread in writers:
        thread.start()
    seen: list[LogView] = []
    while any(thread.is_alive() for thread in writers):
        seen += follow(rt, job_id, seen[-1].seq if seen else 0)
    seen += follow(rt, job_id, seen[-1].seq if seen else 0)  # what the last batches stored
    assert not errors, errors
    texts = [x.text for x in seen]
    assert len(texts) == 2 * batches * size == len(set(texts)), "every line once"
    for number in (1, 2):
        mine = [int(t.split(":")[1]) for t in texts if t.startswith(f"{number}:")]
        assert mine == list(range(batches * size)), "each writer's lines in its order"
    assert [x.seq for x in seen] == list(range(1, len(seen) + 1))
    rt.close()


def test_a_job_logged_before_the_upgrade_goes_on_after_its_last_line(rt: Runtime) -> None:
    """Migration 0013 starts each job's count at its highest ``seq``: a sliced job's last line
    used to be 2,000,000,001, and a line stored after the upgrade must still sort after it."""
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    old = [1, 2, 1_000_000_001, 2_000_000_001]
    with rt.db.transaction() as s:
        s.execute(
            insert(LogEntry),
            [dict(job_id=job_id, seq=q, at=AT, text=f"old {q}") for q in old],
        )
    with rt.db.engine.begin() as conn:  # back to the schema before 0013
        conn.exec_driver_sql("DROP TABLE log_counts")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0012'")
    upgrade(rt.db)

    LogInsert(rt.db).store(part(job_id, 0, ["after the upgrade"]))
    assert [(x.seq, x.text) for x in follow(rt, job_id, old[-1])] == [
        (2_000_000_002, "after the upgrade")
    ]
    rt.close()

"""Log lines stored by the writer's driver-level executemany, on SQLite and PostgreSQL: read back
through the ORM they are exactly the lines given (times to the microsecond, in UTC, any text),
and batches that queued while the writer was busy are stored together, in order, none lost."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.log_store import LogInsert
from otter_tui.engine.logs import LogWriter
from otter_tui.events import EventBus, LogLine, LogLines
from otter_tui.store.models import LogEntry
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, create, engine_runtime

pytestmark = pytest.mark.both_stores

TEXTS = ["plain", "", 'it\'s "quoted" %s ? %(x)s', "ünïcödé ✓", "tab\there", "x" * 5000]


def _stored(rt_db: object, job_id: int) -> list[tuple[int, datetime, str, str, str, int | None]]:
    with rt_db.session() as s:  # type: ignore[attr-defined]
        rows = s.scalars(select(LogEntry).where(LogEntry.job_id == job_id).order_by(LogEntry.seq))
        return [(r.seq, r.at, r.level, r.stream, r.text, r.server_run_id) for r in rows]


def test_stored_lines_read_back_exactly_as_the_orm_writes_them(
    tmp_path: Path, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, url=store_url)
    add_local(rt, "here")
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    lines = [
        LogLine(job_id, None, "", i + 1, at + timedelta(microseconds=i), "info", "stdout", text)
        for i, text in enumerate(TEXTS)
    ]
    LogInsert(rt.db).store(lines)
    with rt.db.transaction() as s:  # the same line through SQLAlchemy, for comparison
        orm_at = at + timedelta(seconds=1)
        s.execute(
            insert(LogEntry),
            [dict(job_id=job_id, seq=99, at=orm_at, level="warning", stream="", text="orm")],
        )
    stored = _stored(rt.db, job_id)
    expected = [(ln.seq, ln.at, ln.level, ln.stream, ln.text, None) for ln in lines]
    assert stored == [*expected, (99, orm_at, "warning", "", "orm", None)]
    with rt.db.session() as s:  # ordered by time as text/timestamp: the new rows sort with old
        newest = s.scalar(select(LogEntry.seq).order_by(LogEntry.at.desc()).limit(1))
    assert newest == 99
    rt.close()


async def test_batches_queued_meanwhile_are_stored_together_in_order(
    tmp_path: Path, store_url: str | None
) -> None:
    rt = engine_runtime(tmp_path, url=store_url)
    add_local(rt, "here")
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    bus, dbthread = EventBus(), DbThread()
    writer = LogWriter(rt.db, bus, dbthread, maxsize=64)
    inserts: list[int] = []
    real = writer._insert

    def counted(lines: Sequence[LogLine]) -> None:
        inserts.append(len(lines))
        real(lines)

    writer._insert = counted  # type: ignore[method-assign]
    now = datetime.now(UTC)
    for batch in range(20):  # queued before the writer runs: one insert takes them all
        seqs = range(batch * 100 + 1, batch * 100 + 101)
        await bus.publish(LogLines(tuple(LogLine(job_id, None, "", q, now, "info", "stdout",
                                                 f"line {q}") for q in seqs)))  # fmt: skip
    writer.pressure.add(2000)
    writer.start()
    await asyncio.wait_for(writer.wait_stored(job_id, 2000), timeout=10)
    assert inserts == [2000]
    assert [text for *_, text, _ in _stored(rt.db, job_id)] == [f"line {q}" for q in range(1, 2001)]
    assert writer.pressure.pending == 0
    await writer.close()
    dbthread.close()
    rt.close()


def test_repeated_and_alternating_stamps_read_back_line_by_line(
    tmp_path: Path, store_url: str | None
) -> None:
    """Reads remember the last stamp converted (lines of one read share one): a stamp that comes
    back after another, or that differs by a microsecond, is still its own."""
    rt = engine_runtime(tmp_path, url=store_url)
    add_local(rt, "here")
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    a = datetime(2026, 5, 6, 7, 8, 9, 100, tzinfo=UTC)
    b, c = a + timedelta(microseconds=1), a + timedelta(hours=3)
    stamps = [a, a, b, a, c, c, a]
    lines = [LogLine(job_id, None, "", i + 1, at, "info", "", "x") for i, at in enumerate(stamps)]
    LogInsert(rt.db).store(lines)
    assert [x.at for x in rt.jobs.logs(job_id)] == stamps
    assert [x.at for x in rt.jobs.logs(job_id, after_seq=3)] == stamps[3:]
    assert all(x.at.tzinfo is UTC for x in rt.jobs.logs(job_id))
    rt.close()

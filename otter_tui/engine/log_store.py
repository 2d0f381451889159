"""Storing log lines: one ``executemany`` of plain tuples per batch, straight to the driver.

SQLAlchemy's ``insert(LogEntry)`` with a dict per line cost about as much per line as reading
the line from SSH did: a dict built on the event loop, then per-row parameter processing in the
compiler. Here the statement text is built once per dialect, the only column that needs
converting (``at``, a UTC datetime) goes through the column type's own bind processor, so the
stored value is exactly what the ORM would have written, and a batch is one driver
``executemany`` of tuples, built on the database thread, not the loop.

The ``seq`` stored is the line's place in its job's log, taken in the same transaction
(:mod:`otter_tui.store.log_counts`); the number a process gave the line in memory (per job,
or per slice of a job) only tracks what is stored (``LogWriter.wait_stored``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table

from otter_tui.events import LogLine
from otter_tui.store.db import Database
from otter_tui.store.log_counts import MARKS, reserve
from otter_tui.store.models import LogEntry

COLUMNS = ("job_id", "server_run_id", "seq", "at", "level", "stream", "text")


class LogInsert:
    """Writes batches of :class:`LogLine` into ``log_entries``; call :meth:`store` on the
    database thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.engine.dialect
        table = cast(Table, LogEntry.__table__)
        marks = ", ".join([MARKS[dialect.paramstyle]] * len(COLUMNS))
        self.sql = f"INSERT INTO {table.name} ({', '.join(COLUMNS)}) VALUES ({marks})"
        convert = table.c.at.type.dialect_impl(dialect).bind_processor(dialect)
        self._at: Callable[[Any], Any] = convert if convert is not None else _same

    def rows(self, lines: Sequence[LogLine], first: Mapping[int, int]) -> list[tuple[Any, ...]]:
        """The driver's parameter tuples, each line numbered from ``first[job]`` on in batch
        order (:func:`otter_tui.store.log_counts.reserve`). Lines of one read share one ``at``
        object (the log stamps a read once), so it is converted once per read, not per line:
        the conversion was more than half of a batch's time on the database thread."""
        convert = self._at
        last: object = None
        stamp: Any = None
        place = dict(first)
        current, seq = -1, 0
        out: list[tuple[Any, ...]] = []
        add = out.append
        for job_id, run_id, _server, _seq, at, level, stream, text, _part in lines:
            if at is not last:
                last, stamp = at, convert(at)
            if job_id != current:  # a batch holds runs of one job's lines: switch seldom
                place[current] = seq  # where this job's numbers go on, if it comes back
                current, seq = job_id, place[job_id]
            add((job_id, run_id, seq, stamp, level, stream, text))
            seq += 1
        return out

    def store(self, lines: Sequence[LogLine]) -> None:
        """One transaction: the lines' places in their jobs' logs, then one ``executemany``."""
        with self.db.transaction() as s:
            connection = s.connection()
            first = reserve(connection, Counter(line.job_id for line in lines))
            connection.exec_driver_sql(self.sql, self.rows(lines, first))


def _same(value: Any) -> Any:
    return value

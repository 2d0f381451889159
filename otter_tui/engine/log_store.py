"""Storing log lines: multi-row inserts of plain values, straight to the driver.

SQLAlchemy's ``insert(LogEntry)`` with a dict per line cost about as much per line as reading
the line from SSH did: a dict built on the event loop, then per-row parameter processing in the
compiler. Here the statements' text is built once per dialect, the only column that needs
converting (``at``, a UTC datetime) goes through the column type's own bind processor, so the
stored value is exactly what the ORM would have written, and the values are built on the
database thread, not the loop.

A batch goes in as statements of up to :data:`ROWS_PER_INSERT` rows each (``VALUES (...),
(...), ...``), not as an ``executemany`` of a one-row statement: sqlite3 steps and resets an
``executemany``'s statement once per row; a 512-row statement is one step. A million rows in
batches of ~3,500, SQLite alone: ~7 us of CPU a row the old way, ~4.5 us this way. The rest of
a batch is cut into power-of-two sizes, so only ten statement texts are ever built and the
driver's statement cache keeps them compiled.

The ``seq`` stored is the line's place in its job's log, taken in the same transaction
(:mod:`otter_tui.store.log_counts`); the number a process gave the line in memory (per job,
or per slice of a job) only tracks what is stored (``LogWriter.wait_stored``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from itertools import chain
from typing import Any, cast

from sqlalchemy import Connection, Table

from otter_tui.events import LogLine
from otter_tui.store.db import Database
from otter_tui.store.log_counts import MARKS, reserve
from otter_tui.store.models import LogEntry

COLUMNS = ("job_id", "server_run_id", "seq", "at", "level", "stream", "text")
ROWS_PER_INSERT = 512
"""Rows a statement at most: 3,584 parameters, within SQLite's 32,766 and PostgreSQL's 65,535
(100-, 200-, 1,000- and 2,000-row statements measured no better than ~500)."""


class LogInsert:
    """Writes batches of :class:`LogLine` into ``log_entries``; call :meth:`store` on the
    database thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.engine.dialect
        table = cast(Table, LogEntry.__table__)
        row = "(" + ", ".join([MARKS[dialect.paramstyle]] * len(COLUMNS)) + ")"
        head = f"INSERT INTO {table.name} ({', '.join(COLUMNS)}) VALUES "
        self._sql = {n: head + ", ".join([row] * n) for n in _sizes(ROWS_PER_INSERT)}
        """The statement for each chunk size used: ``n`` rows' values after one another."""
        convert = table.c.at.type.dialect_impl(dialect).bind_processor(dialect)
        self._at: Callable[[Any], Any] = convert if convert is not None else _same

    def rows(self, lines: Sequence[LogLine], first: Mapping[int, int]) -> list[tuple[Any, ...]]:
        """Each line's values, numbered from ``first[job]`` on in batch order
        (:func:`otter_tui.store.log_counts.reserve`). Lines of one read share one ``at``
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
        """One transaction: the lines' places in their jobs' logs, then the lines, in order."""
        with self.db.transaction() as s:
            connection = s.connection()
            first = reserve(connection, Counter(line.job_id for line in lines))
            self.insert(connection, lines, first)

    def insert(
        self, connection: Connection, lines: Sequence[LogLine], first: Mapping[int, int]
    ) -> None:
        """The lines' rows, numbered from ``first`` (taken in this transaction by
        :func:`~otter_tui.store.log_counts.reserve`), in statements of up to
        :data:`ROWS_PER_INSERT` rows."""
        rows = self.rows(lines, first)
        start = 0
        for size in _chunks(len(rows), ROWS_PER_INSERT):
            values = tuple(chain.from_iterable(rows[start : start + size]))
            connection.exec_driver_sql(self._sql[size], values)
            start += size


def _same(value: Any) -> Any:
    return value


def _sizes(largest: int) -> list[int]:
    """``largest`` and every power of two below it: the chunk sizes :func:`_chunks` makes."""
    return [largest, *(1 << bit for bit in range(largest.bit_length()) if 1 << bit < largest)]


def _chunks(count: int, largest: int) -> Iterator[int]:
    """``count`` rows as chunks of ``largest``, the rest as distinct powers of two (700 rows
    with ``largest`` 512: 512, 128, 32, 16, 8, 4), in that order."""
    for _ in range(count // largest):
        yield largest
    rest = count % largest
    for bit in reversed(range(rest.bit_length())):
        if rest & (1 << bit):
            yield 1 << bit

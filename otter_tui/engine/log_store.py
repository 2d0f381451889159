"""Storing log lines: one ``executemany`` of plain tuples per batch, straight to the driver.

SQLAlchemy's ``insert(LogEntry)`` with a dict per line cost about as much per line as reading
the line from SSH did: a dict built on the event loop, then per-row parameter processing in the
compiler. Here the statement text is built once per dialect, the only column that needs
converting (``at``, a UTC datetime) goes through the column type's own bind processor, so the
stored value is exactly what the ORM would have written, and a batch is one driver
``executemany`` of tuples, built on the database thread, not the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, cast

from sqlalchemy import Table, insert

from otter_tui.events import LogLine
from otter_tui.store.db import Database
from otter_tui.store.models import LogEntry

COLUMNS = ("job_id", "server_run_id", "seq", "at", "level", "stream", "text")
MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
"""Positional placeholders of the drivers we know (sqlite3: qmark; psycopg: pyformat)."""


class LogInsert:
    """Writes batches of :class:`LogLine` into ``log_entries``; call :meth:`store` on the
    database thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        dialect = db.engine.dialect
        table = cast(Table, LogEntry.__table__)
        mark = MARKS.get(dialect.paramstyle)
        self.sql: str | None = None
        """The driver-level INSERT, or None for a driver with another paramstyle (Core insert)."""
        if mark is not None:
            marks = ", ".join([mark] * len(COLUMNS))
            self.sql = f"INSERT INTO {table.name} ({', '.join(COLUMNS)}) VALUES ({marks})"
        self._core = insert(table)
        convert = table.c.at.type.dialect_impl(dialect).bind_processor(dialect)
        self._at: Callable[[Any], Any] = convert if convert is not None else _same

    def rows(self, lines: Sequence[LogLine]) -> list[tuple[Any, ...]]:
        """The driver's parameter tuples. Lines of one read share one ``at`` object (the log
        stamps a read once), so it is converted once per read, not per line: the conversion
        was more than half of a batch's time on the database thread."""
        convert = self._at
        last: object = None
        stamp: Any = None
        out: list[tuple[Any, ...]] = []
        add = out.append
        for job_id, run_id, _server, seq, at, level, stream, text, _part in lines:
            if at is not last:
                last, stamp = at, convert(at)
            add((job_id, run_id, seq, stamp, level, stream, text))
        return out

    def store(self, lines: Sequence[LogLine]) -> None:
        """One transaction, one ``executemany``."""
        with self.db.transaction() as s:
            if self.sql is None:
                s.execute(self._core, [{c: getattr(line, c) for c in COLUMNS} for line in lines])
                return
            s.connection().exec_driver_sql(self.sql, self.rows(lines))


def _same(value: Any) -> Any:
    return value

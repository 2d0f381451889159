"""Storing server runs starting and finishing: plain driver statements, one transaction a batch.

The group commit of :class:`otter_tui.engine.records.JobRecorder` hands a batch of starts and
finishes here. Through the ORM session each batch cost about 4 ms of the database thread (a
``select`` and two ``update`` statements built, cache-keyed and parameter-processed by
SQLAlchemy each time), and a 500-server fan-out commits about 160 such batches, because the
runs start and finish spread over the job's whole length: 0.6 s of CPU, more than everything
else the database thread did. As for log lines (``engine/log_store.py``), the statements' text
is built once per dialect and run with the driver's ``executemany`` of plain tuples; datetimes
go through the column type's own bind processor and states are stored as their values, so the
rows are exactly what the ORM wrote. A driver with another paramstyle keeps the Core path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.orm import Session

from otter_tui.store.db import Database
from otter_tui.store.log_counts import MARKS
from otter_tui.store.models import RunState, ServerRun

CHUNK = 500
"""Ids per ``IN (...)`` of the finished runs' state lookup (well under every driver's limit)."""

Start = tuple[int, datetime]
"""A run starting: ``(run_id, at)``."""
End = tuple[int, RunState, datetime, str, int, int, int]
"""A run finishing: ``(run_id, state, at, error, changes, unknowns, warnings)``."""
Counts = tuple[int, int, int, int]
"""A run finishing that was already interrupted: ``(run_id, changes, unknowns, warnings)``."""


class RunStateStore:
    """Writes server-run starts and finishes; call its methods on the database thread, inside
    one transaction (:meth:`Database.transaction`)."""

    def __init__(self, db: Database) -> None:
        dialect = db.engine.dialect
        self.table = cast(Table, ServerRun.__table__)
        self.mark = MARKS.get(dialect.paramstyle)
        """The driver's positional placeholder, or None (then the Core statements are used)."""
        convert = self.table.c.started_at.type.dialect_impl(dialect).bind_processor(dialect)
        self._at: Callable[[Any], Any] = convert if convert is not None else _same
        m = self.mark or "?"
        counts = f"changes = {m}, unknowns = {m}, warnings = {m}"
        self.start_sql = f"UPDATE server_runs SET state = {m}, started_at = {m} WHERE id = {m}"
        self.counts_sql = f"UPDATE server_runs SET {counts} WHERE id = {m}"
        self.end_sql = (
            f"UPDATE server_runs SET state = {m}, finished_at = {m}, error = {m}, {counts} "
            f"WHERE id = {m}"
        )

    def states(self, s: Session, run_ids: Sequence[int]) -> dict[int, RunState]:
        """The stored state of each of ``run_ids`` that still has a row."""
        found: dict[int, RunState] = {}
        for i in range(0, len(run_ids), CHUNK):
            chunk = list(run_ids[i : i + CHUNK])
            if self.mark is None:
                query = select(ServerRun.id, ServerRun.state).where(ServerRun.id.in_(chunk))
                found.update((run_id, RunState(state)) for run_id, state in s.execute(query))
                continue
            marks = ", ".join([self.mark] * len(chunk))
            sql = f"SELECT id, state FROM server_runs WHERE id IN ({marks})"
            rows = s.connection().exec_driver_sql(sql, tuple(chunk))
            found.update((run_id, RunState(state)) for run_id, state in rows)
        return found

    def write(
        self, s: Session, starts: Sequence[Start], ends: Sequence[End], counts: Sequence[Counts]
    ) -> None:
        """Starts, then counts of interrupted runs, then finishes: at most three statements."""
        if self.mark is None:
            self._write_core(s, starts, ends, counts)
            return
        conn, at = s.connection(), self._at
        if starts:
            running = RunState.RUNNING.value
            conn.exec_driver_sql(
                self.start_sql, [(running, at(when), run_id) for run_id, when in starts]
            )
        if counts:
            conn.exec_driver_sql(self.counts_sql, [(c, u, w, run_id) for run_id, c, u, w in counts])
        if ends:
            rows = [
                (state.value, at(when), error, c, u, w, run_id)
                for run_id, state, when, error, c, u, w in ends
            ]
            conn.exec_driver_sql(self.end_sql, rows)

    def _write_core(
        self, s: Session, starts: Sequence[Start], ends: Sequence[End], counts: Sequence[Counts]
    ) -> None:
        table = self.table
        by_id = update(table).where(table.c.id == bindparam("b_id"))
        counted: dict[str, Any] = {
            "changes": bindparam("b_c"),
            "unknowns": bindparam("b_u"),
            "warnings": bindparam("b_w"),
        }
        if starts:
            values = {"state": RunState.RUNNING, "started_at": bindparam("b_at")}
            s.execute(by_id.values(**values), [{"b_id": r, "b_at": a} for r, a in starts])
        if counts:
            rows = [{"b_id": r, "b_c": c, "b_u": u, "b_w": w} for r, c, u, w in counts]
            s.execute(by_id.values(**counted), rows)
        if ends:
            ended: dict[str, Any] = {
                "state": bindparam("b_s"),
                "finished_at": bindparam("b_at"),
                "error": bindparam("b_e"),
            }
            params = [
                {"b_id": r, "b_s": st, "b_at": a, "b_e": e, "b_c": c, "b_u": u, "b_w": w}
                for r, st, a, e, c, u, w in ends
            ]
            s.execute(by_id.values(**counted, **ended), params)


def _same(value: Any) -> Any:
    return value

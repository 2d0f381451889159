"""Where each stored log line goes in its job's log: ``seq`` is the line's place in the order
lines were stored (1, 2, 3... with no gap), whichever process wrote it.

Every follower (the SSE stream, paged ``/v1`` logs, ``jobs logs --follow``, the console) reads
"lines with ``seq`` above the last one I saw". That is only safe if a line stored later never
gets a lower ``seq`` than one stored earlier. A sliced job's slices run in several processes
at once, each numbering its lines in memory; stored with those numbers, a line of slice 1
stored after a line of slice 2 sorted below it and was never seen (a live follower of a
1,000-server job got 86,000 of 811,000 lines). So the numbers are taken here, in the
transaction that stores the lines: ``log_counts`` holds how many lines each job's log has, and
an upsert adds a batch's count and returns the new total. On PostgreSQL the upsert locks the
job's counter row until commit, so two processes storing lines of one job take turns, and a
reader that sees the later batch sees the earlier one. On SQLite one writer at a time holds
the database (``BEGIN IMMEDIATE``). Counter rows are locked in job order, so two writers never
wait on each other in a circle.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import Column, Connection, ForeignKey, Integer, Table

from otter_tui.store.base import Base

LOG_COUNTS = Table(
    "log_counts",
    Base.metadata,
    Column(
        "job_id", ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    ),
    Column("lines", Integer, nullable=False),
)
"""How many lines each job's log holds (migration 0013). A plain table, not a mapped class:
only this module's SQL uses it, and mapping a class costs every process a few ms of start-up."""

MARKS = {"qmark": "?", "format": "%s", "pyformat": "%s"}
"""Positional placeholders of the drivers we know (sqlite3: qmark; psycopg: pyformat)."""
CHUNK = 500
"""Jobs per upsert statement (SQLite allows 32,766 parameters a statement)."""


def reserve(connection: Connection, counts: Mapping[int, int]) -> dict[int, int]:
    """Take ``counts[job]`` consecutive places in each job's log; the first place of each.

    Call it in the transaction that stores the lines: the places are the job's until it
    commits, and are given back if it rolls back.
    """
    mark = MARKS[connection.dialect.paramstyle]
    first: dict[int, int] = {}
    jobs = sorted(counts)
    for start in range(0, len(jobs), CHUNK):
        chunk = jobs[start : start + CHUNK]
        values = ", ".join([f"({mark}, {mark})"] * len(chunk))
        sql = (
            f"INSERT INTO log_counts (job_id, lines) VALUES {values} "
            "ON CONFLICT (job_id) DO UPDATE SET lines = log_counts.lines + excluded.lines "
            "RETURNING job_id, lines"
        )
        params = tuple(x for job in chunk for x in (job, counts[job]))
        for job, total in connection.exec_driver_sql(sql, params):
            first[job] = total - counts[job] + 1
    return first

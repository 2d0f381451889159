"""The one line a screen shows for a failure: a busy or unreachable database said as such, and
anything unexpected on one line (SQLAlchemy's text is several: the SQL, a web address)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from screens.background import error_line


def locked_error(tmp_path: Path) -> OperationalError:
    """What a write meets while another process holds SQLite's write lock (real file, real
    lock; no busy wait)."""
    path = tmp_path / "otter.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN EXCLUSIVE")
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    try:
        with pytest.raises(OperationalError) as caught, engine.connect() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
        return caught.value
    finally:
        engine.dispose()
        holder.close()


def test_a_locked_database_is_said_plainly_on_one_line(tmp_path: Path) -> None:
    error = locked_error(tmp_path)
    assert "\n" in str(error)  # what the screen showed before: the SQL and a web address
    assert error_line(error) == (
        "the database is busy (another process is writing to it): nothing saved, try again"
    )


def test_an_unexpected_error_is_its_first_line() -> None:
    error = ValueError("bad value\n[SQL: SELECT 1]\n(Background on this error at: ...)")
    assert error_line(error) == "unexpected error: ValueError: bad value"

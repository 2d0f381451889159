"""Database files otter-tui refuses to open: not SQLite, truncated, corrupt, foreign, newer;
always left byte for byte as they were, and no runtime starts on them."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from otter_tui.errors import StoreError
from otter_tui.store.db import head_revision, open_database
from otter_tui.store.models import AuditEvent
from tests.fixtures_core import ACTOR, FIXED_NOW, db_file, make_runtime, table_snapshot
from tests.test_store import database_at_0001, url


def assert_refused(path: Path, message: str) -> StoreError:
    """Opening ``path`` fails with one line containing ``message`` and leaves it untouched."""
    content = path.read_bytes()
    siblings = sorted(p.name for p in path.parent.iterdir())
    with pytest.raises(StoreError) as err:
        open_database(url(path))
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert path.read_bytes() == content
    assert sorted(p.name for p in path.parent.iterdir()) == siblings
    return err.value


def a_full_database(tmp_path: Path) -> bytes:
    """The bytes of a real otter-tui database, checkpointed, with a few hundred KB of rows."""
    rt = make_runtime(tmp_path / "source")
    with rt.db.transaction() as s:
        for i in range(1500):
            s.add(
                AuditEvent(
                    at=FIXED_NOW,
                    actor=ACTOR,
                    action="x",
                    object_type="y",
                    object_name=f"row-{i:05d}" * 10,
                )
            )
    rt.close()
    path = db_file(tmp_path / "source")
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return path.read_bytes()


def test_random_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "otter.db"
    path.write_bytes(os.urandom(64 * 1024))
    error = assert_refused(path, "is not a SQLite database")
    assert str(path) in str(error)


def test_a_truncated_database_is_refused(tmp_path: Path) -> None:
    data = a_full_database(tmp_path)
    path = tmp_path / "otter.db"
    path.write_bytes(data[: len(data) // 2])
    assert_refused(path, "is truncated")


def test_a_database_cut_inside_its_header_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "otter.db"
    path.write_bytes(a_full_database(tmp_path)[:60])
    assert_refused(path, "is not a SQLite database")


def test_a_database_with_a_damaged_schema_page_is_refused(tmp_path: Path) -> None:
    data = bytearray(a_full_database(tmp_path))
    data[100:4096] = bytes((i * 7 + 3) % 256 for i in range(4096 - 100))
    path = tmp_path / "otter.db"
    path.write_bytes(bytes(data))
    assert_refused(path, "malformed")


def test_corruption_found_before_an_upgrade_stops_it(tmp_path: Path) -> None:
    path = tmp_path / "otter.db"
    database_at_0001(path)
    db = open_database(url(path), migrate=False)
    with db.engine.begin() as conn:
        for i in range(2000):
            conn.exec_driver_sql(
                "INSERT INTO audit_events (at, actor, action, object_type, object_name, detail) "
                f"VALUES ('2025-01-01', 'a', 'x', 'y', '{'z' * 150}{i}', '{{}}')"
            )
    db.dispose()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    middle = pages // 2 * page_size  # an audit_events page, far from the schema
    data[middle : middle + page_size] = b"\xff" * page_size
    path.write_bytes(bytes(data))

    assert_refused(path, "is corrupt")


def test_a_sqlite_file_with_someone_elses_tables_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "otter.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    conn.execute("INSERT INTO invoices (total) VALUES (12.5)")
    conn.commit()
    conn.close()
    assert_refused(path, "holds tables that otter-tui did not create")
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    conn.close()


def test_a_database_from_a_newer_otter_tui_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "otter.db"
    open_database(url(path)).dispose()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE alembic_version SET version_num = '0042_from_the_future'")
    conn.commit()
    conn.close()
    error = assert_refused(path, "at revision 0042_from_the_future")
    assert "newer otter-tui" in str(error)


def test_an_empty_file_becomes_a_fresh_database(tmp_path: Path) -> None:
    path = tmp_path / "otter.db"
    path.touch()
    db = open_database(url(path))
    db.dispose()
    assert db.created
    assert table_snapshot(path)["alembic_version"] == [(head_revision(),)]


def test_a_refused_database_does_not_start_the_runtime(tmp_path: Path) -> None:
    db_file(tmp_path).parent.mkdir(parents=True)
    db_file(tmp_path).write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError):
        make_runtime(tmp_path)
    assert sorted(p.name for p in db_file(tmp_path).parent.iterdir()) == ["otter.db"]


# write transactions -----------------------------------------------------------------------------

"""Copy a database into an empty one: moving from the SQLite file to PostgreSQL.

The target must be empty: the copy never merges. Its schema is built by the real migrations (so
it is exactly what ``otter-tui`` would build on first start), the rows the migrations seed are
removed, then every row of every table is copied in foreign-key order with its id kept, in one
transaction. On PostgreSQL each table's id sequence is then set past the highest id, so the next
row gets a fresh one. If anything fails, the tables the copy made are dropped again: the target
is left as empty as it was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Table, inspect, select, text

from otter_tui.errors import ConflictError, StoreError
from otter_tui.store.db import Database, _shown, open_database
from otter_tui.store.models import Base

CHUNK = 1000


@dataclass(frozen=True)
class CopyResult:
    tables: int
    rows: int
    target: str
    """The target's URL, password hidden."""


def copy_database(source: Database, target_url: str) -> CopyResult:
    """Copy every row of ``source`` (at the head revision) into the empty database at
    ``target_url``; refuse a target that holds any table."""
    _refuse_non_empty(target_url)
    target = open_database(target_url)
    try:
        with source.engine.connect() as read, target.engine.begin() as write:
            for table in reversed(Base.metadata.sorted_tables):
                write.execute(table.delete())  # what the migrations seeded (the default queue)
            rows = sum(_copy_table(table, read, write) for table in _copy_order())
            if write.dialect.name == "postgresql":
                _reset_sequences(write)
    except Exception as exc:
        _drop_everything(target)
        target.dispose()
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"copy to {_shown(target_url)} failed, target left empty: {exc}") from None
    target.dispose()
    return CopyResult(len(Base.metadata.sorted_tables), rows, _shown(target_url))


def _copy_order() -> list[Table]:
    """Parents before children, and the inventory token last: the inventory rows' triggers
    replace it as they are written, and the copy should end with the source's."""
    tables = Base.metadata.sorted_tables
    last = [t for t in tables if t.name == "inventory_generation"]
    return [t for t in tables if t.name != "inventory_generation"] + last


def _refuse_non_empty(url: str) -> None:
    probe = Database(url)
    try:
        with probe.engine.connect() as conn:
            tables = inspect(conn).get_table_names()
    except Exception as exc:  # refused connection, unknown database...
        reason = " ".join(str(getattr(exc, "orig", exc)).split())
        raise StoreError(f"cannot open database {_shown(url)}: {reason}") from None
    finally:
        probe.dispose()
    if tables:
        raise ConflictError(
            f"database {_shown(url)} is not empty ({len(tables)} tables); "
            "copy only into an empty database"
        )


def _copy_table(table: Table, read: Connection, write: Connection) -> int:
    count = 0
    for chunk in _chunks(read, table):
        write.execute(table.insert(), chunk)
        count += len(chunk)
    return count


def _chunks(read: Connection, table: Table) -> Iterator[list[dict[str, object]]]:
    result = read.execute(select(table)).mappings()
    while batch := result.fetchmany(CHUNK):
        yield [dict(row) for row in batch]


def _reset_sequences(write: Connection) -> None:
    for table in Base.metadata.sorted_tables:
        if "id" not in table.c or not table.c.id.autoincrement or not table.c.id.primary_key:
            continue
        write.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f'COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM "{table.name}"'
            )
        )


def _drop_everything(target: Database) -> None:
    with target.engine.begin() as conn:
        Base.metadata.drop_all(conn)
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
        if conn.dialect.name == "postgresql":
            conn.execute(text("DROP FUNCTION IF EXISTS otter_notify_job() CASCADE"))

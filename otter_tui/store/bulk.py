"""Multi-row inserts that hand back the new rows' ids in the order the rows were given.

SQLAlchemy can do this with ``RETURNING ... sort_by_parameter_order``, and on PostgreSQL it does
so in a few statements (its ordered insertmanyvalues form). On SQLite the order of RETURNING
rows is not guaranteed, so SQLAlchemy falls back to one INSERT per row: a thousand jobs cost a
thousand statements. Inside a write transaction SQLite holds the database's one write lock, and a
table without AUTOINCREMENT numbers a new row ``MAX(id) + 1``; numbering the rows that way here
and inserting them with one executemany gives the very ids the database would have chosen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session


def insert_numbered(s: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert ``rows`` (in a write transaction) and return their ids, in order, ascending."""
    if not rows:
        return []
    if s.get_bind().dialect.name == "sqlite":
        first = (s.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
        s.execute(insert(table), [{**row, "id": id_} for row, id_ in zip(rows, ids, strict=True)])
        return ids
    query = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    ids = list(s.execute(query, list(rows)).scalars())
    if ids != sorted(ids):  # never seen: PostgreSQL numbers an ordered INSERT ... SELECT in order
        raise RuntimeError(f"{table.name}: rows were numbered out of order")
    return ids

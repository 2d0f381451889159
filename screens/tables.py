"""Row tables as every section uses them: columns keyed by their titles, rows keyed by the id of
what they show, so a selection survives a reload whatever the sort."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import DataTable


def add_columns(table: DataTable[object], columns: Iterable[str]) -> None:
    """Add each column keyed by its title, then take the focus (a section opens on its table)."""
    for column in columns:
        table.add_column(column, key=column)
    table.focus()


def cursor_key(table: DataTable[object]) -> str | None:
    """The key of the row under the cursor; None when the table is empty."""
    if not table.row_count:
        return None
    value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    return None if value is None else str(value)

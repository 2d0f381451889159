"""Row tables as every section uses them: columns keyed by their titles, rows keyed by the id of
what they show, so a selection survives a reload whatever the sort."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual import events
from textual.widgets import DataTable


class Table(DataTable[Any]):
    """A DataTable that redraws its rows once it has measured them.

    DataTable measures new rows when idle, but rows it drew before that keep their old width
    in its render cache (Textual 8.2): a cell added under a short header stayed cut to the
    header's width (``curre`` for ``current``) until something else redrew the row.
    """

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        await super()._on_idle(event)
        if measuring:
            self._clear_caches()
            self.refresh()


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

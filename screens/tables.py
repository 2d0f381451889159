"""Row tables as every section uses them: columns keyed by their titles, rows keyed by the id of
what they show, so a selection survives a reload whatever the sort."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import DataTable
from textual.widgets.data_table import RowKey


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

    def measure_now(self) -> None:
        """Measure the rows just added now rather than when idle, so that the next paint draws
        them once at their width. Measured when idle, a long table is drawn twice: first at
        its headers' widths, then again once measured (two full renders, 60-130 ms each for a
        job's 501 server runs)."""
        if not self._require_update_dimensions or self._updated_cells:
            return  # nothing new, or changed cells, which DataTable measures when idle
        self._require_update_dimensions = False
        rows = self._new_rows.copy()
        self._new_rows.clear()
        self._update_dimensions(rows)
        self._clear_caches()
        self.refresh()

    def _update_dimensions(self, new_rows: Iterable[RowKey]) -> None:
        """Widen the columns for new rows of one-line text by the text's cell length.

        DataTable measures every cell through the console (a terminal-size query each): 501
        server runs x 8 columns cost 50-140 ms of opening a job. Rows with a label, a height to
        compute or a cell that is not one line of text are still measured by DataTable.
        """
        measured: list[RowKey] = []
        for row_key in new_rows:
            row_index = self._row_locations.get(row_key)
            row = self.rows.get(row_key)
            if row_index is None or row is None:
                continue
            widths = [_text_width(cell) for cell in self._get_row_renderables(row_index).cells]
            if row.label is not None or row.auto_height or None in widths:
                measured.append(row_key)
                continue
            for column, width in zip(self.ordered_columns, widths, strict=False):
                column.content_width = max(column.content_width, width or 0)
        super()._update_dimensions(measured)  # and the virtual size, as DataTable sets it


def _text_width(cell: object) -> int | None:
    """The width DataTable would measure for one line of text; None for anything else."""
    if not isinstance(cell, Text) or "\n" in cell.plain or "\t" in cell.plain:
        return None
    return cell_len(cell.plain)


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

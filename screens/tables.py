"""Row tables as every section uses them: columns keyed by their titles, rows keyed by the id of
what they show, so a selection survives a reload whatever the sort."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import zip_longest
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets.data_table import (
    CellDoesNotExist,
    CellKey,
    ColumnKey,
    DuplicateKey,
    Row,
    RowKey,
)


class Table(DataTable[Any]):
    """A DataTable that redraws its rows once it has measured them.

    DataTable measures new rows when idle, but rows it drew before that keep their old width
    in its render cache (Textual 8.2): a cell added under a short header stayed cut to the
    header's width (``curre`` for ``current``) until something else redrew the row.
    """

    _painted_size = Size(0, 0)
    """The size its lines were last rendered at (see :meth:`_on_resize`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._changed_cells: set[CellKey] = set()
        """Cells updated since the last paint, whose renders are forgotten before the next."""

    def render_lines(self, crop: Region) -> list[Strip]:
        self._forget_changed_cells()
        self._painted_size = self.size
        return super().render_lines(crop)

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: object,
        *,
        update_width: bool = False,
    ) -> None:
        """Update one cell and re-render only it at the next paint, not every visible cell.

        DataTable keys every render it caches by one update count for the whole table, so one
        changed cell re-rendered every visible cell. A job's detail updates its runs' cells
        every 0.5 s while the job runs (their times move), and redrawing the whole visible
        table each time was a fifth of the console's event loop while a 500-server job streamed
        (bench/keys.py). The count is put back, and the renders of this cell (and of the lines
        and row its cell is in) are forgotten before the next paint.
        """
        kept = self._update_count
        super().update_cell(row_key, column_key, value, update_width=update_width)
        self._update_count = kept
        row = row_key if isinstance(row_key, RowKey) else RowKey(row_key)
        column = column_key if isinstance(column_key, ColumnKey) else ColumnKey(column_key)
        self._changed_cells.add(CellKey(row, column))

    def update_cells(self, changes: Iterable[tuple[str, str, object]]) -> None:
        """Set many ``(row, column, value)`` cells at once, measured as ``update_cell(...,
        update_width=True)`` would and re-rendered alone at the next paint, with one refresh
        for the lot: when a 500-server job ends, its detail changes 1,500 cells in one reload,
        and a refresh per cell held the event loop for over a second (bench/keys.py)."""
        for row, column, value in changes:
            cell = CellKey(RowKey(row), ColumnKey(column))
            if cell.row_key not in self._data or cell.column_key not in self.columns:
                raise CellDoesNotExist(f"No cell exists for row {row!r}, column {column!r}.")
            self._data[cell.row_key][cell.column_key] = value
            self._updated_cells.add(cell)
            self._changed_cells.add(cell)
        if self._changed_cells:
            self._require_update_dimensions = True
            self.refresh()

    def _forget_changed_cells(self) -> None:
        """Drop the cached renders that show a cell updated since the last paint."""
        if not self._changed_cells:
            return
        cells, self._changed_cells = self._changed_cells, set()
        rows = {cell.row_key for cell in cells}
        indexes = {self._row_locations.get(row) for row in rows}
        _discard(self._cell_render_cache, lambda key: (key[0], key[1]) in cells)
        _discard(self._row_render_cache, lambda key: key[0] in rows)
        _discard(self._row_renderable_cache, lambda key: key[1] in indexes)
        self._line_cache.clear()  # lines are cut from the rows' renders: cheap to cut again

    def _on_resize(self, event: events.Resize) -> None:
        """DataTable forgets every rendered row on a resize. A new screen's first layout paints
        its tables before their Resize (to that same size) is handled, so each table was
        rendered twice, the second time on the next repaint (30-40 ms for a job's 501 server
        runs). Rows rendered at this size are still right (cells do not depend on the table's
        size and its line cache is keyed by width): skip DataTable's handler then."""
        if event.size == self._painted_size:
            event.prevent_default()

    async def _on_idle(self, event: events.Idle) -> None:
        measuring = self._require_update_dimensions or bool(self._updated_cells)
        widths = [column.content_width for column in self.ordered_columns]
        await super()._on_idle(event)
        if measuring and [column.content_width for column in self.ordered_columns] != widths:
            self._clear_caches()  # rows drawn before at the old widths
            self.refresh()

    def append_rows(self, rows: Sequence[tuple[str, Sequence[object]]]) -> None:
        """Add one-line rows under these keys, as ``add_row`` would one at a time, but with
        the cursor checked once for the lot: ``add_row`` sets the cursor reactive (validator
        and all) for every row, a third of filling a job's 501 server runs."""
        columns = self.ordered_columns
        if any(len(cells) > len(columns) for _, cells in rows):
            raise ValueError("More values provided than there are columns.")
        was_empty = self.row_count == 0
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in self._row_locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            self._row_locations[row_key] = self.row_count
            self._data[row_key] = {c.key: cell for c, cell in zip_longest(columns, cells)}
            self.rows[row_key] = Row(row_key, 1)
            self._new_rows.add(row_key)
        if not rows:
            return
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

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
        columns = self.ordered_columns
        for row_key in new_rows:
            row, cells = self.rows.get(row_key), self._data.get(row_key)
            if row is None or cells is None:
                continue
            # The cells as added: DataTable's formatter hands a Text back as it is, and
            # anything else is measured by DataTable (reading them through its renderables
            # cache was most of this loop).
            widths = [_text_width(cells.get(column.key)) for column in columns]
            if row.label is not None or row.auto_height or None in widths:
                measured.append(row_key)
                continue
            for column, width in zip(columns, widths, strict=False):
                column.content_width = max(column.content_width, width or 0)
        super()._update_dimensions(measured)  # and the virtual size, as DataTable sets it

    def _update_column_widths(self, updated_cells: set[CellKey]) -> None:
        """Fit each column a changed cell is in to its widest cell, reading each column once.

        DataTable measures each changed cell through the console and, when it is narrower than
        its column, measures the whole column again: rows x changes. A job's 501 server runs,
        refreshed while a 500-server job streams its log, kept the console's event loop 97%
        busy in here and a key waited up to seconds (bench/keys.py). Columns with a cell that is
        not one line of text, or in a row that is not one line high, are left to DataTable.
        """
        changed: dict[ColumnKey, list[CellKey]] = {}
        for cell_key in updated_cells:
            changed.setdefault(cell_key.column_key, []).append(cell_key)
        left: set[CellKey] = set()
        one_line = all(row.height == 1 and row.label is None for row in self.rows.values())
        for column_key, keys in changed.items():
            column = self.columns.get(column_key)
            if column is None:
                continue
            widths = [_text_width(cells.get(column_key)) for cells in self._data.values()]
            if not one_line or None in widths:
                left.update(keys)
                continue
            column.content_width = max([cell_len(column.label.plain), *(w or 0 for w in widths)])
        if left:
            super()._update_column_widths(left)
        self._require_update_dimensions = True


def _discard(cache: LRUCache[Any, Any], stale: Callable[[Any], bool]) -> None:
    """Drop the entries of one of DataTable's render caches whose key ``stale`` picks."""
    keys = cache.keys()
    for key in [key for key in keys if stale(key)]:
        cache.discard(key)


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

"""The section tables' own measuring (screens/tables.py), driven in a real Textual app."""

from __future__ import annotations

from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.renderables.styled import Styled
from textual.widgets.data_table import CellDoesNotExist

from screens.tables import Table

LONG = "current-and-then-some"


class OneTable(App[None]):
    def compose(self) -> ComposeResult:
        yield Table(id="t")

    def on_mount(self) -> None:
        self.query_one(Table).add_column("drift", key="drift")


async def test_rows_measured_now_are_drawn_at_their_width_by_the_next_paint() -> None:
    """A long job's runs are measured as they are added: its first paint shows whole cells,
    not cells cut to the header's width until an idle pass redraws them."""
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Table)
        table.add_row(Text(LONG), key="1")
        table.add_row(Text("ok"), key="2")
        table.measure_now()
        assert table.columns[table.ordered_columns[0].key].content_width == len(LONG)
        await pilot.pause()
        assert LONG in "".join(s.text for s in table.render_line(1))


async def test_without_measuring_now_the_idle_pass_still_widens_the_column() -> None:
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Table)
        table.add_row(Text(LONG), key="1")
        await pilot.pause()
        await pilot.pause()
        assert LONG in "".join(s.text for s in table.render_line(1))


class TwoTables(App[None]):
    def compose(self) -> ComposeResult:
        yield Table(id="one-by-one")
        yield Table(id="at-once")

    def on_mount(self) -> None:
        for table in self.query(Table):
            table.add_columns(("name", "name"), ("state", "state"))


async def test_rows_appended_at_once_are_the_rows_add_row_makes() -> None:
    """``append_rows`` (a job's 501 server runs in one go) ends as ``add_row`` one at a time
    does: same rows, keys, widths and cursor, and the first row highlighted."""
    app = TwoTables()
    async with app.run_test(size=(80, 20)) as pilot:
        single, batch = app.query_one("#one-by-one", Table), app.query_one("#at-once", Table)
        rows = [(str(n), [Text(f"srv{n:03d}"), Text(LONG if n == 7 else "ok")]) for n in range(30)]
        for key, cells in rows:
            single.add_row(*cells, key=key)
        batch.append_rows(rows)
        single.measure_now()
        batch.measure_now()
        await pilot.pause()
        for table in (single, batch):
            assert [str(table.get_row_at(r)[0]) for r in range(table.row_count)] == [
                f"srv{n:03d}" for n in range(30)
            ]
            assert [key.value for key in table.rows] == [key for key, _ in rows]
        assert [c.content_width for c in batch.ordered_columns] == [6, len(LONG)]
        assert [c.content_width for c in single.ordered_columns] == [6, len(LONG)]
        assert batch.cursor_row == single.cursor_row == 0
        batch.append_rows([("30", [Text("srv030")])])
        assert batch.row_count == 31 and batch.get_row("30")[1] is None


async def test_a_table_is_drawn_again_at_its_new_width_when_the_terminal_shrinks() -> None:
    """The first Resize (to the size it was painted at) keeps the rows drawn; a real resize
    draws them at the new width."""
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Table)
        table.add_row(Text(LONG), key="1")
        table.measure_now()
        await pilot.pause()
        assert table.render_line(1).cell_length == 80
        await pilot.resize_terminal(12, 10)
        await pilot.pause()
        await pilot.pause()
        line = table.render_line(1)
        assert line.cell_length == 12 and LONG[:10] in line.text


async def test_changed_cells_fit_their_column_as_datatable_would() -> None:
    """Cells updated in place (a job's server runs as they end) widen their column, and the
    column narrows again when its widest cell gets shorter; a cell that is not one line of
    text is still measured by DataTable. Measured once a column, not once a changed cell."""
    app = OneTable()
    async with app.run_test(size=(80, 10)) as pilot:
        table = app.query_one(Table)
        column = table.ordered_columns[0]
        table.append_rows([(str(i), [Text("ok")]) for i in range(300)])
        table.measure_now()
        assert column.content_width == len("drift")  # the header is the widest

        table.update_cell("7", "drift", Text(LONG), update_width=True)
        await pilot.pause()
        await pilot.pause()
        assert column.content_width == len(LONG)
        assert LONG in "".join(s.text for s in table.render_line(8))

        table.update_cell("7", "drift", Text("failed"), update_width=True)
        await pilot.pause()
        await pilot.pause()
        assert column.content_width == len("failed")

        table.update_cell("8", "drift", "two\nlines", update_width=True)
        await pilot.pause()
        await pilot.pause()
        assert column.content_width == len("failed")  # DataTable's own measure of the lot


async def test_an_updated_cell_is_drawn_anew_and_only_it_is_rendered_again() -> None:
    """A job's detail updates its running runs' times every 0.5 s: the next paint shows each new
    value (never a render cached from before), in a row that keeps its other cells, and renders
    only the cells that changed rather than every visible one."""
    app = TwoTables()
    async with app.run_test(size=(80, 20)) as pilot:
        table = app.query_one("#at-once", Table)
        table.append_rows([(str(i), [Text(f"srv{i:02d}"), Text("running 1s")]) for i in range(9)])
        table.measure_now()
        await pilot.pause()
        assert "srv03" in table.render_line(4).text and "running 1s" in table.render_line(4).text
        rendered: list[str] = []  # what a cell's render was made of (cached ones are not)
        render_lines = app.console.render_lines

        def counted(renderable: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(renderable, Styled):  # a cell: Styled(Padding(cell))
                rendered.append(str(renderable.renderable.renderable))
            return render_lines(renderable, *args, **kwargs)

        app.console.render_lines = counted  # type: ignore[method-assign]
        table.update_cell("3", "state", Text("running 2s"))
        table.update_cell("5", "state", Text("failed"), update_width=True)
        await pilot.pause()
        await pilot.pause()
        lines = [table.render_line(y).text for y in range(1, 10)]
        assert "srv03" in lines[3] and "running 2s" in lines[3]
        assert "srv05" in lines[5] and "failed" in lines[5] and "running" not in lines[5]
        assert all("running 1s" in line for n, line in enumerate(lines) if n not in (3, 5))
        assert sorted(rendered) == ["failed", "running 2s"]


async def test_cells_updated_at_once_end_as_cells_updated_one_by_one() -> None:
    """``update_cells`` (a job's ending runs in one reload) leaves the rows, the column widths
    and what is drawn as ``update_cell(..., update_width=True)`` one at a time does; a cell
    that does not exist is refused."""
    app = TwoTables()
    async with app.run_test(size=(80, 20)) as pilot:
        single, batch = app.query_one("#one-by-one", Table), app.query_one("#at-once", Table)
        for table in (single, batch):
            table.append_rows([(str(i), [Text(f"srv{i}"), Text("running")]) for i in range(6)])
            table.measure_now()
        await pilot.pause()
        changes = [(str(i), "state", Text("succeeded, 3 changed")) for i in range(0, 6, 2)]
        for row, column, value in changes:
            single.update_cell(row, column, value, update_width=True)
        batch.update_cells(changes)
        await pilot.pause()
        await pilot.pause()
        assert [c.content_width for c in batch.ordered_columns] == [
            c.content_width for c in single.ordered_columns
        ]
        drawn = [[t.render_line(y).text for y in range(1, 7)] for t in (single, batch)]
        assert drawn[0] == drawn[1] and "succeeded, 3 changed" in drawn[1][2]
        with pytest.raises(CellDoesNotExist):
            batch.update_cells([("99", "state", Text("x"))])

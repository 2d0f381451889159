"""The section tables' own measuring (screens/tables.py), driven in a real Textual app."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult

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

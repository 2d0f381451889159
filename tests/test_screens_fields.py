"""A job's fields block (``screens.fields.Fields``): its text changes each second while the job
runs, and only a change of its height lays the screen out again (each layout repaints the whole
screen); a row added, or a line too long for the width, still grows it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from rich.text import Text
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.screen import Screen

from screens.fields import Fields


class FieldsApp(App[None]):
    CSS = "Fields { height: auto; padding: 0 1; }"

    def compose(self) -> ComposeResult:
        yield Fields(Text("job 7\nran 12:00:00 for 5s"), id="fields")


def count_layouts(screen: Screen[object]) -> list[int]:
    """Count the screen's layouts from now on (one number, in a list)."""
    layouts, refresh_layout = [0], screen._refresh_layout

    def counted(*args: object, **kwargs: object) -> None:
        layouts[0] += 1
        refresh_layout(*args, **kwargs)  # type: ignore[arg-type]

    screen._refresh_layout = counted  # type: ignore[method-assign]
    return layouts


@contextlib.asynccontextmanager
async def shown_fields() -> AsyncIterator[tuple[Pilot[None], Fields, list[int]]]:
    """The app on screen, its fields block, and its screen's layouts counted from then on."""
    app = FieldsApp()
    async with app.run_test(size=(60, 10)) as pilot:
        fields = app.query_one(Fields)
        await pilot.pause()
        yield pilot, fields, count_layouts(app.screen)


async def test_a_new_text_of_as_many_rows_is_shown_without_a_layout() -> None:
    async with shown_fields() as (pilot, fields, layouts):
        fields.show(Text("job 7\nran 12:00:00 for 6s"))
        await pilot.pause()
        assert "for 6s" in str(fields.render())
        assert fields.size.height == 2 and layouts == [0]


async def test_the_same_text_again_changes_nothing() -> None:
    async with shown_fields() as (pilot, fields, layouts):
        fields.show(Text("job 7\nran 12:00:00 for 5s"))
        await pilot.pause()
        assert layouts == [0] and not fields._repaint_required


async def test_a_row_more_or_a_line_that_wraps_grows_the_block() -> None:
    async with shown_fields() as (pilot, fields, _):
        fields.show(Text("job 7\nran 12:00:00 for 5s\nerror     it broke"))
        await pilot.pause()
        assert fields.size.height == 3
        fields.show(Text("job 7\nran 12:00:00 for 5s\nerror     " + "broken " * 12))
        await pilot.pause()
        assert fields.size.height > 3
        fields.show(Text("job 7\nran 12:00:00 for 6s"))
        await pilot.pause()
        assert fields.size.height == 2

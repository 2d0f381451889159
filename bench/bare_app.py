"""The console's floor: a bare Textual app (header, a table, footer) that quits after its first
paint, started as its own process under a pty exactly like ``otter-tui``.

``python -m bench.bare_app``: interpreter start, Textual's import, CSS and first layout, and
nothing of otter-tui. Every figure above it is what the console adds.
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.widgets import DataTable, Footer, Header


class BareApp(App[None]):
    """What any Textual console pays to show its first screen."""

    BINDINGS = [("q", "quit", "Quit")]

    def compose(self) -> ComposeResult:
        yield Header()
        yield DataTable()
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "state")
        self.call_after_refresh(self.exit)


if __name__ == "__main__":
    BareApp().run()

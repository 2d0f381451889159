"""Text search in a job's stored log: the matching lines, a page at a time, the text highlighted.

The search runs in the database (:class:`otter_tui.services.job_search.JobSearch`), never over
the lines the log pane holds, so it finds a line among a million stored ones without loading
them, and the UI stays responsive while it reads. ``n`` and ``N`` move to the next and previous
match; moving past the last one read fetches the next page. The server filter is the server run
selected in the job's run table (the first row: every server).
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable, Input, Label
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import LogView
from screens.background import route_result, run_blocking
from screens.tables import Table

PAGE = 200
"""Matches read at a time."""


def match_cells(line: LogView, text: str) -> list[Text]:
    shown = Text(line.text)
    shown.highlight_words([text], style="reverse", case_sensitive=False)
    stamp = Text(line.at.astimezone().strftime("%H:%M:%S"))
    return [Text(str(line.seq)), stamp, Text(line.server or "(job)"), shown]


class LogSearch(Vertical):
    """The search line and the matches; hidden until ``/`` opens it."""

    BINDINGS = [
        Binding("n", "step(1)", "Next match"),
        Binding("N", "step(-1)", "Previous match"),
        Binding("escape", "close", "Close search"),
    ]

    class Closed(Message):
        """The user left the search: the screen shows the log again."""

    def __init__(self, runtime: Runtime, job_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        """Where the search runs."""
        self.job_id = job_id
        """The job whose log is searched."""
        self.run_id: int | None = None
        """The server filter: only this server run's lines; None: every line of the job."""
        self.scope = "all server runs"
        """The filter in words, for the status line."""
        self.text = ""
        """What was searched for last."""
        self.more = False
        """The last page was full: there may be matches after it."""
        self.searching = False
        """A new search is being read: the matches shown are the last search's until it ends."""

    def compose(self) -> ComposeResult:
        yield Input(placeholder="search the stored log, Enter", id="log-search-input", compact=True)
        yield Label("", id="log-search-status")
        yield Table(id="log-matches", cursor_type="row")

    def on_mount(self) -> None:
        table = self.query_one("#log-matches", DataTable)
        for column in ("seq", "time", "server", "line"):
            table.add_column(column, key=column)

    def open(self, run_id: int | None, scope: str) -> None:
        """Show the search line, searching ``scope`` (one server run, or all)."""
        self.run_id, self.scope = run_id, scope
        self.query_one("#log-search-input", Input).focus()
        self._status(f"in {scope}: type, Enter; n / N next / previous; Esc back to the log")

    def _status(self, text: str) -> None:
        # One row whatever it says (otter.tcss): no layout of the screen for a new status.
        self.query_one("#log-search-status", Label).update(text, layout=False)

    @on(Input.Submitted, "#log-search-input")
    def _search(self, event: Input.Submitted) -> None:
        """Search anew. The last search's matches stay until the new ones replace them in one
        go: emptying the table first changed its size twice, a layout and a repaint of the
        whole screen each (bench/log_search.py)."""
        event.stop()
        self.text = event.value.strip()
        if not self.text:  # nothing to look for: no matches, and none of a search on its way
            self.workers.cancel_group(self, "log-search")
            self.searching = False
            self.query_one("#log-matches", DataTable).clear()
            return
        self.searching = True
        self._status(f"searching {self.scope} for {self.text!r}...")
        self._read(after=0)

    def _read(self, after: int) -> None:
        search, job_id, run_id, text = self.runtime.search, self.job_id, self.run_id, self.text

        def read() -> list[LogView]:
            return search.log_matches(
                job_id, text, server_run_id=run_id, after_seq=after, limit=PAGE
            )

        run_blocking(self, read, group="log-search", exclusive=True)

    @on(Worker.StateChanged)
    def _read_done(self, event: Worker.StateChanged) -> None:
        event.stop()
        route_result(event, {"log-search": self._got}, self._failed)

    def _failed(self, line: str) -> None:
        if self.searching:  # no stale matches under the error of a new search
            self.searching = False
            self.query_one("#log-matches", DataTable).clear()
        self._status(line)

    def _got(self, lines: list[LogView]) -> None:
        table = self.query_one("#log-matches", Table)
        if self.searching:
            self.searching = False
            table.clear()
        first = table.row_count == 0
        table.append_rows([(str(line.seq), match_cells(line, self.text)) for line in lines])
        table.measure_now()
        self.more = len(lines) == PAGE
        count = f"{table.row_count}{'+' if self.more else ''}"
        noun = "match" if table.row_count == 1 else "matches"
        self._status(f"{count} {noun} for {self.text!r} in {self.scope}  ·  n / N, Esc")
        if first and table.row_count:
            table.focus()
            table.move_cursor(row=0)

    def action_step(self, step: int) -> None:
        table = self.query_one("#log-matches", DataTable)
        if not table.row_count or self.searching:
            return
        row = table.cursor_row + step
        if row >= table.row_count and self.more:
            last = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            self._read(after=int(last or 0))
            return
        table.move_cursor(row=max(0, min(row, table.row_count - 1)))

    def action_close(self) -> None:
        self.post_message(self.Closed())

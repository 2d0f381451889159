"""One job: its fields, its server runs (state, counts) and the live log of the selected run.

The first row of the server-run table is the whole job (every run's lines, with the server's
name); any other row shows that run's lines only. The job and its runs are re-read when the core
says they changed, and on a timer while the job is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Header, Label
from textual.worker import Worker

from otter_tui.events import Event, JobStateChanged, LogLines, Resync, ServerRunStateChanged
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobView, LogView, ServerRunView
from otter_tui.text import visible
from screens.background import Coalesced, route_result, run_blocking
from screens.breakpoints import LaidOutOnce, set_breakpoints
from screens.collector import CollectorPause
from screens.context import ConsoleContext
from screens.fields import Fields
from screens.footer import OtterFooter
from screens.job_actions import JobActions
from screens.job_format import describe_job, duration, state_text
from screens.job_log import FIRST_LINES, JobLogPane
from screens.log_search import LogSearch
from screens.messages import JobsChanged
from screens.shown import listen
from screens.tables import Table

ALL_RUNS = "all"
RUN_COLUMNS = ("server", "state", "changed", "unknown", "warn", "time", "role", "error")
FOLLOW_SECONDS = 0.5
"""While the job is active, how often the log and the runs are re-read (other processes' jobs)."""


def run_cells(run: ServerRunView, now: datetime) -> list[Text]:
    values = (
        run.server or "(no server)",
        None,
        str(run.changes),
        str(run.unknowns),
        str(run.warnings),
        duration(run.started_at, run.finished_at, now),
        run.role or "-",
        visible(run.error or ""),
    )
    return [state_text(run.state) if v is None else Text(v) for v in values]


def changes_label(view: JobView) -> str:
    """What a run's count of changes is: a drift check and a simulation change nothing, so
    theirs counts drifted items and what a run would change (as ``format_summary`` says)."""
    if view.mode == "check":
        return "drifted"
    return "would change" if view.simulation else "changed"


def run_title(run: ServerRunView) -> str:
    role = f" as {run.role}" if run.role else ""
    where = f" (slice {run.slice} on {run.worker or 'no worker yet'})" if run.slice else ""
    return f"{run.server or 'no server'}{role}{where}"


@dataclass(frozen=True)
class Opening:
    """A job as its screen first shows it, read in one go before the screen is pushed: the
    job with its server runs and the last lines of its log. The screen then paints once with
    both, rather than paint empty, start two reads that share the GIL with that paint, and
    paint again as each lands (about half the time of opening a 500-run job)."""

    view: JobView
    tail: list[LogView]


def read_opening(runtime: Runtime, job_id: int) -> Opening:
    """The job and its log's tail (blocking: run it in a thread worker)."""
    view = runtime.jobs.show(job_id)
    return Opening(view, runtime.jobs.log_tail(job_id, limit=FIRST_LINES))


class JobDetailScreen(LaidOutOnce):
    """Pushed over the jobs list; Esc goes back."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "Back"),
        Binding("c", "cancel_job", "Cancel"),
        Binding("r", "rerun", "Re-run", show=False),
        Binding("pageup", "scroll_log('page_up')", "Log up", priority=True, show=False),
        Binding("pagedown", "scroll_log('page_down')", "Log down", priority=True, show=False),
        Binding("end", "scroll_log('end')", "Follow", priority=True),
        Binding("home", "scroll_log('home')", "Log start", show=False, priority=True),
        Binding("w", "wide_log", "Wide log"),
        Binding("slash", "search", "Search"),
    ]

    def __init__(self, ctx: ConsoleContext, view: JobView, opening: Opening | None = None) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.view = opening.view if opening else view
        """The job as last read (with its server runs after the first read)."""
        self._opening = opening
        """Read before the push (see :class:`Opening`); None: the screen reads it when mounted."""
        self._collector: CollectorPause | None = None
        self.actions = JobActions(self, ctx)
        """Cancel and re-run."""
        self._loads = Coalesced(self._start_load, FOLLOW_SECONDS, self.set_timer)
        self._shown_runs: dict[int, ServerRunView] = {}
        """Each server run as its row shows it (see :meth:`_fill_runs`)."""

    def compose(self) -> ComposeResult:
        if self._opening is not None:
            self._collector = CollectorPause()  # resumed after the first paint (on_mount)
        set_breakpoints(self)
        yield Header()
        yield Fields(describe_job(self.view, self.ctx.runtime.ctx.now()), id="job-fields")
        with Horizontal(id="job-body"):
            with Vertical(id="runs-box"):
                yield Label("Server runs", classes="section-title")
                yield Table(id="runs", cursor_type="row", zebra_stripes=True)
            with Vertical(id="job-log-box"):
                yield JobLogPane(self.ctx.runtime, self.view.id, id="job-log-pane")
                yield LogSearch(self.ctx.runtime, self.view.id, id="log-search")
        yield OtterFooter()

    @property
    def pane(self) -> JobLogPane:
        return self.query_one(JobLogPane)

    @property
    def active(self) -> bool:
        return self.view.state in {"pending_approval", "scheduled", "queued", "running"}

    def on_mount(self) -> None:
        table = self.query_one("#runs", DataTable)
        for column in RUN_COLUMNS:
            label = changes_label(self.view) if column == "changed" else column
            table.add_column(label, key=column)
        table.focus()
        listen(self.ctx.events, self, self._core_event)
        self.set_interval(FOLLOW_SECONDS, self._follow)
        if self._opening is not None:
            self._open(self._opening)
            if self._collector is not None:
                self._collector.resume_after_paint(self)
        else:  # pushed with the job as a list shows it: read the rest, then show it at once
            runtime, job_id = self.ctx.runtime, self.view.id
            run_blocking(self, lambda: read_opening(runtime, job_id), group="job-open")

    def on_unmount(self) -> None:
        """Leave the core's events: Textual's Signal holds its subscribers through their
        callbacks until a publish finds them gone, so a quiet console kept every closed job
        screen (501 rows and a log each), and the collector's full passes grew with them."""
        self.ctx.events.unsubscribe(self)
        if self._collector is not None:
            self._collector.resume()

    def _open(self, opening: Opening) -> None:
        """Show the job, its server runs and its log's tail, all in the same paint."""
        self._opening, self.view = None, opening.view
        now = self.ctx.runtime.ctx.now()
        self.query_one("#job-fields", Fields).show(describe_job(opening.view, now))
        self._fill_runs(opening.view, now)
        self.pane.show_run(None, "all server runs", opening.tail)
        self.refresh_bindings()
        if self.active:  # it may have moved since the read, before the subscription
            self._loads.request()
            self.pane.poke()

    def action_search(self) -> None:
        """Search the stored log of the server run under the cursor (the first row: all)."""
        self.add_class("-searching")
        self.query_one(LogSearch).open(self.pane.run_id, self._scope())

    def _scope(self) -> str:
        run = next((r for r in self.view.server_runs if r.id == self.pane.run_id), None)
        return "all server runs" if run is None else run_title(run)

    @on(LogSearch.Closed)
    def _search_closed(self) -> None:
        self.remove_class("-searching")
        self.query_one("#runs", DataTable).focus()

    def action_wide_log(self) -> None:
        """Give the log the whole screen (fields and server runs hidden), or take it back."""
        self.toggle_class("-log-wide")

    # reading ----------------------------------------------------------------------------------

    def _start_load(self) -> None:
        jobs, job_id = self.ctx.runtime.jobs, self.view.id
        run_blocking(self, lambda: jobs.show(job_id), group="job-show")

    def _follow(self) -> None:
        if self.active and self.is_current:
            self._loads.request()
            self.pane.poke()

    def _core_event(self, event: Event) -> None:
        if isinstance(event, LogLines):
            if any(line.job_id == self.view.id for line in event.lines):
                self.pane.poke()
        elif isinstance(event, JobStateChanged | ServerRunStateChanged):
            if event.job_id == self.view.id:
                self._loads.request()
                self.pane.poke()
        elif isinstance(event, Resync):
            self._loads.request()
            self.pane.poke()

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if route_result(event, {"job-show": self._loaded}, self._load_failed):
            return
        if not route_result(event, {"job-open": self._open}, self._open_failed):
            route_result(event, self.actions.handlers, self._failed)

    def _loaded(self, view: JobView) -> None:
        self._loads.done()
        self.view = view
        now = self.ctx.runtime.ctx.now()
        self.query_one("#job-fields", Fields).show(describe_job(view, now))
        self._fill_runs(view, now)
        self.refresh_bindings()

    def _fill_runs(self, view: JobView, now: datetime) -> None:
        """Update the rows in place: clearing the table would move the cursor and the log.

        Only what changed is touched: a run as it was last shown keeps its row, but for its
        time while it runs (that one cell, when its text moved on); of the others, only changed
        cells are updated. A job on 500 servers is reloaded while it runs, and rebuilding every
        row each time was a sixth of the event loop's time (bench/keys.py); building and
        comparing every cell of each running run was still an eighth of the UI thread's."""
        table = self.query_one("#runs", Table)
        whole = [Text("all"), state_text(view.state), *(Text("") for _ in RUN_COLUMNS[2:])]
        rows, times = [(ALL_RUNS, whole)], []
        for run in view.server_runs:
            if self._shown_runs.get(run.id) != run:
                rows.append((str(run.id), run_cells(run, now)))
            elif run.started_at is not None and run.finished_at is None:
                times.append((str(run.id), duration(run.started_at, None, now)))
        self._shown_runs = {run.id: run for run in view.server_runs}
        shown = {key.value for key in table.rows}
        table.update_cells(
            [
                *(
                    (key, column, cell)
                    for key, cells in rows
                    if key in shown
                    for column, cell in zip(RUN_COLUMNS, cells, strict=True)
                    if table.get_cell(key, column) != cell
                ),
                *(
                    (key, "time", Text(text))
                    for key, text in times
                    if table.get_cell(key, "time").plain != text
                ),
            ]
        )
        table.append_rows([(key, cells) for key, cells in rows if key not in shown])
        table.measure_now()

    def _load_failed(self, line: str) -> None:
        self._loads.done()
        self._failed(f"cannot read job {self.view.id}: {line}")

    def _open_failed(self, line: str) -> None:
        self._failed(f"cannot read job {self.view.id}: {line}")

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#runs")
    def _run_highlighted(self, event: DataTable.RowHighlighted) -> None:
        key = event.row_key.value
        run = next((r for r in self.view.server_runs if str(r.id) == key), None)
        if run is None:
            self.pane.show_run(None, "all server runs")
        else:
            self.pane.show_run(run.id, run_title(run))

    # actions ----------------------------------------------------------------------------------

    def action_scroll_log(self, where: str) -> None:
        log = self.pane.log_widget
        if where == "page_up":
            log.scroll_page_up(animate=False)
        elif where == "page_down":
            log.scroll_page_down(animate=False)
        elif where == "home":
            self.pane.go_home()
        else:
            log.scroll_end(animate=False)

    def action_cancel_job(self) -> None:
        self.actions.cancel(self.view)

    def action_rerun(self) -> None:
        self.actions.rerun(self.view)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cancel_job":
            return self.active or None
        return True

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        message.stop()
        self._loads.request()
        self.pane.poke()

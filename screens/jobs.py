"""The jobs section: recent jobs, updated live; Enter opens one, with its server runs and log.

The list is one read (jobs plus their server-run counts) in a thread worker. It reloads when the
core says a job or server run changed state, and every couple of seconds for jobs that other
processes (a daemon, the CLI) run, at most one read at a time. ``/`` filters it by state, plan,
user and text (``state:failed plan:deploy user:alice words``); the filter is a database query,
200 jobs at a time, the list growing when the cursor reaches its end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Input, Label
from textual.worker import Worker

from otter_tui.errors import OtterError
from otter_tui.events import Event, JobCreated, JobStateChanged, Resync, ServerRunStateChanged
from otter_tui.services.job_search import MAX_PAGE, JobFilter, parse_filter
from otter_tui.services.jobs import JobView, RunCounts
from screens.background import Coalesced, route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import StoreChanged
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.job_actions import JobActions
from screens.job_detail import JobDetailScreen, Opening, read_opening
from screens.job_format import counts_text, duration, mode_label, state_text, when
from screens.messages import JobsChanged
from screens.shown import ShownReloads, listen
from screens.tables import Table, add_columns, cursor_key

COLUMNS = ("id", "plan", "state", "mode", "targets", "created", "duration", "server runs", "worker")
"""``worker`` last: on 80 columns the table scrolls sideways to it (the detail also names it)."""
RECENT = 200
"""How many of the newest (matching) jobs the list reads at a time."""
WAITING = ("pending_approval", "scheduled", "queued")
"""States of a job that can still be edited."""
STATE_EVENTS = (JobCreated, JobStateChanged, ServerRunStateChanged, Resync)


NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class JobsSnapshot:
    """The newest jobs and how their server runs stand, read at one moment."""

    jobs: tuple[JobView, ...] = ()
    counts: dict[int, RunCounts] = field(default_factory=dict)
    at: datetime = NEVER
    """When it was read, by the runtime's clock (the empty snapshot: never)."""


def job_cells(view: JobView, counts: RunCounts | None, now: datetime) -> list[Text]:
    values = (
        str(view.id),
        view.plan_name,
        mode_label(view),
        view.targets.describe(),
        when(view.created_at),
        duration(view.started_at, view.finished_at, now),
        counts_text(
            counts,
            view.simulation,
            int(view.summary.get("unknowns", 0) or 0),
            check=view.mode == "check",
        ),
        view.worker or "-",
    )
    cells = [Text(value) for value in values]
    cells.insert(2, state_text(view.state))
    return cells


class JobsScreen(LaidOutOnce):
    """Recent jobs; new, re-run, cancel; Enter for a job's server runs and live log."""

    BINDINGS = [
        Binding("n", "new_job", "New"),
        Binding("r", "rerun", "Re-run"),
        Binding("c", "cancel_job", "Cancel"),
        Binding("e", "edit_job", "Edit job", show=False),
        Binding("slash", "filter", "Filter"),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.snapshot = JobsSnapshot()
        """The jobs on show."""
        self.actions = JobActions(self, ctx)
        """New job, re-run, cancel."""
        self._loads = Coalesced(self._start_load)
        self._shown = ShownReloads(self, self.action_reload)
        """Changes seen while hidden (behind a job's detail) reload once it is shown."""
        self._select: int | None = None
        self.wanted = JobFilter()
        """The filter in force (empty: the newest jobs)."""
        self._limit = RECENT

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            placeholder="filter: state:failed plan:deploy user:alice words  (Enter; Esc clears)",
            id="jobs-filter",
            compact=True,
        )
        yield Label("", id="jobs-count")
        yield Table(id="jobs", cursor_type="row", zebra_stripes=True)
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#jobs", DataTable), COLUMNS)
        listen(self.ctx.events, self, self._core_event)
        self.action_reload()

    def on_screen_resume(self) -> None:
        self._shown.resumed()

    def selected(self) -> JobView | None:
        key = cursor_key(self.query_one("#jobs", DataTable))
        return next((j for j in self.snapshot.jobs if str(j.id) == key), None)

    # loading ----------------------------------------------------------------------------------

    def action_reload(self, select: int | None = None) -> None:
        if select is not None:
            self._select = select
        self._loads.request()

    def _start_load(self) -> None:
        jobs, search, wanted, limit = (
            self.ctx.runtime.jobs,
            self.ctx.runtime.search,
            self.wanted,
            self._limit,
        )

        def load() -> JobsSnapshot:
            views = search.jobs(wanted, limit=limit)
            counts = jobs.run_counts([v.id for v in views])
            return JobsSnapshot(tuple(views), counts, self.ctx.runtime.ctx.now())

        run_blocking(self, load, group="jobs-load")

    def _core_event(self, event: Event) -> None:
        moved = isinstance(event, StoreChanged) and event.touches("jobs")
        if moved or isinstance(event, STATE_EVENTS):
            self._shown.request()

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        message.stop()
        self.action_reload(message.select)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if not route_result(event, {"jobs-load": self._loaded}, self._load_failed):
            handlers = {**self.actions.handlers, "jobs-open": self._show_opening}
            route_result(event, handlers, self._failed)

    def _loaded(self, snapshot: JobsSnapshot) -> None:
        self._loads.done()
        current = self.selected()
        keep = self._select or (current.id if current else None)
        self._select = None
        self.snapshot = snapshot
        self._fill(keep)

    def _fill(self, keep: int | None) -> None:
        table = self.query_one("#jobs", DataTable)
        row = table.cursor_row
        table.clear()
        for view in self.snapshot.jobs:
            counts = self.snapshot.counts.get(view.id)
            table.add_row(*job_cells(view, counts, self.snapshot.at), key=str(view.id))
        ids = [view.id for view in self.snapshot.jobs]
        if ids:
            table.move_cursor(row=ids.index(keep) if keep in ids else min(row, len(ids) - 1))
        active = sum(1 for v in self.snapshot.jobs if v.state in ("running", "queued"))
        noun = "job" if len(ids) == 1 else "jobs"
        if self.wanted.empty:
            label = f"{len(ids)} recent {noun}, {active} queued or running"
        else:
            label = f"{len(ids)} {noun} matching {self.wanted.describe()!r}"
        self.query_one("#jobs-count", Label).update(label + self._runner_note())
        self.refresh_bindings()

    # filtering --------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#jobs-filter", Input).focus()

    @on(Input.Submitted, "#jobs-filter")
    def _filter(self, event: Input.Submitted) -> None:
        try:
            self.wanted = parse_filter(event.value)
        except OtterError as error:
            self._failed(str(error))
            return
        self._limit = RECENT
        self.query_one("#jobs", DataTable).focus()
        self.action_reload()

    def key_escape(self) -> None:
        field = self.query_one("#jobs-filter", Input)
        if field.has_focus or not self.wanted.empty:
            field.value = ""
            self.wanted, self._limit = JobFilter(), RECENT
            self.query_one("#jobs", DataTable).focus()
            self.action_reload()

    @on(DataTable.RowHighlighted, "#jobs")
    def _near_end(self) -> None:
        table = self.query_one("#jobs", DataTable)
        full = table.row_count == self._limit and self._limit < MAX_PAGE
        if full and table.cursor_row == table.row_count - 1:
            self._limit = min(self._limit + RECENT, MAX_PAGE)
            self.action_reload()

    def _runner_note(self) -> str:
        runner = self.ctx.runner
        if runner is None:
            return "  ·  this console runs no jobs"
        if not runner.poll:
            return "  ·  jobs run by the daemon"
        if runner.configured:
            return f"  ·  queues {', '.join(runner.queues) or 'none'} run in this console"
        return "  ·  jobs run in this console"

    def _load_failed(self, line: str) -> None:
        self._loads.done()
        self._failed(f"cannot read the jobs: {line}")

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    # actions ----------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#jobs")
    def _open(self) -> None:
        view = self.selected()
        if view is not None:
            self._show_job(view)

    def open_job(self, job_id: int) -> None:
        """Open job ``job_id`` by number (the palette's "go to job 42"), listed or not."""
        runtime = self.ctx.runtime
        run_blocking(self, lambda: read_opening(runtime, job_id), group="jobs-open")

    def _show_job(self, view: JobView) -> None:
        self.app.push_screen(JobDetailScreen(self.ctx, view))

    def _show_opening(self, opening: Opening) -> None:
        self.app.push_screen(JobDetailScreen(self.ctx, opening.view, opening))

    def action_new_job(self) -> None:
        self.actions.new_job()

    def action_rerun(self) -> None:
        view = self.selected()
        if view is not None:
            self.actions.rerun(view)

    def action_cancel_job(self) -> None:
        view = self.selected()
        if view is not None:
            self.actions.cancel(view)

    def action_edit_job(self) -> None:
        view = self.selected()
        if view is not None:
            self.actions.edit(view)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"rerun", "cancel_job"} and self.is_mounted:
            return self.selected() is not None or None
        if action == "edit_job" and self.is_mounted:
            view = self.selected()
            return (view is not None and view.state in WAITING) or None
        return True

"""The approvals section: jobs waiting for a decision; ``a`` approves, ``d`` denies.

Approve is one key. Deny is one key too, then an optional reason and Enter. The approval service
decides who may decide (never the requester, unless listed as an exception); when it refuses,
its one line is shown. The selected job's plan, targets, variables and mode stay in view, with
the result of its latest simulation: ``s`` simulates exactly what the job requests (the
console's runner runs it, changing nothing), ``l`` opens that simulation job.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import Worker

from otter_tui.events import Event, JobStateChanged, Resync
from otter_tui.services.approvals import SimulationView
from otter_tui.services.jobs import JobView
from screens.background import Coalesced, route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import StoreChanged
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.job_detail import JobDetailScreen
from screens.job_format import describe_job, mode_label, variables_text, when
from screens.messages import JobsChanged
from screens.modals import FormField, FormModal
from screens.shown import ShownReloads, listen
from screens.tables import Table, add_columns, cursor_key

COLUMNS = ("id", "plan", "targets", "variables", "mode", "requested by", "requested", "run at")
Pending = tuple[list[JobView], dict[int, SimulationView]]
"""The jobs waiting for approval and the latest simulation of each that has one."""


def simulation_line(simulation: SimulationView | None) -> str:
    if simulation is None:
        return "Simulation: none yet (press s)"
    return f"Simulation: {simulation.describe()}"


def approval_cells(view: JobView) -> list[Text]:
    values = (
        str(view.id),
        view.plan_name,
        view.targets.describe(),
        variables_text(view),
        mode_label(view),
        view.requested_by,
        when(view.created_at),
        when(view.run_at),
    )
    return [Text(value) for value in values]


class ApprovalsScreen(LaidOutOnce):
    """Jobs in ``pending_approval``, oldest run time first."""

    BINDINGS = [
        Binding("a", "approve", "Approve"),
        Binding("d", "deny", "Deny"),
        Binding("s", "simulate", "Simulate"),
        Binding("l", "open_simulation", "Open simulation", show=False),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.pending: tuple[JobView, ...] = ()
        """The jobs on show."""
        self.simulations: dict[int, SimulationView] = {}
        """The latest simulation of each job on show that has one."""
        self._loads = Coalesced(self._start_load)
        self._shown = ShownReloads(self, self.action_reload)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="approvals-count")
        with Horizontal(id="approvals-body"):
            yield Table(id="approvals", cursor_type="row", zebra_stripes=True)
            yield Static("No job is waiting for approval.", id="approval-fields", markup=False)
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#approvals", DataTable), COLUMNS)
        listen(self.ctx.events, self, self._core_event)
        self.action_reload()

    def on_screen_resume(self) -> None:
        self._shown.resumed()

    def selected(self) -> JobView | None:
        key = cursor_key(self.query_one("#approvals", DataTable))
        return next((j for j in self.pending if str(j.id) == key), None)

    # loading ----------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self._loads.request()

    def _start_load(self) -> None:
        approvals = self.ctx.runtime.approvals

        def load() -> Pending:
            pending = approvals.pending()
            return pending, approvals.latest_simulations([j.id for j in pending])

        run_blocking(self, load, group="approvals-load")

    def _core_event(self, event: Event) -> None:
        moved = isinstance(event, StoreChanged) and event.touches("approvals")
        if moved or isinstance(event, JobStateChanged | Resync):
            self._shown.request()

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if not route_result(event, {"approvals-load": self._loaded}, self._load_failed):
            handlers = {"approval-decide": self._decided, "approval-simulate": self._simulating}
            route_result(event, handlers, self._failed)

    def _loaded(self, loaded: Pending) -> None:
        self._loads.done()
        current = self.selected()
        pending, self.simulations = loaded
        self.pending = tuple(pending)
        table = self.query_one("#approvals", DataTable)
        row = table.cursor_row
        table.clear()
        for view in self.pending:
            table.add_row(*approval_cells(view), key=str(view.id))
        ids = [view.id for view in self.pending]
        if ids:
            keep = current.id if current else None
            table.move_cursor(row=ids.index(keep) if keep in ids else min(row, len(ids) - 1))
        count = f"{len(ids)} job(s) waiting for approval" if ids else "nothing waiting"
        self.query_one("#approvals-count", Label).update(count)
        self._show_selected()

    @on(DataTable.RowHighlighted, "#approvals")
    def _show_selected(self) -> None:
        view = self.selected()
        fields = self.query_one("#approval-fields", Static)
        if view is None:
            fields.update("No job is waiting for approval.")
        else:
            simulation = simulation_line(self.simulations.get(view.id))
            fields.update(f"{describe_job(view, self.ctx.runtime.ctx.now())}\n\n{simulation}")
        self.refresh_bindings()

    def _load_failed(self, line: str) -> None:
        self._loads.done()
        self._failed(f"cannot read the approvals: {line}")

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    # deciding ---------------------------------------------------------------------------------

    def action_approve(self) -> None:
        view = self.selected()
        if view is not None:
            approvals, job_id = self.ctx.runtime.approvals, view.id
            run_blocking(self, lambda: approvals.approve(job_id), group="approval-decide")

    def action_deny(self) -> None:
        view = self.selected()
        if view is None:
            return
        approvals, job_id = self.ctx.runtime.approvals, view.id
        reason = FormField("reason", "Reason", placeholder="optional; Enter denies")
        form = FormModal(
            f"Deny job {job_id} ({view.plan_name})",
            [reason],
            lambda values: approvals.deny(job_id, values["reason"]),
            submit_label="Deny",
        )
        self.app.push_screen(form, self._denied_in_form)

    def action_simulate(self) -> None:
        view = self.selected()
        if view is not None:
            approvals, job_id = self.ctx.runtime.approvals, view.id
            run_blocking(self, lambda: approvals.simulate(job_id), group="approval-simulate")

    def _simulating(self, simulation: JobView) -> None:
        self.notify(f"job {simulation.id}: simulation {simulation.state}", markup=False)
        if simulation.state == "queued" and self.ctx.runner is not None:
            self.ctx.runner.notify()
        self.action_reload()

    def action_open_simulation(self) -> None:
        view = self.selected()
        simulation = self.simulations.get(view.id) if view is not None else None
        if simulation is not None:
            self.app.push_screen(JobDetailScreen(self.ctx, simulation.job))

    def _denied_in_form(self, view: JobView | None) -> None:
        if view is not None:
            self._decided(view)

    def _decided(self, view: JobView) -> None:
        verb = {"queued": "approved: queued", "scheduled": "approved: scheduled"}
        self.notify(f"job {view.id} {verb.get(view.state, view.state)}", markup=False)
        if view.state == "queued" and self.ctx.runner is not None:
            self.ctx.runner.notify()
        self.post_message(JobsChanged(select=view.id))

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        message.stop()
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"approve", "deny", "simulate"} and self.is_mounted:
            return self.selected() is not None or None
        if action == "open_simulation" and self.is_mounted:
            view = self.selected()
            return (view is not None and view.id in self.simulations) or None
        return True

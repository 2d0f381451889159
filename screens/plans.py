"""The plans section: plan records (enabled, installed, overridden fields) and load errors.

``e`` enables or disables the selected plan, ``s`` reloads the plan files (as ``plans sync``
does: records follow their classes except overridden fields), ``n`` opens a new job of the
selected plan, Enter shows its description, variables and overrides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Label, Static
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.plans import PlanView
from screens.background import in_flight, route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import follow_store
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.job_actions import JobActions
from screens.messages import JobsChanged
from screens.plan_detail import PlanDetailModal
from screens.plan_records import PlanRecordActions
from screens.tables import Table, add_columns, cursor_key

COLUMNS = ("name", "key", "kind", "grouping", "enabled", "installed", "overridden")


@dataclass(frozen=True)
class PlansSnapshot:
    """Plan records and the plan files that failed to load, read at one moment."""

    plans: tuple[PlanView, ...] = ()
    errors: tuple[str, ...] = ()


def load_plans(runtime: Runtime, sync: bool) -> PlansSnapshot:
    """Blocking: the records (after reloading the files when ``sync``) and the load errors."""
    service = runtime.plans
    errors = service.sync().errors if sync else service.loaded.errors
    return PlansSnapshot(tuple(service.list()), tuple(str(e) for e in errors))


def plan_cells(plan: PlanView) -> list[Text]:
    values = (
        plan.name,
        plan.key,
        plan.kind,
        plan.grouping or "-",
        "yes" if plan.enabled else "no",
        "yes" if plan.installed else "no (file gone)",
        ", ".join(plan.overridden) or "-",
    )
    style = "" if plan.installed else "dim"
    cells = [Text(value, style=style) for value in values]
    cells[4].stylize("green" if plan.enabled and plan.installed else "")
    return cells


class PlansScreen(LaidOutOnce):
    """Every plan record; a plan runs only when enabled and installed."""

    BINDINGS = [
        Binding("e", "toggle_enabled", "On/off"),
        Binding("n", "new_job", "New job"),
        Binding("s", "reload(True)", "Sync"),
        Binding("o", "override", "Override", show=False),
        Binding("x", "delete", "Delete", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.snapshot = PlansSnapshot()
        """The records on show."""
        self.actions = JobActions(self, ctx)
        """The new-job form."""
        self.records = PlanRecordActions(self, ctx.runtime, self._record_changed)
        """Override a field, delete the record."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="plans-count")
        yield Table(id="plans", cursor_type="row", zebra_stripes=True)
        yield Static("", id="plan-errors", markup=False)
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#plans", DataTable), COLUMNS)
        follow_store(self.ctx.events, self, "plans", self.action_reload)
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted and not in_flight(self, "plans-load"):
            self.action_reload()

    def selected(self) -> PlanView | None:
        key = cursor_key(self.query_one("#plans", DataTable))
        return next((p for p in self.snapshot.plans if p.key == key), None)

    def action_reload(self, sync: bool = False) -> None:
        runtime = self.ctx.runtime
        run_blocking(self, lambda: load_plans(runtime, sync), group="plans-load", exclusive=True)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        handlers: dict[str, Callable[[Any], None]] = {
            "plans-load": self._loaded,
            "plans-write": self._written,
        }
        if not route_result(event, handlers, self._failed):
            more = {**self.actions.handlers, **self.records.handlers}
            route_result(event, more, self._failed)

    def _loaded(self, snapshot: PlansSnapshot) -> None:
        current = self.selected()
        self.snapshot = snapshot
        table = self.query_one("#plans", DataTable)
        row = table.cursor_row
        table.clear()
        for plan in snapshot.plans:
            table.add_row(*plan_cells(plan), key=plan.key)
        keys = [plan.key for plan in snapshot.plans]
        if keys:
            keep = current.key if current else None
            table.move_cursor(row=keys.index(keep) if keep in keys else min(row, len(keys) - 1))
        enabled = sum(1 for p in snapshot.plans if p.enabled and p.installed)
        self.query_one("#plans-count", Label).update(f"{len(keys)} plans, {enabled} enabled")
        errors = self.query_one("#plan-errors", Static)
        errors.update("\n".join(f"load error: {line}" for line in snapshot.errors))
        errors.set_class(bool(snapshot.errors), "-visible")
        self.refresh_bindings()

    def _written(self, plan: PlanView) -> None:
        state = "enabled" if plan.enabled else "disabled"
        self.notify(f"plan '{plan.name}' {state}", markup=False)
        self.action_reload()

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    @on(DataTable.RowSelected, "#plans")
    def _open(self) -> None:
        plan = self.selected()
        if plan is not None:
            self.app.push_screen(PlanDetailModal(plan))

    def action_toggle_enabled(self) -> None:
        plan = self.selected()
        if plan is not None:
            plans, key, enable = self.ctx.runtime.plans, plan.key, not plan.enabled
            run_blocking(self, lambda: plans.set_enabled(key, enable), group="plans-write")

    def action_override(self) -> None:
        plan = self.selected()
        if plan is not None:
            self.records.override(plan)

    def action_delete(self) -> None:
        plan = self.selected()
        if plan is not None:
            self.records.delete(plan)

    def _record_changed(self, line: str) -> None:
        self.notify(line, markup=False)
        self.action_reload()

    def action_new_job(self) -> None:
        plan = self.selected()
        if plan is not None:
            self.actions.new_job_for(plan)

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        message.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"toggle_enabled", "new_job", "override", "delete"} and self.is_mounted:
            return self.selected() is not None or None
        return True

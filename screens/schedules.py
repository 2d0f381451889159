"""The schedules section: every schedule, its next firing and last result; its firing history.

Adding and editing go through :mod:`screens.schedule_form` and the schedule service (the checks
of ``otter-tui schedules add``); the permission is asked before the form opens, so a user who may
not save schedules is told before typing anything. ``Space`` enables or disables, ``x`` removes.
The pane under the list shows the selected schedule's recorded firings, newest first.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import DataTable, Header, Label
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.scheduling import load_zone
from otter_tui.services.plans import PlanView
from otter_tui.services.schedule_views import FiringView, LastFiring, ScheduleView
from otter_tui.services.schedules import ScheduleFields
from screens.background import in_flight, route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import follow_store
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.job_form import PlanPickerModal
from screens.modals import ConfirmModal
from screens.schedule_form import schedule_form
from screens.tables import Table, add_columns, cursor_key

COLUMNS = ("name", "on", "when", "next (zone)", "next (UTC)", "last result", "plan", "policy")
FIRING_COLUMNS = ("due (zone)", "due (UTC)", "firing", "job", "note")
FIRINGS_SHOWN = 50
PAGE = 100
"""Schedules read at a time: the list grows by a page when the cursor reaches its end."""


@dataclass(frozen=True)
class ScheduleList:
    """What the list shows: the first schedules by name, each one's newest firing, the counts,
    and the recorded firings of the schedule the cursor will be on (read with the list, so the
    list and its firings pane fill in one paint)."""

    schedules: tuple[ScheduleView, ...]
    last: Mapping[int, LastFiring]
    total: int
    disabled: int
    firings: tuple[str, list[FiringView]] | None = None


def cursor_row(names: list[str], keep: str | None, row: int) -> int:
    """Where the cursor goes after a load: on ``keep`` if it is listed, else the same row."""
    return names.index(keep) if keep in names else max(0, min(row, len(names) - 1))


def load_list(runtime: Runtime, limit: int, keep: str | None = None, row: int = 0) -> ScheduleList:
    service = runtime.schedules
    total, disabled = service.count()
    views = tuple(service.list_schedules(limit))
    last = service.last_firings([view.id for view in views])
    firings = None
    if views:
        name = views[cursor_row([view.name for view in views], keep, row)].name
        firings = (name, service.firings(name, FIRINGS_SHOWN))
    return ScheduleList(views, last, total, disabled, firings)


def _in_zone(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return "-"
    return f"{moment.astimezone(load_zone(zone)):%Y-%m-%d %H:%M %Z}"


def _utc(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def schedule_cells(view: ScheduleView, last: LastFiring | None) -> list[Text]:
    """One row; a disabled schedule is dimmed, one in error shows its error as the result."""
    result = view.error or (last.result if last else "never fired")
    values = (
        view.name,
        "yes" if view.enabled else "no",
        f"{view.description} ({view.timezone})",
        _in_zone(view.next_due_at, view.timezone),
        _utc(view.next_due_at),
        result,
        view.plan_name,
        f"{view.misfire_policy}/{view.overlap_policy}",
    )
    style = "" if view.enabled else "dim"
    cells = [Text(value, style=style) for value in values]
    if view.error:
        cells[5].stylize("red")
    return cells


def firing_cells(firing: FiringView, zone: str) -> list[Text]:
    job = "-" if firing.job_id is None else str(firing.job_id)
    values = (_in_zone(firing.due_at, zone), _utc(firing.due_at), firing.state, job, firing.note)
    return [Text(value) for value in values]


class SchedulesScreen(LaidOutOnce):
    """Every schedule; add, edit, enable/disable, remove; the firings of the selected one."""

    BINDINGS = [
        Binding("n", "new", "New"),
        Binding("e", "edit", "Edit"),
        Binding("space", "switch", "On/off"),
        Binding("x", "remove", "Remove", show=False),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.schedules: dict[str, ScheduleView] = {}
        """The schedules on show, by name."""
        self._select: str | None = None
        self._plans_for: ScheduleView | None = None
        self._limit = PAGE
        self._total = 0
        self._firings_of: str | None = None
        """The schedule whose firings the pane shows, or is reading."""
        self._listing: ScheduleList | None = None
        """The last list shown."""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="schedules-count")
        yield Table(id="schedules", cursor_type="row", zebra_stripes=True)
        with Vertical(id="schedule-firings-pane"):
            yield Label("Firings", id="schedule-firings-title", classes="section-title")
            yield Table(id="schedule-firings", cursor_type="row")
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#schedule-firings", DataTable), FIRING_COLUMNS)
        add_columns(self.query_one("#schedules", DataTable), COLUMNS)
        follow_store(self.ctx.events, self, "schedules", self.action_reload)
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted and not in_flight(self, "schedules-load"):
            self.action_reload()

    def selected(self) -> ScheduleView | None:
        key = cursor_key(self.query_one("#schedules", DataTable))
        return self.schedules.get(key) if key else None

    # loading ----------------------------------------------------------------------------------

    def action_reload(self, select: str | None = None) -> None:
        """Read the list again; ``select`` (kept until a load lands) gets the cursor."""
        self._select = select or self._select
        runtime, limit = self.ctx.runtime, self._limit
        table = self.query_one("#schedules", DataTable)
        keep, row = self._select or cursor_key(table), table.cursor_row
        run_blocking(
            self,
            lambda: load_list(runtime, limit, keep, row),
            group="schedules-load",
            exclusive=True,
        )

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        handlers: dict[str, Callable[[Any], None]] = {
            "schedules-load": self._loaded,
            "schedules-firings": self._firings_loaded,
            "schedules-allowed": self._allowed,
            "schedules-plans": self._plans_loaded,
            "schedules-change": self._changed,
        }
        route_result(event, handlers, self._failed)

    def _loaded(self, listing: ScheduleList) -> None:
        if listing == self._listing and self._select is None:
            return  # nothing changed (each showing reloads): no refill, no repaint
        self._listing = listing
        keep = self._select or cursor_key(self.query_one("#schedules", DataTable))
        self._select = None
        self.schedules = {view.name: view for view in listing.schedules}
        table = self.query_one("#schedules", Table)
        row = table.cursor_row
        table.clear()
        table.append_rows(
            [
                (view.name, schedule_cells(view, listing.last.get(view.id)))
                for view in listing.schedules
            ]
        )
        table.measure_now()
        names = list(self.schedules)
        self._total = listing.total
        self._show_count(listing)
        if names:
            table.move_cursor(row=cursor_row(names, keep, row))
        if listing.firings is not None:
            self._firings_loaded(listing.firings)
        self.refresh_bindings()
        self._highlighted()

    def _show_count(self, listing: ScheduleList) -> None:
        total, off, shown = listing.total, listing.disabled, len(listing.schedules)
        noun = "schedule" if total == 1 else "schedules"
        text = f"{total} {noun}" + (f", {off} disabled" if off else "")
        if shown < total:
            text += f"  ·  first {shown} by name (more at the end of the list)"
        hint = "" if total else "  ·  n adds one"
        self.query_one("#schedules-count", Label).update(text + hint)

    @on(DataTable.RowHighlighted, "#schedules")
    def _highlighted(self) -> None:
        view = self.selected()
        if view is None:
            return
        table = self.query_one("#schedules", DataTable)
        if table.cursor_row == table.row_count - 1 and table.row_count < self._total:
            self._limit = table.row_count + PAGE
            self.action_reload()
        if view.name == self._firings_of:
            return  # on show or on its way: read with the list, or when the cursor came here
        self._firings_of = view.name
        service, name = self.ctx.runtime.schedules, view.name
        run_blocking(
            self,
            lambda: (name, service.firings(name, FIRINGS_SHOWN)),
            group="schedules-firings",
            exclusive=True,
        )

    def _firings_loaded(self, loaded: tuple[str, list[FiringView]]) -> None:
        name, firings = loaded
        view = self.selected()
        if view is None or view.name != name:
            return  # the cursor moved on meanwhile: its own read follows
        self._firings_of = name
        zone = view.timezone
        table = self.query_one("#schedule-firings", DataTable)
        table.clear()
        table.add_rows([firing_cells(firing, zone) for firing in firings])
        count = f"{len(firings)} recorded" if firings else "none recorded yet"
        self.query_one("#schedule-firings-title", Label).update(f"Firings of {name}: {count}")

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    # adding and editing -----------------------------------------------------------------------

    def action_new(self) -> None:
        self._ask_allowed(None)

    def action_edit(self) -> None:
        view = self.selected()
        if view is not None:
            self._ask_allowed(view)

    @on(DataTable.RowSelected, "#schedules")
    def _open(self) -> None:
        self.action_edit()

    def _ask_allowed(self, view: ScheduleView | None) -> None:
        """Fail fast: the permission is checked before the form is filled."""
        self._plans_for = view
        service = self.ctx.runtime.schedules
        run_blocking(self, service.check_can_edit, group="schedules-allowed")

    def _allowed(self, _: None) -> None:
        plans = self.ctx.runtime.plans
        run_blocking(self, plans.list, group="schedules-plans")

    def _plans_loaded(self, plans: list[PlanView]) -> None:
        view = self._plans_for
        if view is None:
            picker = PlanPickerModal(plans, "New schedule: which plan?")
            self.app.push_screen(picker, lambda plan: self._open_form(plan, None))
            return
        plan = next((p for p in plans if p.key == view.plan_key), None)
        if plan is None:
            self._failed(f"the plan of schedule '{view.name}' ({view.plan_name}) was deleted")
        else:
            self._open_form(plan, view)

    def _open_form(self, plan: PlanView | None, view: ScheduleView | None) -> None:
        if plan is None:
            return
        service = self.ctx.runtime.schedules

        def save(fields: ScheduleFields, name: str) -> ScheduleView:
            return service.edit(name, fields) if view else service.add(name, fields)

        form = schedule_form(plan, view, save, self.ctx.runtime.ctx.now)
        self.app.push_screen(form, self._saved)

    def _saved(self, view: ScheduleView | None) -> None:
        if view is not None:
            self._changed(view)

    # enabling, removing -----------------------------------------------------------------------

    def action_switch(self) -> None:
        view = self.selected()
        if view is None:
            return
        service, name, enable = self.ctx.runtime.schedules, view.name, not view.enabled
        run_blocking(self, lambda: service.set_enabled(name, enable), group="schedules-change")

    def action_remove(self) -> None:
        view = self.selected()
        if view is None:
            return
        question = (
            f"Remove schedule {view.name}?\n\nIts firing records go; the jobs it created stay."
        )
        service, name = self.ctx.runtime.schedules, view.name

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self, lambda: service.remove(name), group="schedules-change")

        self.app.push_screen(ConfirmModal(question, confirm_label="Remove"), answered)

    def _changed(self, view: ScheduleView | None) -> None:
        if view is None:
            self.notify("schedule removed")
            self.action_reload()
            return
        state = "enabled" if view.enabled else "disabled"
        upcoming = f"next {_utc(view.next_due_at)} UTC" if view.next_due_at else "no next firing"
        self.notify(f"schedule {view.name} {state}; {upcoming}", markup=False)
        self.action_reload(view.name)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"edit", "switch", "remove"} and self.is_mounted:
            return self.selected() is not None or None
        return True

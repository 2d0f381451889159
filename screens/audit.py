"""The audit section: who did what, when, filtered by actor, kind and time; an edit's before/after.

The filters are the CLI's (``otter-tui audit --actor --kind --since``), applied by the same
service: Enter in a filter reloads, the cursor's event shows its details, and for an edit the
fields it changed as they were and as they are. Everything shown is data: markup is off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.widgets import DataTable, Header, Input, Label, Static
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.audit import AuditFilter, AuditView, parse_since
from screens.background import in_flight, route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.tables import add_columns, cursor_key

COLUMNS = ("id", "at", "actor", "action", "object")
FILTERS = ("actor", "kind", "since")
LIMIT = 500


def load_events(runtime: Runtime, actor: str, kind: str, since: str) -> list[AuditView]:
    """Blocking: the newest events that match (a bad ``since`` is the CLI's one-line error)."""
    when = parse_since(since, runtime.ctx.now()) if since.strip() else None
    return runtime.audit.list(AuditFilter(when, actor.strip(), kind.strip()), limit=LIMIT)


def describe(event: AuditView) -> str:
    """The detail pane: the event's details, then each changed field before and after."""
    lines = [
        f"event {event.id} at {event.at:%Y-%m-%d %H:%M:%S} UTC by {event.actor}",
        f"{event.action} {event.object_type} {event.object_name}",
    ]
    lines += [f"  {key}: {value}" for key, value in event.detail.items()]
    before, after = event.before or {}, event.after or {}
    for field in dict.fromkeys([*before, *after]):
        lines += [f"{field}", f"  before: {before.get(field)}", f"  after:  {after.get(field)}"]
    return "\n".join(lines)


class AuditScreen(LaidOutOnce):
    """The audit trail, newest events last; filters on top, the selected event below."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("r", "reload", "Reload"),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.events: list[AuditView] = []
        """The events on show, oldest first."""

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="audit-filters"):
            yield Input(placeholder="actor", id="audit-actor", compact=True)
            yield Input(placeholder="kind: job or job.denied", id="audit-kind", compact=True)
            yield Input(
                placeholder="since: 30m, 2h, 7d or ISO time", id="audit-since", compact=True
            )
        yield Label("", id="audit-count")
        yield DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        yield Static("", id="audit-detail", markup=False)
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#audit", DataTable), COLUMNS)
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted and not in_flight(self, "audit-load"):
            self.action_reload()

    def action_focus_filter(self) -> None:
        self.query_one("#audit-actor", Input).focus()

    def action_reload(self) -> None:
        runtime = self.ctx.runtime
        actor, kind, since = (self.query_one(f"#audit-{name}", Input).value for name in FILTERS)
        run_blocking(
            self,
            lambda: load_events(runtime, actor, kind, since),
            group="audit-load",
            exclusive=True,
        )

    @on(Input.Submitted)
    def _filter(self) -> None:
        self.action_reload()
        self.query_one("#audit", DataTable).focus()

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        handlers: dict[str, Callable[[Any], None]] = {"audit-load": self._loaded}
        route_result(event, handlers, self._failed)

    def _loaded(self, events: list[AuditView]) -> None:
        self.events = events
        table = self.query_one("#audit", DataTable)
        table.clear()
        for e in events:
            cells = (str(e.id), f"{e.at:%Y-%m-%d %H:%M:%S}", e.actor, e.action,
                     f"{e.object_type} {e.object_name}")  # fmt: skip
            table.add_row(*cells, key=str(e.id))
        if events:
            table.move_cursor(row=len(events) - 1)
        shown = f"{len(events)} event(s)" + (f" (newest {LIMIT})" if len(events) == LIMIT else "")
        self.query_one("#audit-count", Label).update(shown)
        self._show_selected()

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    @on(DataTable.RowHighlighted, "#audit")
    def _show_selected(self) -> None:
        key = cursor_key(self.query_one("#audit", DataTable))
        event = next((e for e in self.events if str(e.id) == key), None)
        self.query_one("#audit-detail", Static).update("" if event is None else describe(event))

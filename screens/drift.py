"""The drift section: each server's stored drift, rolled up per role and environment, and the
per-item diff of the selected server (what ``otter-tui drift show SERVER`` prints).

Everything shown is read from the store, so a check run by the CLI, the daemon or another console
shows up here like one run from this screen. ``c`` checks, ``s`` simulates a remediation and
``r`` remediates (after a question) the selection: the marked servers (``Space`` marks), else the
server under the cursor, or the role or environment under the cursor when the roll-up has the
focus. The jobs are created by the job service (``jobs.run`` is required) and run like any job.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Header, Label, Static
from textual.widgets.data_table import RowDoesNotExist
from textual.worker import Worker

from otter_tui.events import DriftChecked, Event, JobStateChanged, Resync
from otter_tui.runtime import Runtime
from otter_tui.services.drift import DriftItemView, ServerDrift
from otter_tui.services.jobs import JobView
from otter_tui.targeting import TargetSpec
from screens.background import Coalesced, in_flight, route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import StoreChanged
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.modals import ConfirmModal
from screens.shown import listen, shown
from screens.tables import Table, add_columns, cursor_key

SERVER_COLUMNS = ("", "server", "drift", "checked", "drifted", "unknown")
GROUP_COLUMNS = ("group", "name", "drift")
ITEM_COLUMNS = ("plan", "status", "item", "message")
STYLES = {"error": "bold red", "drifted": "yellow", "unknown": "magenta", "never checked": "dim"}


@dataclass(frozen=True)
class DriftState:
    """One read of the stored drift: per server, and per role and environment."""

    servers: tuple[ServerDrift, ...]
    groups: Mapping[str, Mapping[str, str]]


def load_drift(runtime: Runtime) -> DriftState:
    service = runtime.drift
    return DriftState(tuple(service.servers()), service.groups())


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone():%Y-%m-%d %H:%M}"


def server_cells(row: ServerDrift, marked: bool) -> list[Text]:
    values = (
        "*" if marked else " ",
        row.server,
        row.status,
        _when(row.checked_at),
        str(row.drifted),
        str(row.unknown),
    )
    cells = [Text(value) for value in values]
    cells[2].stylize(STYLES.get(row.status, "green"))
    return cells


def item_cells(item: DriftItemView) -> list[Text]:
    status = "current" if item.status == "desired" else item.status
    cells = [Text(item.plan_key), Text(status), Text(item.item), Text(item.message)]
    cells[1].stylize(STYLES.get(status, "green"))
    return cells


class DriftScreen(LaidOutOnce):
    """Stored drift per server and group; the items and diff of one server; check and fix."""

    BINDINGS = [
        Binding("space", "mark", "Mark"),
        Binding("c", "drift(False, False)", "Check"),
        Binding("s", "drift(True, True)", "Simulate"),
        Binding("r", "drift(True, False)", "Remediate"),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.marked: set[str] = set()
        """Servers marked with Space: the selection of the next check or remediation."""
        self.state = DriftState((), {})
        self.items: tuple[DriftItemView, ...] = ()
        self._loads = Coalesced(self._start_load)

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="drift-count")
        with Horizontal(id="drift-top"):
            yield Table(id="drift-servers", cursor_type="row", zebra_stripes=True)
            yield Table(id="drift-groups", cursor_type="row")
        with Horizontal(id="drift-bottom"):
            yield Table(id="drift-items", cursor_type="row")
            with VerticalScroll(id="drift-diff-box"):
                yield Static("", id="drift-diff", markup=False)
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#drift-items", DataTable), ITEM_COLUMNS)
        add_columns(self.query_one("#drift-groups", DataTable), GROUP_COLUMNS)
        add_columns(self.query_one("#drift-servers", DataTable), SERVER_COLUMNS)
        listen(self.ctx.events, self, self._core_event)
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted and not in_flight(self, "drift-load"):
            self.action_reload()

    def _core_event(self, event: Event) -> None:
        if not shown(self):
            return  # hidden: it reloads when shown again (on_screen_resume)
        moved = isinstance(event, StoreChanged) and event.touches("drift")
        if moved or isinstance(event, DriftChecked | Resync | JobStateChanged):
            self.action_reload()

    # loading ----------------------------------------------------------------------------------

    def action_reload(self) -> None:
        self._loads.request()

    def _start_load(self) -> None:
        runtime = self.ctx.runtime
        run_blocking(self, lambda: load_drift(runtime), group="drift-load")

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        handlers: dict[str, Callable[[Any], None]] = {
            "drift-load": self._loaded,
            "drift-items": self._items_loaded,
            "drift-create": self._created,
        }
        route_result(event, handlers, self._failed)

    def _loaded(self, state: DriftState) -> None:
        self._loads.done()
        self.state = state
        self._fill_servers()
        groups = self.query_one("#drift-groups", DataTable)
        keep = cursor_key(groups)
        groups.clear()
        for kind in ("roles", "environments"):
            for name, status in state.groups.get(kind, {}).items():
                cells = [Text(kind.rstrip("s")), Text(name), Text(status)]
                cells[2].stylize(STYLES.get(status, "green"))
                groups.add_row(*cells, key=f"{kind}:{name}")
        _restore_cursor(groups, keep)
        drifted = sum(1 for row in state.servers if row.status in {"drifted", "error"})
        self.query_one("#drift-count", Label).update(
            f"{len(state.servers)} servers, {drifted} drifted or in error  ·  "
            "Space marks; c check, s simulate a fix, r remediate"
        )

    def _fill_servers(self) -> None:
        table = self.query_one("#drift-servers", DataTable)
        keep = cursor_key(table)
        table.clear()
        for row in self.state.servers:
            table.add_row(*server_cells(row, row.server in self.marked), key=row.server)
        _restore_cursor(table, keep)
        self._server_highlighted()

    @on(DataTable.RowHighlighted, "#drift-servers")
    def _server_highlighted(self) -> None:
        server = cursor_key(self.query_one("#drift-servers", DataTable))
        if server is None:
            return
        service = self.ctx.runtime.drift
        run_blocking(
            self, lambda: (server, service.items(server)), group="drift-items", exclusive=True
        )

    def _items_loaded(self, loaded: tuple[str, list[DriftItemView]]) -> None:
        _server, items = loaded
        self.items = tuple(items)
        table = self.query_one("#drift-items", DataTable)
        table.clear()
        for index, item in enumerate(items):
            table.add_row(*item_cells(item), key=str(index))
        self._item_highlighted()

    @on(DataTable.RowHighlighted, "#drift-items")
    def _item_highlighted(self) -> None:
        key = cursor_key(self.query_one("#drift-items", DataTable))
        item = self.items[int(key)] if key is not None and int(key) < len(self.items) else None
        if item is None:
            text = "No items: never checked, or no configuration plan applies."
        else:
            text = item.diff or f"{item.item}: {item.message or 'no diff'}"
        self.query_one("#drift-diff", Static).update(text)

    def _failed(self, line: str) -> None:
        self._loads.busy = False
        self.notify(line, severity="error", markup=False)

    # acting -----------------------------------------------------------------------------------

    def action_mark(self) -> None:
        server = cursor_key(self.query_one("#drift-servers", DataTable))
        if server is not None:
            self.marked ^= {server}
            self._fill_servers()

    def selection(self) -> TargetSpec:
        """Marked servers; else the group under the cursor (roll-up focused) or the server."""
        groups = self.query_one("#drift-groups", DataTable)
        if not self.marked and groups.has_focus and (key := cursor_key(groups)):
            kind, _, name = key.partition(":")
            if kind == "roles":
                return TargetSpec(roles=(name,))
            return TargetSpec(environments=(name,))
        current = cursor_key(self.query_one("#drift-servers", DataTable))
        servers = sorted(self.marked) or ([current] if current else [])
        return TargetSpec(servers=tuple(servers))

    def action_drift(self, remediate: bool, simulation: bool) -> None:
        targets = self.selection()
        if targets.empty:
            return
        jobs = self.ctx.runtime.jobs

        def create() -> JobView:
            return jobs.create_drift(targets, remediate=remediate, simulation=simulation)

        if not remediate or simulation:
            run_blocking(self, create, group="drift-create")
            return
        question = f"Remediate {targets.describe()}?\n\nDrifted items are changed on the servers."

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self, create, group="drift-create")

        self.app.push_screen(ConfirmModal(question, confirm_label="Remediate"), answered)

    def _created(self, view: JobView) -> None:
        if self.ctx.runner is not None:
            self.ctx.runner.notify()
        self.marked.clear()
        self._fill_servers()
        self.notify(f"job {view.id} ({view.plan_name}) {view.state}", markup=False)


def _restore_cursor(table: DataTable[Any], key: str | None) -> None:
    if key is None or not table.row_count:
        return
    with suppress(RowDoesNotExist):  # the row went away: the cursor stays where it is
        table.move_cursor(row=table.get_row_index(key))

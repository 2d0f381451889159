"""The inventory section: servers (filter, detail, add/edit/(de)activate/delete) and groups.

The screen reads the inventory in one thread worker and hands the snapshot down to its two
panes; a pane that changes something posts :class:`InventoryChanged` up and the screen reloads.
"""

from __future__ import annotations

from functools import partial

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.reactive import var
from textual.widgets import DataTable, Header, Input, Label, TabbedContent, TabPane
from textual.worker import Worker

from otter_tui.events import DriftChecked, Event, Resync
from otter_tui.runtime import Runtime
from otter_tui.services.inventory import ServerView
from screens.background import route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import StoreChanged
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.groups import GroupsPane
from screens.import_modal import ImportCommands, start_import
from screens.messages import InventoryChanged
from screens.modals import ConfirmModal
from screens.server_detail import ServerDetail, address
from screens.server_form import add_server_modal, edit_server_modal
from screens.shown import ShownReloads, listen
from screens.snapshot import InventorySnapshot, load_snapshot
from screens.tables import Table

COLUMNS = ("name", "transport", "address", "user", "active", "roles", "environments", "drift")


def matches(server: ServerView, query: str) -> bool:
    """Every word of ``query`` appears in one of the server's fields (case-insensitive)."""
    state = "active" if server.active else "inactive"
    fields = [server.name, server.host, server.user, server.transport, state, server.description]
    haystack = " ".join([*fields, *server.roles, *server.environments]).lower()
    return all(word in haystack for word in query.lower().split())


def drift_cell(status: str) -> str:
    """The drift column's word: "never checked" is shortened so the column fits at 80 columns."""
    return "never" if status == "never checked" else status


def server_cells(server: ServerView, drift: str) -> list[Text]:
    """One table row; inactive servers are dimmed. Every cell is plain text, never markup."""
    values = (
        server.name,
        server.transport,
        address(server),
        server.user or "-",
        "yes" if server.active else "no",
        ", ".join(server.roles),
        ", ".join(server.environments),
        drift_cell(drift),
    )
    style = "" if server.active else "dim"
    return [Text(value, style=style) for value in values]


class ServersPane(Vertical):
    """The server table with a filter line, and the selected server's detail beside it."""

    BINDINGS = [
        Binding("slash", "focus_filter", "Filter"),
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("d", "set_active(False)", "Deactivate", show=False),
        Binding("d", "set_active(True)", "Activate", show=False),
        Binding("x", "delete", "Delete", show=False),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("down", "focus_table", show=False),
    ]

    snapshot: var[InventorySnapshot] = var(InventorySnapshot, init=False)
    """The inventory on show, set by the screen after each load."""
    filter_text: var[str] = var("", init=False)
    """Words every shown server must contain."""

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        """The services every action calls."""
        self.drift: dict[str, str] = {}
        """Each server's drift status: as stored at the last load, then as checks report it."""

    def compose(self) -> ComposeResult:
        with Horizontal(id="filter-bar"):
            yield Input(
                placeholder="/ to filter: name, host, user, role, environment...",
                id="filter",
                compact=True,
            )
            yield Label("", id="servers-count")
        with Horizontal(id="servers-body"):
            yield Table(id="servers", cursor_type="row", zebra_stripes=True)
            yield ServerDetail(self.runtime, id="server-detail")

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#servers", DataTable)

    def selected(self) -> ServerView | None:
        """The server under the table's cursor, if any."""
        table = self.table
        if not table.row_count:
            return None
        row_key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return self.snapshot.server(str(row_key.value))

    def show(self, snapshot: InventorySnapshot, select: str | None = None) -> None:
        """Show a fresh snapshot, keeping the cursor on ``select`` or the server it was on."""
        current = self.selected()
        self.snapshot = snapshot
        self.drift = dict(snapshot.drift)
        self._fill(select or (current.name if current else None), columns=True)
        self.query_one(ServerDetail).reload()

    def watch_filter_text(self) -> None:
        current = self.selected()
        self._fill(current.name if current else None)

    def _fill(self, keep: str | None, *, columns: bool = False) -> None:
        table = self.table
        row = table.cursor_row
        table.clear(columns=columns)
        if columns:  # (re-)added on fresh data, so their widths fit what is there now
            for column in COLUMNS:
                table.add_column(column, key=column)
        shown = [s for s in self.snapshot.servers if matches(s, self.filter_text)]
        for server in shown:
            table.add_row(*server_cells(server, self.drift.get(server.name, "-")), key=server.name)
        names = [s.name for s in shown]
        if names:
            table.move_cursor(row=names.index(keep) if keep in names else min(row, len(names) - 1))
        total = len(self.snapshot.servers)
        count = f"{len(shown)} of {total}" if self.filter_text else f"{total}"
        self.query_one("#servers-count", Label).update(f"{count} servers")
        self._show_selected()

    def set_drift(self, server: str, status: str) -> None:
        self.drift[server] = status
        if server in {s.name for s in self.snapshot.servers if matches(s, self.filter_text)}:
            self.table.update_cell(server, "drift", Text(drift_cell(status)), update_width=True)
            self._show_selected()

    @on(DataTable.RowHighlighted, "#servers")
    def _show_selected(self) -> None:
        server = self.selected()
        detail = self.query_one(ServerDetail)
        detail.drift = self.drift.get(server.name, "-") if server else "-"
        detail.server = server
        self.refresh_bindings()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value

    @on(Input.Submitted, "#filter")
    def action_focus_table(self) -> None:
        self.table.focus()

    def action_focus_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.table.focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_mounted:
            return True
        server = self.selected()
        if action == "set_active":
            # One "d" shows at a time: Deactivate on an active server, Activate otherwise.
            return server is not None and server.active != parameters[0]
        if action == "clear_filter":
            return bool(self.filter_text) or self.query_one("#filter", Input).has_focus
        if action in {"edit", "delete"}:
            return server is not None or None
        return True

    # actions that change the inventory ------------------------------------------------------

    def action_add(self) -> None:
        modal = add_server_modal(
            self.runtime, self.snapshot.role_names, self.snapshot.environment_names
        )
        self.app.push_screen(modal, partial(self._saved, "added"))

    def action_edit(self) -> None:
        server = self.selected()
        if server is not None:
            snap = self.snapshot
            modal = edit_server_modal(self.runtime, server, snap.role_names, snap.environment_names)
            self.app.push_screen(modal, partial(self._saved, "saved"))

    def _saved(self, verb: str, server: ServerView | None) -> None:
        if server is not None:
            self.notify(f"server '{server.name}' {verb}", markup=False)
            self.post_message(InventoryChanged(select=server.name))

    def action_set_active(self, active: bool) -> None:
        server = self.selected()
        if server is None:
            return
        name = server.name
        verb = "activated" if active else "deactivated"

        def toggle() -> tuple[str, str | None]:
            self.runtime.inventory.update_server(name, active=active)
            return f"server '{name}' {verb}", name

        run_blocking(self, toggle, group="servers-write")

    def action_delete(self) -> None:
        server = self.selected()
        if server is None:
            return
        name = server.name
        question = (
            f"Delete server '{name}'?\n\nIts server variables are deleted with it; "
            "past jobs keep their records. This cannot be undone."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self, lambda: self._remove(name), group="servers-write")

        self.app.push_screen(ConfirmModal(question), answered)

    def _remove(self, name: str) -> tuple[str, str | None]:
        self.runtime.inventory.remove_server(name)
        return f"server '{name}' deleted", None

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        route_result(event, {"servers-write": self._written}, self._failed)

    def _written(self, result: tuple[str, str | None]) -> None:
        message, select = result
        self.notify(message, markup=False)
        self.post_message(InventoryChanged(select=select))

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)


class ServersScreen(LaidOutOnce):
    """Servers, roles and environments: what every job targets."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (130, "-wide")]
    """Below 130 columns the detail moves under the table, so the table keeps its columns."""
    BINDINGS = [
        Binding("r", "reload", "Refresh", show=False),
        Binding("g", "switch_tab", "Servers/Groups"),
        Binding("i", "import_inventory", "Import", show=False),
    ]
    COMMANDS = {ImportCommands}

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.runtime = ctx.runtime
        """The services the panes call."""
        self.events = ctx.events
        """Core events from the app's bridge."""
        self._select_after_load: str | None = None
        self._shown = ShownReloads(self, self.action_reload)

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="servers-tab"):
            with TabPane("Servers", id="servers-tab"):
                yield ServersPane(self.runtime, id="servers-pane")
            with TabPane("Roles & environments", id="groups-tab"):
                yield GroupsPane(self.runtime, id="groups-pane")
        yield OtterFooter()

    def on_mount(self) -> None:
        listen(self.events, self, self._core_event)
        self.query_one("#servers", DataTable).focus()
        self.action_reload()

    def on_screen_resume(self) -> None:
        self._shown.resumed()

    def action_reload(self, select: str | None = None) -> None:
        """Read the inventory again; ``select``: put the cursor on that server once read. A
        reload without one (the change feed's) keeps a pending ``select``: it replaces the read
        in flight, and the server just added must still get the cursor."""
        if select is not None:
            self._select_after_load = select
        runtime = self.runtime
        run_blocking(self, lambda: load_snapshot(runtime), group="inventory-load", exclusive=True)

    def action_import_inventory(self) -> None:
        start_import(self, self.runtime)

    def action_switch_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = "groups-tab" if tabs.active == "servers-tab" else "servers-tab"
        target = "#roles" if tabs.active == "groups-tab" else "#servers"
        self.query_one(target).focus()

    @on(InventoryChanged)
    def _inventory_changed(self, message: InventoryChanged) -> None:
        message.stop()
        self.action_reload(message.select)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        route_result(event, {"inventory-load": self._loaded}, self._load_failed)

    def _loaded(self, snapshot: InventorySnapshot) -> None:
        select, self._select_after_load = self._select_after_load, None
        self.query_one(ServersPane).show(snapshot, select)
        self.query_one(GroupsPane).snapshot = snapshot

    def _load_failed(self, line: str) -> None:
        self.notify(f"cannot read the inventory: {line}", severity="error", markup=False)

    def _core_event(self, event: Event) -> None:
        if isinstance(event, DriftChecked):
            self.query_one(ServersPane).set_drift(event.server, event.status)
        elif isinstance(event, Resync) or (
            isinstance(event, StoreChanged) and event.touches("servers")
        ):
            self._shown.request()

"""The selected server: its fields and the variables a plan would see on it."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import var
from textual.widgets import DataTable, Label, Static
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.inventory import ServerView
from screens.background import route_result, run_blocking
from screens.tables import Table

CASCADE = "closest wins: server > env > role > global"


def address(server: ServerView) -> str:
    """Where the server is reached: ``host:port`` over ssh, ``local`` for the local transport."""
    return f"{server.host}:{server.port}" if server.transport == "ssh" else "local"


def describe(server: ServerView, drift: str) -> Text:
    """The server's fields as plain text: user data is appended, never parsed as markup."""
    text = Text()
    text.append(server.name, style="bold")
    text.append(
        "  active" if server.active else "  inactive", style="green" if server.active else "red"
    )
    rows = (
        ("transport", server.transport),
        ("address", address(server)),
        ("user", server.user or "-"),
        ("roles", ", ".join(server.roles) or "-"),
        ("environments", ", ".join(server.environments) or "-"),
        ("drift", drift),
        ("description", server.description or "-"),
    )
    for label, value in rows:
        text.append(f"\n{label:<13}", style="dim")
        text.append(value)
    return text


class ServerDetail(Vertical):
    """Shows ``server``; resolves its variables in a thread worker whenever it changes."""

    server: var[ServerView | None] = var(None)
    """The server on show; None shows a hint. Another server's variables are resolved."""
    drift: var[str] = var("-")
    """The server's last drift result, as far as the console knows."""

    def __init__(self, runtime: Runtime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        """Where the variables are resolved."""

    def compose(self) -> ComposeResult:
        yield Static("No server selected.", id="server-fields", markup=False)
        with Vertical(id="variables-box"):
            yield Label("Resolved variables", classes="section-title")
            yield Static(CASCADE, classes="hint", markup=False)
            yield Table(id="server-variables", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        self.query_one("#server-variables", DataTable).add_columns("variable", "value")

    def watch_server(self, old: ServerView | None, new: ServerView | None) -> None:
        self._show_fields()
        if (old and old.name) != (new and new.name):
            self.reload()

    def reload(self) -> None:
        """Resolve the variables of the server on show again (they may have changed)."""
        self.query_one("#server-variables", DataTable).clear()
        if self.server is not None:
            name, variables = self.server.name, self.runtime.variables
            run_blocking(
                self, lambda: variables.resolve(name), group="server-variables", exclusive=True
            )

    def watch_drift(self) -> None:
        self._show_fields()

    def _show_fields(self) -> None:
        fields = self.query_one("#server-fields", Static)
        fields.update(describe(self.server, self.drift) if self.server else "No server selected.")

    @on(Worker.StateChanged)
    def _resolved(self, event: Worker.StateChanged) -> None:
        route_result(event, {"server-variables": self._show_variables}, self.notify_error)

    def _show_variables(self, variables: dict[str, str]) -> None:
        table = self.query_one("#server-variables", DataTable)
        table.clear()
        for name in sorted(variables):
            table.add_row(Text(name), Text(variables[name]))

    def notify_error(self, line: str) -> None:
        self.query_one("#server-fields", Static).update(Text(line, style="red"))

"""The Servers screen's Import action: pick a source, preview its dry run, apply on "yes".

Step one is a form (source kind, path, environments, prune) whose submit runs the dry run in a
thread worker, so a bad file is one error line under the fields. Step two shows the dry-run
table and applies the same import only when the operator confirms. Both steps call the sync
service the CLI uses; nothing here reads a file or touches the database itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, DataTable, Label, Static
from textual.worker import Worker

from screens.background import route_result, run_blocking
from screens.footer import OtterFooter
from screens.messages import InventoryChanged
from screens.modals import FormField, FormModal

if TYPE_CHECKING:  # imported when an import is asked for: the Servers screen paints without them
    from otter_tui.inventory_import import Source
    from otter_tui.runtime import Runtime
    from otter_tui.services.inventory_sync import InventorySyncService, SyncReport

KINDS = ("ansible", "ssh-config")
TITLE = "Import inventory"
HELP = "Ansible inventory or ssh_config: preview the changes, then apply"


@dataclass(frozen=True)
class ImportRequest:
    """What the form asked for; read again when applying, so the preview is what is applied."""

    kind: str
    path: str
    environments: frozenset[str]
    prefix: str
    prune: bool

    def read(self) -> Source:
        from otter_tui.inventory_import import AnsibleOptions, read_ansible, read_ssh_config

        if self.kind == "ssh-config":
            return read_ssh_config(self.path or None)
        return read_ansible(self.path, AnsibleOptions(self.environments, self.prefix))


@dataclass(frozen=True)
class Preview:
    request: ImportRequest
    report: SyncReport


def _preview(runtime: Runtime, values: Mapping[str, str]) -> Preview:
    """The form's submit, off the UI thread: read the source and dry-run it."""
    environments = frozenset(e.strip() for e in values["environments"].split(",") if e.strip())
    request = ImportRequest(
        values["kind"],
        values["path"],
        environments,
        runtime.settings.inventory.environment_prefix,
        values["prune"] == "yes",
    )
    service = _sync_service(runtime)
    return Preview(request, service.sync(request.read(), dry_run=True, prune=request.prune))


def _sync_service(runtime: Runtime) -> InventorySyncService:
    from otter_tui.services.inventory_sync import InventorySyncService

    return InventorySyncService(runtime.ctx)


def import_form(runtime: Runtime) -> FormModal[Preview]:
    fields = [
        FormField("kind", "Source", choices=KINDS),
        FormField("path", "Path", placeholder="inventory file (ssh-config: ~/.ssh/config)"),
        FormField("environments", "Environments", placeholder="groups, comma-separated"),
        FormField("prune", "Prune", choices=("no", "yes"), hint="remove servers it lacks"),
    ]
    return FormModal(
        TITLE, fields, lambda values: _preview(runtime, values), submit_label="Preview"
    )


class ImportPreviewModal(ModalScreen["SyncReport | None"]):
    """The dry-run table; ``y`` applies the import (in a worker), ``n``/Esc cancel."""

    BINDINGS = [
        Binding("y", "apply", "Apply"),
        Binding("n", "cancel", "Cancel"),
        Binding("escape", "cancel", "Cancel", show=False),
    ]

    def __init__(self, runtime: Runtime, preview: Preview) -> None:
        super().__init__()
        self.runtime = runtime
        """The services the import is applied through."""
        self.preview = preview
        """The request and its dry-run report, as shown."""

    def compose(self) -> ComposeResult:
        report = self.preview.report
        with Vertical(classes="dialog import"):
            yield Label(f"Import from {report.source}", classes="dialog--title", markup=False)
            yield DataTable(id="import-changes", cursor_type="row", zebra_stripes=True)
            yield Static(report.summary(), id="import-summary", markup=False)
            yield Static("\n".join(report.warnings), id="import-warnings", markup=False)
            yield Static("", id="import-error", markup=False)
            with Horizontal(classes="dialog--buttons"):
                yield Button("Apply (y)", variant="primary", id="import-apply")
                yield Button("Cancel (n)", id="import-cancel")
        yield OtterFooter()

    def on_mount(self) -> None:
        table = self.query_one("#import-changes", DataTable)
        table.add_columns("kind", "name", "status", "detail")
        for change in self.preview.report.changes:
            cells = (change.kind, change.name or "-", change.status, change.detail)
            table.add_row(*(Text(c) for c in cells))
        self.query_one("#import-cancel", Button).focus()

    @on(Button.Pressed, "#import-apply")
    def action_apply(self) -> None:
        button = self.query_one("#import-apply", Button)
        if button.disabled:
            return
        button.disabled = True
        request, service = self.preview.request, _sync_service(self.runtime)
        run_blocking(
            self, lambda: service.sync(request.read(), prune=request.prune), group="import-apply"
        )

    @on(Button.Pressed, "#import-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Worker.StateChanged)
    def _applied(self, event: Worker.StateChanged) -> None:
        route_result(event, {"import-apply": self._done}, self._failed)

    def _done(self, report: SyncReport) -> None:
        self.dismiss(report)

    def _failed(self, line: str) -> None:
        self.query_one("#import-apply", Button).disabled = False
        self.query_one("#import-error", Static).update(line)


def start_import(screen: Screen[Any], runtime: Runtime) -> None:
    """Ask for a source, show its dry run, apply it if confirmed, then reload the screen."""

    def applied(report: SyncReport | None) -> None:
        if report is not None:
            screen.notify(f"imported from {report.source}: {report.summary()}", markup=False)
            screen.post_message(InventoryChanged(select=None))

    def previewed(preview: Preview | None) -> None:
        if preview is not None:
            screen.app.push_screen(ImportPreviewModal(runtime, preview), applied)

    screen.app.push_screen(import_form(runtime), previewed)


class ImportCommands(Provider):
    """The palette entry for the Servers screen's Import action."""

    async def discover(self) -> Hits:
        yield DiscoveryHit(TITLE, self._run, help=HELP)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        score = matcher.match(TITLE)
        if score > 0:
            yield Hit(score, matcher.highlight(TITLE), self._run, help=HELP)

    async def _run(self) -> None:
        await self.screen.run_action("import_inventory")

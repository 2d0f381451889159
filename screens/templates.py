"""The templates section: saved job fields; Enter or ``r`` runs one, ``x`` removes one.

Running opens the job form filled from the template (sensitive fields empty and hidden: they are
never stored) and creates the job through the templates service, as the acting user, linked to
the template. ``a`` adds one and ``e`` edits one (:mod:`screens.template_edit`), ``k`` issues
its trigger key (shown once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Header, Label
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.plans import PlanView
from otter_tui.services.templates import Overrides, TemplateService, TemplateView
from screens.background import route_result, run_blocking
from screens.breakpoints import LaidOutOnce
from screens.change_feed import follow_store
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.job_actions import WAITING_WORDS
from screens.job_form import PlanPickerModal, SubmittedJob, job_fields, job_request
from screens.messages import JobsChanged
from screens.modals import ConfirmModal, FormModal
from screens.tables import Table, add_columns, cursor_key
from screens.template_edit import allowed, template_form

COLUMNS = ("name", "plan", "targets", "variables", "sim", "owner", "key", "description")


@dataclass(frozen=True)
class TemplateToRun:
    """A template and its plan as the job form needs it."""

    template: TemplateView
    plan: PlanView | None


def template_cells(view: TemplateView) -> list[Text]:
    values = (
        view.name,
        view.plan_name,
        view.targets.describe(),
        ", ".join(f"{k}={v}" for k, v in view.variables.items()) or "-",
        "yes" if view.simulation else "no",
        view.owner,
        "yes" if view.has_trigger_key else "no",
        view.description or "-",
    )
    return [Text(value) for value in values]


def load_for_run(runtime: Runtime, name: str) -> TemplateToRun:
    """Blocking: the template as stored now, and its plan's record (None when it is gone)."""
    view = runtime.templates.show(name)
    plan = next((p for p in runtime.plans.list() if p.key == view.plan_key), None)
    return TemplateToRun(view, plan)


def submit_template(
    ctx: ConsoleContext, todo: TemplateToRun, values: Mapping[str, str]
) -> SubmittedJob:
    """Blocking: run the template with what the form holds; sensitive values only as secrets."""
    assert todo.plan is not None
    request = job_request(todo.plan, values)
    hidden = {n for n, schema in todo.plan.variables.items() if schema.get("sensitive")}
    plain = {k: v for k, v in request.variables.items() if k not in hidden}
    secrets = {k: v for k, v in request.variables.items() if k in hidden}
    overrides = Overrides(plain, request.targets, request.simulation)
    run = ctx.runtime.templates.run(todo.template.name, overrides, secrets)
    claimed = False
    if run.secrets and run.job.state == "queued" and ctx.runner is not None:
        claimed = ctx.runner.claim(run.job.id)
    return SubmittedJob(run.job, run.secrets, claimed)


class TemplatesScreen(LaidOutOnce):
    """Every job template; run one through the job form, or remove it."""

    BINDINGS = [
        Binding("r", "run_template", "Run"),
        Binding("a", "add", "Add"),
        Binding("e", "edit", "Edit"),
        Binding("k", "issue_key", "Key"),
        Binding("x", "remove", "Remove", show=False),
        Binding("f5", "reload", "Refresh", show=False),
    ]

    def __init__(self, ctx: ConsoleContext) -> None:
        super().__init__()
        self.ctx = ctx
        """Services, core events and the runner."""
        self.templates: tuple[TemplateView, ...] = ()
        """The templates on show."""
        self._editing: TemplateView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Label("", id="templates-count")
        yield Table(id="templates", cursor_type="row", zebra_stripes=True)
        yield OtterFooter()

    def on_mount(self) -> None:
        add_columns(self.query_one("#templates", DataTable), COLUMNS)
        follow_store(self.ctx.events, self, "templates", self.action_reload)
        self.action_reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.action_reload()

    def selected(self) -> TemplateView | None:
        key = cursor_key(self.query_one("#templates", DataTable))
        return next((t for t in self.templates if t.name == key), None)

    # loading ----------------------------------------------------------------------------------

    def action_reload(self) -> None:
        service = self.ctx.runtime.templates
        run_blocking(self, service.list_templates, group="templates-load", exclusive=True)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        handlers: dict[str, Callable[[Any], None]] = {
            "templates-load": self._loaded,
            "templates-open": self._open_form,
            "templates-remove": self._removed,
            "templates-plans": self._plans_loaded,
            "templates-key": self._key_issued,
        }
        route_result(event, handlers, self._failed)

    def _loaded(self, views: list[TemplateView]) -> None:
        current = self.selected()
        self.templates = tuple(views)
        table = self.query_one("#templates", DataTable)
        row = table.cursor_row
        table.clear()
        for view in views:
            table.add_row(*template_cells(view), key=view.name)
        names = [view.name for view in views]
        if names:
            keep = current.name if current else None
            table.move_cursor(row=names.index(keep) if keep in names else min(row, len(names) - 1))
        hint = "" if names else "  ·  a adds one"
        self.query_one("#templates-count", Label).update(f"{len(names)} templates{hint}")
        self.refresh_bindings()

    def _failed(self, line: str) -> None:
        self.notify(line, severity="error", markup=False)

    # running ----------------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#templates")
    def _open(self) -> None:
        self.action_run_template()

    def action_run_template(self) -> None:
        view = self.selected()
        if view is not None:
            runtime, name = self.ctx.runtime, view.name
            run_blocking(self, lambda: load_for_run(runtime, name), group="templates-open")

    def _open_form(self, todo: TemplateToRun) -> None:
        if todo.plan is None:
            self._failed(f"plan '{todo.template.plan_name}' no longer exists: edit the template")
            return
        form = FormModal(
            f"Run template {todo.template.name}: {todo.plan.name}",
            job_fields(todo.plan, todo.template),
            lambda values: submit_template(self.ctx, todo, values),
            submit_label="Run",
        )
        self.app.push_screen(form, self._created)

    def _created(self, result: SubmittedJob | None) -> None:
        if result is None:
            return
        view, runner = result.view, self.ctx.runner
        if runner is not None and result.claimed:
            runner.launch(view.id, result.secrets)
        elif runner is not None:
            runner.notify()
        state = WAITING_WORDS.get(view.state, view.state)
        self.notify(f"job {view.id} ({view.plan_name}) {state}", markup=False)
        self.post_message(JobsChanged(select=view.id))

    @on(JobsChanged)
    def _jobs_changed(self, message: JobsChanged) -> None:
        message.stop()

    # adding, editing, keys --------------------------------------------------------------------

    def action_add(self) -> None:
        self._editing = None
        run_blocking(self, allowed(self.ctx.runtime), group="templates-plans")

    def action_edit(self) -> None:
        self._editing = self.selected()
        if self._editing is not None:
            run_blocking(self, allowed(self.ctx.runtime), group="templates-plans")

    def _plans_loaded(self, plans: list[PlanView]) -> None:
        view = self._editing
        if view is None:
            picker = PlanPickerModal(plans, "New template: which plan?")
            self.app.push_screen(picker, lambda plan: self._open_editor(plan, None))
            return
        plan = next((p for p in plans if p.key == view.plan_key), None)
        if plan is None:
            self._failed(f"plan '{view.plan_name}' no longer exists")
        else:
            self._open_editor(plan, view)

    def _open_editor(self, plan: PlanView | None, view: TemplateView | None) -> None:
        if plan is not None:
            self.app.push_screen(template_form(self.ctx.runtime, plan, view), self._saved)

    def _saved(self, view: TemplateView | None) -> None:
        if view is not None:
            self.notify(f"template {view.name} saved", markup=False)
            self.action_reload()

    def action_issue_key(self) -> None:
        view = self.selected()
        if view is None:
            return
        service, name = self.ctx.runtime.templates, view.name
        replaces = " It replaces the current key." if view.has_trigger_key else ""
        question = f"Issue a new trigger key for {name}?{replaces}"

        def issue() -> tuple[str, str]:
            return name, service.issue_trigger_key(name)

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self, issue, group="templates-key")

        self.app.push_screen(ConfirmModal(question, confirm_label="Issue"), answered)

    def _key_issued(self, issued: tuple[str, str]) -> None:
        name, key = issued
        shown = (
            f"Trigger key of {name} (shown this once; only its hash is stored):\n\n{key}\n\n"
            "Scripts trigger the template with it (see docs/templates.md)."
        )
        self.app.push_screen(ConfirmModal(shown, confirm_label="Done", deny_label="Close"))
        self.action_reload()

    # removing ---------------------------------------------------------------------------------

    def action_remove(self) -> None:
        view = self.selected()
        if view is None:
            return
        question = f"Remove template {view.name} ({view.plan_name})?\n\nThe jobs it created stay."
        service, name = self.ctx.runtime.templates, view.name

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self, lambda: _remove(service, name), group="templates-remove")

        self.app.push_screen(ConfirmModal(question, confirm_label="Remove"), answered)

    def _removed(self, name: str) -> None:
        self.notify(f"template {name} removed", markup=False)
        self.action_reload()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in {"run_template", "remove", "edit", "issue_key"} and self.is_mounted:
            return self.selected() is not None or None
        return True


def _remove(service: TemplateService, name: str) -> str:
    service.remove(name)
    return name

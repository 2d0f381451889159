"""The new-job flow: pick a plan, then a form with its targets, declared variables and mode.

The form only gathers text; :func:`submit_job` hands it to the job service, so validation,
permissions and approvals are exactly those of the CLI. A job with sensitive variables is
claimed at once and run in this process, the only place its values exist.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList, Static
from textual.widgets.option_list import Option

from otter_tui.scheduling import parse_time
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.services.plans import PlanView
from otter_tui.targeting import TargetSpec
from screens.context import ConsoleContext
from screens.footer import OtterFooter
from screens.modals import FormField, FormModal
from screens.server_form import split_names

YES_NO = ("no", "yes")
TARGET_FIELDS = ("servers", "roles", "environments")
TARGET_HINTS = {
    "servers": "",
    "roles": "",
    "environments": "with roles: each role's servers that are in these environments",
}


class JobPrefill(Protocol):
    """What fills the job form: a job being re-run, or a job template."""

    @property
    def targets(self) -> TargetSpec: ...
    @property
    def simulation(self) -> bool: ...
    @property
    def variables(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class SubmittedJob:
    """A job the form created, and what this process must do to run it."""

    view: JobView
    secrets: dict[str, Any] = field(default_factory=dict)
    """Sensitive values: they exist only here, so this process runs the job."""
    claimed: bool = False
    """Claimed by this console's runner: launch it with ``secrets``."""


def runnable(plan: PlanView) -> bool:
    return plan.enabled and plan.installed


def plan_option(plan: PlanView) -> Option:
    """One plan in the picker; a plan that cannot run is shown, greyed, with the reason."""
    label = f"{plan.name}  ({plan.kind})"
    if not plan.installed:
        label += "  - not installed"
    elif not plan.enabled:
        label += "  - disabled (enable it in Plans)"
    return Option(label, id=plan.key, disabled=not runnable(plan))


class PlanPickerModal(ModalScreen[PlanView | None]):
    """Choose the plan of a new job (or schedule). Enter picks, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, plans: Sequence[PlanView], title: str = "New job: which plan?") -> None:
        super().__init__()
        self.title_line = title
        """The question above the list."""
        self.plans = [p for p in plans if not p.metadata.get("hidden")]
        """Every visible plan; the ones that cannot run are disabled in the list."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_line, classes="dialog--title")
            options = sorted(self.plans, key=lambda p: (not runnable(p), p.grouping, p.name))
            yield OptionList(*(plan_option(p) for p in options), id="plan-picker")
            if not any(runnable(p) for p in self.plans):
                yield Static("No plan is enabled: enable one in Plans (key 4).", classes="hint")
        yield OtterFooter()

    @on(OptionList.OptionSelected, "#plan-picker")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(next(p for p in self.plans if p.key == event.option.id))

    def action_cancel(self) -> None:
        self.dismiss(None)


def variable_field(name: str, schema: Mapping[str, Any], value: str) -> FormField:
    """A form field for one declared variable: a drop-down for choices and booleans."""
    default = schema.get("default")
    hint = [schema.get("kind", "text"), "required" if schema.get("required") else "optional"]
    if default is not None:  # as the field shows it: a bool default is "false", not "False"
        hint.append(f"default {str(default).lower() if isinstance(default, bool) else default}")
    help_text = f"{', '.join(str(h) for h in hint)}: {schema.get('help', '')}".rstrip(": ")
    choices: tuple[str, ...] = ()
    if schema.get("kind") == "choice":
        choices = tuple(str(o) for o in schema.get("options", ()))
    elif schema.get("kind") == "bool":
        choices = ("true", "false")
    shown = value or ("" if default is None else str(default).lower() if choices else str(default))
    return FormField(
        f"var-{name}",
        name,
        shown,
        choices=choices,
        hint=help_text,
        password=bool(schema.get("sensitive")),
    )


def job_fields(plan: PlanView, prefill: JobPrefill | None = None) -> list[FormField]:
    """Targets, then the plan's variables, then the mode; filled from ``prefill`` (a re-run)."""
    targets = prefill.targets if prefill else TargetSpec()
    simulate = prefill.simulation if prefill else bool(plan.metadata.get("dryrun_default"))
    fields = [
        FormField(
            kind,
            kind.capitalize(),
            " ".join(getattr(targets, kind)),
            "space or comma separated",
            hint=TARGET_HINTS[kind],
        )
        for kind in TARGET_FIELDS
    ]
    given = prefill.variables if prefill else {}
    for name, schema in plan.variables.items():
        value = "" if name not in given else str(given[name])
        fields.append(variable_field(name, schema, value))
    fields.append(FormField("simulate", "Simulate", YES_NO[simulate], choices=YES_NO))
    inactive = YES_NO[targets.include_inactive]
    fields.append(FormField("inactive", "Inactive too", inactive, choices=YES_NO))
    return fields


def job_request(plan: PlanView, values: Mapping[str, str]) -> JobRequest:
    """The request the form describes; a blank variable is left out (its default applies)."""
    spec = TargetSpec(
        servers=tuple(split_names(values["servers"])),
        roles=tuple(split_names(values["roles"])),
        environments=tuple(split_names(values["environments"])),
        include_inactive=values["inactive"] == "yes",
    )
    variables = {
        name: values[f"var-{name}"] for name in plan.variables if values.get(f"var-{name}", "")
    }
    return JobRequest(
        plan=plan.key, targets=spec, variables=variables, simulation=values["simulate"] == "yes"
    )


def example_time(now: datetime) -> str:
    """A time to show as an example: tomorrow at 03:00 from the clock's now (never a fixed date,
    which would one day lie in the past and be refused)."""
    return f"{now.astimezone() + timedelta(days=1):%Y-%m-%d} 03:00"


def when_fields(prefill: JobView | None, now: datetime) -> list[FormField]:
    """The new-job form's queue and start time (a template or schedule has its own)."""
    queue = prefill.queue if prefill else ""
    example = f"now; or {example_time(now)} (local time, or +01:00)"
    return [
        FormField("queue", "Queue", queue, "the plan's default queue"),
        FormField("run_at", "Run at", "", example),
    ]


def run_at(text: str) -> datetime | None:
    """A time typed in the form: without an offset it is this machine's local wall time."""
    moment = parse_time("Run at", text or None)
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.astimezone()


def submit_job(ctx: ConsoleContext, plan: PlanView, values: Mapping[str, str]) -> SubmittedJob:
    """Blocking: create the job through the job service; claim it here if only we can run it."""
    secrets: dict[str, Any] = {}
    request = replace(
        job_request(plan, values),
        queue=values.get("queue") or None,
        run_at=run_at(values.get("run_at", "")),
    )
    view = ctx.runtime.jobs.create(request, secrets_out=secrets)
    claimed = False
    if secrets and view.state == "queued" and ctx.runner is not None:
        claimed = ctx.runner.claim(view.id)
    return SubmittedJob(view, secrets, claimed)


def job_form(
    ctx: ConsoleContext, plan: PlanView, prefill: JobView | None
) -> FormModal[SubmittedJob]:
    title = f"{'Re-run' if prefill else 'New job'}: {plan.name}"
    return FormModal(
        title,
        [*job_fields(plan, prefill), *when_fields(prefill, ctx.runtime.ctx.now())],
        lambda values: submit_job(ctx, plan, values),
        submit_label="Run",
    )

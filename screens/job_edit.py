"""Editing a waiting job (``otter-tui jobs edit``): its targets, variables and start time.

The form is the job form's fields filled from the job, without the mode (a job's simulation flag
is what was approved or queued) and with *Run at*; the job service refuses a job that started and
voids an approval the job had (it waits for a decision again).
"""

from __future__ import annotations

from collections.abc import Mapping

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobView
from otter_tui.services.plans import PlanView
from screens.job_form import job_fields, job_request, run_at
from screens.modals import FormField, FormModal


def edit_fields(plan: PlanView, view: JobView) -> list[FormField]:
    fields = [f for f in job_fields(plan, view) if f.name != "simulate"]
    now = f"{view.run_at.astimezone():%Y-%m-%d %H:%M}"
    hint = f"blank keeps {now}; a time is local unless it has an offset (+01:00)"
    return [*fields, FormField("run_at", "Run at", "", "blank: keep", hint=hint)]


def save_edit(
    runtime: Runtime, plan: PlanView, view: JobView, values: Mapping[str, str]
) -> JobView:
    """Blocking: the job service's edit with what the form holds."""
    request = job_request(plan, {**values, "simulate": "no"})
    return runtime.jobs.edit(
        view.id,
        targets=request.targets,
        variables=request.variables,
        run_at=run_at(values.get("run_at", "")),
    )


def edit_form(runtime: Runtime, plan: PlanView, view: JobView) -> FormModal[JobView]:
    return FormModal(
        f"Edit job {view.id}: {plan.name}",
        edit_fields(plan, view),
        lambda values: save_edit(runtime, plan, view, values),
    )

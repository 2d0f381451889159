"""Adding and editing job templates, and issuing their trigger keys, from the Templates section.

The same service calls as ``otter-tui templates add / edit / key``. The form is the job form's
fields (targets, the plan's variables, mode) with a name, a description and a queue; sensitive
variables are left out (a template never stores them: they are typed when it runs). A new trigger
key is shown once, in a dialog, and only its hash is stored. ``templates.edit`` and ``jobs.run``
are asked before anything opens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from otter_tui.runtime import Runtime
from otter_tui.services.plans import PlanView
from otter_tui.services.templates import TemplateFields, TemplateView
from screens.job_form import job_fields, job_request
from screens.modals import FormField, FormModal


def template_form_fields(plan: PlanView, view: TemplateView | None) -> list[FormField]:
    """Name and description, the job fields without sensitive variables, the queue."""
    hidden = {f"var-{n}" for n, schema in plan.variables.items() if schema.get("sensitive")}
    fields = [f for f in job_fields(plan, view) if f.name not in hidden]
    return [
        FormField("name", "Name", view.name if view else "", read_only=view is not None),
        FormField("description", "Description", view.description if view else ""),
        *fields,
        FormField("queue", "Queue", view.queue if view else "", "the plan's default queue"),
    ]


def template_fields(plan: PlanView, values: Mapping[str, str], *, new: bool) -> TemplateFields:
    request = job_request(plan, {**values, **_blank_sensitive(plan)})
    return TemplateFields(
        plan=plan.key if new else None,
        targets=request.targets,
        variables=request.variables,
        simulation=request.simulation,
        queue=values["queue"] or None,
        description=values["description"],
    )


def _blank_sensitive(plan: PlanView) -> dict[str, str]:
    return {f"var-{n}": "" for n, schema in plan.variables.items() if schema.get("sensitive")}


def template_form(
    runtime: Runtime, plan: PlanView, view: TemplateView | None
) -> FormModal[TemplateView]:
    """The add (``view`` None) or edit form of a template of ``plan``."""
    service = runtime.templates

    def submit(values: Mapping[str, str]) -> TemplateView:
        fields = template_fields(plan, values, new=view is None)
        if view is None:
            return service.add(values["name"], fields)
        return service.edit(view.name, fields)

    title = f"Edit template {view.name}: {plan.name}" if view else f"New template: {plan.name}"
    return FormModal(title, template_form_fields(plan, view), submit)


def allowed(runtime: Runtime) -> Callable[[], list[PlanView]]:
    """Blocking: the plans to pick from, once the permissions are known to be held."""

    def check() -> list[PlanView]:
        runtime.ctx.check("templates.edit")
        runtime.ctx.check("jobs.run")
        return runtime.plans.list()

    return check

"""The schedule form: a plan's job fields plus when and how it fires, with a live preview.

The form gathers text only; :func:`schedule_fields` turns it into the service's
:class:`ScheduleFields` with the CLI's own parsers, and the schedule service checks it exactly as
it checks ``otter-tui schedules add`` (plan enabled, targets known, variables declared, queue
allowed, cron line and zone valid). As the cron line or the zone is typed, the preview under the
fields shows the rule in words and its next 10 firings in the zone and in UTC, days on which the
zone's offset changes marked ``DST``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from otter_tui.errors import OtterError
from otter_tui.scheduling import (
    DEFAULTS_BY_KIND,
    MisfirePolicy,
    OverlapPolicy,
    load_zone,
    parse_time,
)
from otter_tui.services.plans import PlanView
from otter_tui.services.schedule_views import ScheduleView, preview
from otter_tui.services.schedules import ScheduleFields
from screens.job_form import YES_NO, example_time, job_fields, job_request
from screens.modals import FormField, FormModal

PREVIEW_COUNT = 10
"""Firings shown under the cron line."""


def _policies(plan: PlanView, view: ScheduleView | None) -> list[FormField]:
    defaults = DEFAULTS_BY_KIND[plan.kind]
    misfire = view.misfire_policy if view else str(defaults.misfire)
    overlap = view.overlap_policy if view else str(defaults.overlap)
    approval = YES_NO[view.approval_required] if view else "no"
    return [
        FormField("queue", "Queue", view.queue if view else "", "the plan's default queue"),
        FormField("misfire", "Misfire", misfire, choices=tuple(p.value for p in MisfirePolicy)),
        FormField("overlap", "Overlap", overlap, choices=tuple(p.value for p in OverlapPolicy)),
        FormField("approval", "Approval", approval, choices=YES_NO),
    ]


def _wall(moment: datetime | None, view: ScheduleView) -> str:
    if moment is None:
        return ""
    return f"{moment.astimezone(load_zone(view.timezone)):%Y-%m-%d %H:%M}"


def _timing(view: ScheduleView | None, now: datetime) -> list[FormField]:
    cron = view.cron if view else ""
    zone = view.timezone if view else "UTC"
    once = _wall(view.once_at, view) if view else ""
    start = _wall(view.start_at, view) if view else ""
    end = _wall(view.end_at, view) if view else ""
    return [
        FormField("cron", "Cron line", cron, "30 2 * * *  or  @daily", hint="blank: once, at"),
        FormField("timezone", "Time zone", zone, "IANA zone, e.g. Europe/Paris"),
        FormField("at", "Once, at", once, f"{example_time(now)} (in the zone), instead of cron"),
        FormField("start", "Not before", start, "optional, in the zone"),
        FormField("end", "Not after", end, "optional; 'never' removes it"),
    ]


def schedule_form_fields(
    plan: PlanView, view: ScheduleView | None, now: datetime
) -> list[FormField]:
    """Name, timing, the plan's job fields (targets, variables, mode), then the policies.

    A :class:`ScheduleView` has the targets, variables and simulation flag a re-run would have,
    so the job fields fill from it as from a job.
    """
    name = FormField("name", "Name", view.name if view else "", read_only=view is not None)
    return [name, *_timing(view, now), *job_fields(plan, view), *_policies(plan, view)]


def schedule_fields(plan: PlanView, values: Mapping[str, str], *, new: bool) -> ScheduleFields:
    """The service's fields for what the form holds; a blank timing field keeps its value."""
    request = job_request(plan, values)
    end = values["end"]
    return ScheduleFields(
        plan=plan.key if new else None,
        cron=values["cron"] or None,
        at=parse_time("Once, at", values["at"] or None),
        timezone=values["timezone"] or None,
        start=parse_time("Not before", values["start"] or None),
        end=parse_time("Not after", end) if end and end != "never" else None,
        clear_end=end == "never",
        targets=request.targets,
        variables=request.variables,
        simulation=request.simulation,
        queue=values["queue"] or None,
        misfire=values["misfire"],
        overlap=values["overlap"],
        approval_required=values["approval"] == "yes",
    )


def preview_text(values: Mapping[str, str], now: datetime) -> str:
    """The cron line in words and its next firings, or why it is not valid (yet)."""
    if not values.get("cron"):
        return (
            "No cron line: the schedule runs once, at the time given." if values.get("at") else ""
        )
    try:
        shown = preview(values["cron"], values.get("timezone", ""), now, PREVIEW_COUNT)
    except OtterError as error:
        return f"Cron line: {error}"
    lines = [f"Runs {shown.description}. Next {len(shown.firings)}:"]
    for firing in shown.firings:
        mark = "  DST" if firing.dst_day else ""
        lines.append(f"  {firing.local:%a %Y-%m-%d %H:%M %Z}   {firing.utc:%H:%M} UTC{mark}")
    return "\n".join(lines)


def schedule_form(
    plan: PlanView,
    view: ScheduleView | None,
    save: Callable[[ScheduleFields, str], ScheduleView],
    now: Callable[[], datetime],
) -> FormModal[ScheduleView]:
    """The add (``view`` None) or edit form; ``save(fields, name)`` is the service call."""
    title = f"Edit schedule {view.name}: {plan.name}" if view else f"New schedule: {plan.name}"

    def submit(values: Mapping[str, str]) -> ScheduleView:
        return save(schedule_fields(plan, values, new=view is None), values["name"])

    return FormModal(
        title,
        schedule_form_fields(plan, view, now()),
        submit,
        preview=lambda values: preview_text(values, now()),
    )

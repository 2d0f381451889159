"""Schedules: rules that create jobs, recurring (cron line + IANA zone) or one-shot (a time).

A schedule is checked completely when it is saved, with the same checks a job gets when it is
created (plan enabled and installed, targets known, variables declared, queue allowed), so a bad
schedule is refused at the keyboard, not at 03:00. Its next firing is computed on every change
and stored in UTC (``next_due_at``); the scheduler loop reads that column and never recomputes a
cron line per tick. Firings while a schedule is disabled are not owed: enabling it again starts
from the next firing after now.

Jobs of a schedule are requested as the user who last saved it (with that user's permissions
when each firing is dispatched). A plan with sensitive variables cannot be scheduled: their values
are never stored, so a schedule has nothing to run it with.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.plan import sensitive_names
from otter_tui.scheduling import (
    DEFAULTS_BY_KIND,
    MisfirePolicy,
    OverlapPolicy,
    load_zone,
    parse_cron,
    resolve_wall,
)
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.services.grants import grants_of
from otter_tui.services.jobs import JobRequest, JobService
from otter_tui.services.plans import PlanService, get_record
from otter_tui.services.schedule_views import (
    FiringView,
    LastFiring,
    ScheduleView,
    Upcoming,
    schedule_view,
    timing_of,
)
from otter_tui.store.models import Job, PlanRecord, Schedule, ScheduleFiring
from otter_tui.targeting import TargetSpec

MAX_UPCOMING = 1000


@dataclass(frozen=True)
class ScheduleFields:
    """What a person sets on a schedule. On add, None takes the default; on edit, None keeps."""

    plan: str | None = None
    cron: str | None = None
    """Five fields or an alias (``@daily``); exclusive with ``at``."""
    at: datetime | None = None
    """A one-shot: naive means a wall time in ``timezone``; aware is taken as the instant."""
    timezone: str | None = None
    """IANA zone; the default on add is UTC. Also the zone of naive ``at``/``start``/``end``."""
    start: datetime | None = None
    end: datetime | None = None
    clear_end: bool = False
    """On edit: the schedule no longer ends."""
    targets: TargetSpec | None = None
    variables: Mapping[str, str] | None = None
    simulation: bool | None = None
    queue: str | None = None
    enabled: bool | None = None
    misfire: str | None = None
    overlap: str | None = None
    grace_seconds: int | None = None
    misfire_cap: int | None = None
    approval_required: bool | None = None

    @property
    def changes_timing(self) -> bool:
        timing = (self.cron, self.at, self.timezone, self.start, self.end)
        return self.clear_end or any(value is not None for value in timing)


def get_schedule(s: Session, name: str) -> Schedule:
    row = s.scalar(select(Schedule).where(Schedule.name == name))
    if row is None:
        raise NotFoundError(f"unknown schedule '{name}'")
    return row


class ScheduleService:
    """Add, edit, enable, disable, remove and read schedules; the same checks for every door."""

    def __init__(self, ctx: ServiceContext, plans: PlanService | None = None) -> None:
        self.ctx = ctx
        self.plans = plans or PlanService(ctx)

    # reading ---------------------------------------------------------------------------------

    def list_schedules(self, limit: int | None = None) -> list[ScheduleView]:
        """By name; the first ``limit`` only when given (a screen shows a page at a time)."""
        query = select(Schedule).order_by(Schedule.name).limit(limit)
        with self.ctx.db.session() as s:
            return [schedule_view(r) for r in s.scalars(query)]

    def count(self) -> tuple[int, int]:
        """How many schedules there are, and how many of them are disabled."""
        disabled = func.count(Schedule.id).filter(Schedule.enabled.is_(False))
        with self.ctx.db.session() as s:
            total, off = s.execute(select(func.count(Schedule.id), disabled)).one()
            return int(total), int(off)

    def show(self, name: str) -> ScheduleView:
        with self.ctx.db.session() as s:
            return schedule_view(get_schedule(s, name))

    def firings(self, name: str, limit: int = 20) -> list[FiringView]:
        """The newest recorded firings first."""
        with self.ctx.db.session() as s:
            row = get_schedule(s, name)
            query = (
                select(ScheduleFiring)
                .where(ScheduleFiring.schedule_id == row.id)
                .order_by(ScheduleFiring.due_at.desc())
                .limit(limit)
            )
            return [FiringView(f.due_at, f.state.value, f.job_id, f.note) for f in s.scalars(query)]

    def last_firings(self, ids: Collection[int] | None = None) -> dict[int, LastFiring]:
        """Each schedule's newest recorded firing, by schedule id, in one query (for a list).

        ``ids`` limits it to those schedules: a screen showing a page of 100 of 10,000 schedules
        should not group every firing ever recorded.
        """
        newest_query = select(
            ScheduleFiring.schedule_id, func.max(ScheduleFiring.due_at).label("due")
        ).group_by(ScheduleFiring.schedule_id)
        if ids is not None:
            newest_query = newest_query.where(ScheduleFiring.schedule_id.in_(list(ids)))
        newest = newest_query.subquery()
        query = (
            select(ScheduleFiring, Job.state)
            .join(newest, (ScheduleFiring.schedule_id == newest.c.schedule_id))
            .where(ScheduleFiring.due_at == newest.c.due)
            .outerjoin(Job, Job.id == ScheduleFiring.job_id)
        )
        with self.ctx.db.session() as s:
            return {
                f.schedule_id: LastFiring(
                    f.due_at, f.state.value, f.job_id, state.value if state else None, f.note
                )
                for f, state in s.execute(query)
            }

    def check_can_edit(self) -> None:
        """Raise PermissionDenied now when the actor may not save schedules (a form fails fast)."""
        with self.ctx.db.session() as s:
            self._require(s)

    def upcoming(self, name: str, count: int) -> Upcoming:
        """The next ``count`` firings after now, as (wall time in the zone, UTC) pairs."""
        if not 1 <= count <= MAX_UPCOMING:
            raise UsageError(f"count must be 1-{MAX_UPCOMING}, got {count}")
        with self.ctx.db.session() as s:
            row = get_schedule(s, name)
            view, timing, zone = schedule_view(row), timing_of(row), load_zone(row.timezone)
        found: list[tuple[datetime, datetime]] = []
        moment: datetime | None = self.ctx.now()
        while len(found) < count and moment is not None:
            moment = timing.next_after(moment)
            if moment is not None:
                found.append((moment.astimezone(zone), moment))
        return Upcoming(view, view.description, tuple(found))

    # changing --------------------------------------------------------------------------------

    def add(self, name: str, fields: ScheduleFields) -> ScheduleView:
        check_name("schedule", name)
        now = self.ctx.now()
        with self.ctx.db.transaction() as s:
            self._require(s)
            if s.scalar(select(Schedule.id).where(Schedule.name == name)) is not None:
                raise ConflictError(f"schedule '{name}' already exists")
            row = Schedule(name=name, created_by=self.ctx.actor, created_at=now, timezone="UTC")
            self._apply(s, row, fields, new=True)
            s.add(row)
            s.flush()
            self.ctx.audit(s, "schedule.add", "schedule", name, **_audit_detail(row))
            return schedule_view(row)

    def edit(self, name: str, fields: ScheduleFields) -> ScheduleView:
        with self.ctx.db.transaction() as s:
            self._require(s)
            row = get_schedule(s, name)
            self._apply(s, row, fields, new=False)
            self.ctx.audit(s, "schedule.edit", "schedule", name, **_audit_detail(row))
            return schedule_view(row)

    def set_enabled(self, name: str, enabled: bool) -> ScheduleView:
        """Disable: no firing runs any more. Enable: from the next firing after now."""
        with self.ctx.db.transaction() as s:
            self._require(s)
            row = get_schedule(s, name)
            if enabled and not row.enabled:
                self._check_job_fields(s, row, self._record_of(s, row))
            row.enabled = enabled
            self._touch(row)
            self._reschedule(row)
            action = "schedule.enable" if enabled else "schedule.disable"
            self.ctx.audit(s, action, "schedule", name)
            return schedule_view(row)

    def remove(self, name: str) -> None:
        """Delete it with its firing records; its jobs stay (their schedule link is cleared)."""
        with self.ctx.db.transaction() as s:
            self._require(s)
            row = get_schedule(s, name)
            s.delete(row)
            self.ctx.audit(s, "schedule.remove", "schedule", name)

    # checks ----------------------------------------------------------------------------------

    def _require(self, s: Session) -> None:
        """Saving a schedule means asking for jobs later: it takes both permissions."""
        self.ctx.require(s, "schedules.edit")
        self.ctx.require(s, "jobs.run")

    def _apply(self, s: Session, row: Schedule, fields: ScheduleFields, *, new: bool) -> None:
        self._apply_timing(row, fields, new=new)
        record = get_record(s, fields.plan) if fields.plan else self._record_of(s, row)
        if fields.plan or new:
            row.plan_id, row.plan_key, row.plan_name = record.id, record.key, record.name
            row.kind = record.kind
        self._apply_job_fields(row, fields, record, new=new)
        self._apply_policies(row, fields, record, new=new)
        if fields.enabled is not None or new:
            row.enabled = True if fields.enabled is None else fields.enabled
        self._check_job_fields(s, row, record)
        self._touch(row)
        if new or fields.changes_timing or fields.enabled is not None:
            self._reschedule(row)
            if new and row.once_at is not None and row.next_due_at is None:
                raise UsageError(f"--at {_shown(row.once_at, row.timezone)} is not in the future")

    def _apply_timing(self, row: Schedule, fields: ScheduleFields, *, new: bool) -> None:
        if fields.cron is not None and fields.at is not None:
            raise UsageError("give either a cron line or --at, not both")
        if new and fields.cron is None and fields.at is None:
            raise UsageError("a schedule needs a cron line (--cron) or a single time (--at)")
        if fields.timezone is not None and not fields.timezone.strip():
            raise UsageError("--tz needs an IANA time zone name (e.g. Europe/Paris), got ''")
        zone_name = (fields.timezone or row.timezone or "UTC").strip()
        zone = load_zone(zone_name)
        row.timezone = zone_name
        if fields.cron is not None:
            row.cron, row.once_at = parse_cron(fields.cron, zone_name).expression, None
        elif fields.at is not None:
            row.cron, row.once_at = "", _instant(fields.at, zone_name)
        elif row.cron:
            parse_cron(row.cron, zone_name)
        if fields.start is not None:
            row.start_at = _instant(fields.start, zone_name)
        if fields.end is not None or fields.clear_end:
            row.end_at = None if fields.clear_end else _instant(fields.end, zone_name)
        if row.start_at and row.end_at and row.end_at <= row.start_at:
            raise UsageError(f"--end {_shown(row.end_at, zone.key)} is not after --start")

    def _apply_job_fields(
        self, row: Schedule, fields: ScheduleFields, record: PlanRecord, *, new: bool
    ) -> None:
        if fields.targets is not None:
            row.targets = fields.targets.as_dict()
        elif new:
            row.targets = TargetSpec().as_dict()
        if fields.variables is not None:
            row.variables = dict(fields.variables)
        elif new:
            row.variables = {}
        if fields.simulation is not None or new:
            sim = fields.simulation
            row.simulation = record.dryrun_default if sim is None else sim
        if fields.queue is not None or new:
            row.queue_name = fields.queue or record.default_queue or "default"
        if fields.approval_required is not None or new:
            row.approval_required = bool(fields.approval_required)

    def _apply_policies(
        self, row: Schedule, fields: ScheduleFields, record: PlanRecord, *, new: bool
    ) -> None:
        defaults = DEFAULTS_BY_KIND[record.kind.value]
        settings = self.ctx.settings.scheduler
        if fields.misfire is not None or new:
            row.misfire_policy = _choice(MisfirePolicy, "misfire", fields.misfire, defaults.misfire)
        if fields.overlap is not None or new:
            row.overlap_policy = _choice(OverlapPolicy, "overlap", fields.overlap, defaults.overlap)
        if fields.grace_seconds is not None or new:
            grace = fields.grace_seconds
            row.grace_seconds = settings.misfire_grace_seconds if grace is None else grace
        if fields.misfire_cap is not None or new:
            cap = fields.misfire_cap
            row.misfire_cap = settings.run_all_cap if cap is None else cap
        if row.grace_seconds < 0:
            raise UsageError(f"grace must be 0 seconds or more, got {row.grace_seconds}")
        if row.misfire_cap < 1:
            raise UsageError(f"the run_all cap must be at least 1, got {row.misfire_cap}")

    def _record_of(self, s: Session, row: Schedule) -> PlanRecord:
        record = s.get(PlanRecord, row.plan_id) if row.plan_id is not None else None
        if record is None:
            raise ConflictError(
                f"the plan of schedule '{row.name}' ({row.plan_name}) was deleted: "
                "set another plan with --plan"
            )
        return record

    def _check_job_fields(self, s: Session, row: Schedule, record: PlanRecord) -> None:
        """The checks job creation makes, now, so a firing does not fail on them later."""
        if record.has_sensitive_variables:
            raise UsageError(_sensitive_message(self.plans, record))
        request = JobRequest(
            plan=record.key,
            targets=TargetSpec.from_dict(row.targets),
            variables={k: str(v) for k, v in row.variables.items()},
            simulation=row.simulation,
            queue=row.queue_name,
        )
        known = grants_of(s, self.ctx.actor)
        prepared = JobService(self.ctx, self.plans)._prepare(s, record, request, known)
        if prepared.secrets:
            raise UsageError(_sensitive_message(self.plans, record))

    def _touch(self, row: Schedule) -> None:
        row.updated_by, row.updated_at = self.ctx.actor, self.ctx.now()

    def _reschedule(self, row: Schedule) -> None:
        """The next firing from now; firings while disabled or before the change are not owed."""
        row.error = ""
        row.next_due_at = timing_of(row).next_after(self.ctx.now()) if row.enabled else None


def _instant(value: datetime | None, zone_name: str) -> datetime:
    """An aware time as is; a naive one as a wall time in the zone (DST rules as for cron)."""
    assert value is not None
    if value.tzinfo is not None and value.utcoffset() is not None:
        return value.astimezone(UTC)
    return resolve_wall(value, load_zone(zone_name))


def _shown(moment: datetime, zone_name: str) -> str:
    return f"{moment.astimezone(load_zone(zone_name)):%Y-%m-%d %H:%M %Z}"


def _choice(
    enum: type[MisfirePolicy] | type[OverlapPolicy], kind: str, value: str | None, default: str
) -> str:
    if value is None:
        return str(default)
    try:
        return str(enum(value.strip().lower()))
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise UsageError(f"unknown {kind} policy {value!r}; use one of {choices}") from None


def _sensitive_message(plans: PlanService, record: PlanRecord) -> str:
    try:
        names = ", ".join(sensitive_names(plans.plan_class(record.key).cls))
    except NotFoundError:
        names = ""
    listed = f" ({names})" if names else ""
    return (
        f"plan '{record.name}' has sensitive variables{listed}: it cannot be scheduled, because "
        "their values are never stored; run it now with 'otter-tui run'"
    )


def _audit_detail(row: Schedule) -> dict[str, Any]:
    return {
        "plan": row.plan_key,
        "rule": row.cron or (row.once_at.isoformat() if row.once_at else ""),
        "timezone": row.timezone,
        "enabled": row.enabled,
        "misfire": row.misfire_policy,
        "overlap": row.overlap_policy,
    }


__all__ = [
    "FiringView",
    "LastFiring",
    "ScheduleFields",
    "ScheduleService",
    "ScheduleView",
    "Upcoming",
    "timing_of",
]

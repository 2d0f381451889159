"""What a schedule looks like from outside: read-only views, its next firings, its rule in words.

Kept apart from the service so the scheduler loop and the CLI can read schedules without the
service's validation machinery.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from otter_tui.errors import UsageError
from otter_tui.scheduling import (
    Timing,
    describe,
    load_zone,
    next_n,
    offset_changes_on,
    parse_cron,
)
from otter_tui.store.models import Schedule
from otter_tui.targeting import TargetSpec


@dataclass(frozen=True)
class ScheduleView:
    id: int
    name: str
    plan_key: str
    plan_name: str
    kind: str
    cron: str
    once_at: datetime | None
    timezone: str
    description: str
    start_at: datetime | None
    end_at: datetime | None
    targets: TargetSpec
    variables: dict[str, Any]
    simulation: bool
    queue: str
    enabled: bool
    misfire_policy: str
    overlap_policy: str
    grace_seconds: int
    misfire_cap: int
    approval_required: bool
    next_due_at: datetime | None
    last_due_at: datetime | None
    error: str
    created_by: str
    updated_by: str
    created_at: datetime
    updated_at: datetime

    @property
    def rule(self) -> str:
        """The cron line, or ``once at ...`` for a one-shot (for tables)."""
        if self.cron or self.once_at is None:
            return self.cron
        return f"once {self.once_at.astimezone(load_zone(self.timezone)):%Y-%m-%d %H:%M %Z}"

    def as_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["targets"] = self.targets.as_dict()
        return out


@dataclass(frozen=True)
class FiringView:
    """One recorded firing: dispatched (with its job), queued, skipped, missed or failed."""

    due_at: datetime
    state: str
    job_id: int | None
    note: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Upcoming:
    """The next firings of a schedule: each in its zone and in UTC, with the rule in words."""

    schedule: ScheduleView
    description: str
    firings: tuple[tuple[datetime, datetime], ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule.name,
            "timezone": self.schedule.timezone,
            "description": self.description,
            "firings": [{"local": local, "utc": moment} for local, moment in self.firings],
        }


@dataclass(frozen=True)
class LastFiring:
    """A schedule's newest recorded firing, with the state of the job it created (if any)."""

    due_at: datetime
    state: str
    job_id: int | None
    job_state: str | None
    note: str

    @property
    def result(self) -> str:
        """In words, for a table: ``job 42 succeeded``, ``skipped: overlap``, ``missed``."""
        if self.job_id is not None:
            return f"job {self.job_id} {self.job_state or 'removed'}"
        return f"{self.state}: {self.note}" if self.note else self.state


@dataclass(frozen=True)
class PreviewFiring:
    """One upcoming firing of a cron line being typed."""

    local: datetime
    """Wall time in the schedule's zone."""
    utc: datetime
    dst_day: bool
    """The zone's UTC offset changes on this local day: the DST rules apply (docs/scheduling.md)."""


@dataclass(frozen=True)
class Preview:
    """A cron line in words and its next firings after a moment, before it is saved."""

    description: str
    firings: tuple[PreviewFiring, ...]


def preview(cron: str, timezone: str, after: datetime, count: int = 10) -> Preview:
    """What ``cron`` in ``timezone`` would do; raises the parser's UsageError when it is bad."""
    spec = parse_cron(cron, timezone.strip() or "UTC")
    firings = tuple(
        PreviewFiring(local, moment, offset_changes_on(spec.zone, local.date()))
        for local, moment in next_n(spec, after, count)
    )
    return Preview(describe(spec), firings)


def timing_of(row: Schedule) -> Timing:
    """A stored schedule's firing rule; raises a UsageError if its zone or line went bad."""
    if row.once_at is not None:
        return Timing(None, row.once_at, row.start_at, row.end_at)
    return Timing(parse_cron(row.cron, row.timezone), None, row.start_at, row.end_at)


def describe_row(row: Schedule) -> str:
    if row.once_at is not None:
        local = row.once_at.astimezone(load_zone(row.timezone))
        return f"once, at {local:%Y-%m-%d %H:%M %Z}"
    return _describe_line(row.cron, row.timezone)


@lru_cache(maxsize=1024)
def _describe_line(cron: str, timezone: str) -> str:
    """Cached: a list of thousands of schedules holds few distinct lines."""
    try:
        return describe(parse_cron(cron, timezone))
    except UsageError as exc:
        return f"invalid: {exc}"


def schedule_view(row: Schedule) -> ScheduleView:
    return ScheduleView(
        id=row.id,
        name=row.name,
        plan_key=row.plan_key,
        plan_name=row.plan_name,
        kind=row.kind.value,
        cron=row.cron,
        once_at=row.once_at,
        timezone=row.timezone,
        description=describe_row(row),
        start_at=row.start_at,
        end_at=row.end_at,
        targets=TargetSpec.from_dict(row.targets),
        variables=dict(row.variables),
        simulation=row.simulation,
        queue=row.queue_name,
        enabled=row.enabled,
        misfire_policy=row.misfire_policy,
        overlap_policy=row.overlap_policy,
        grace_seconds=row.grace_seconds,
        misfire_cap=row.misfire_cap,
        approval_required=row.approval_required,
        next_due_at=row.next_due_at,
        last_due_at=row.last_due_at,
        error=row.error,
        created_by=row.created_by,
        updated_by=row.updated_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )

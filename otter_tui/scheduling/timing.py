"""When one schedule fires: a cron line in a zone or a single instant, between a start and an end.

This is what the schedule service and the scheduler loop share. ``first_due`` answers "when is
the next firing from now" (on add, edit and enable); ``due_plan`` answers "the scheduler woke at
``now`` and the stored next firing is due: what runs, what is recorded missed and why, and when is
the next one". The store keeps the answer (``next_due_at``), so croniter runs only on change and
on firing, never per tick.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from otter_tui.scheduling.cron import CronSpec, next_fire
from otter_tui.scheduling.policies import ON_TIME, MisfirePlan, MisfirePolicy, plan_misfires
from otter_tui.scheduling.zones import as_utc

_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class Misfire:
    """One due firing that is recorded, not run, and why (shown in ``schedules show``)."""

    due_at: datetime
    reason: str


@dataclass(frozen=True)
class DuePlan:
    """What to do with the firings due in ``(previous firing, now]``."""

    run: tuple[datetime, ...]
    """Due instants to start jobs for, oldest first (UTC); each still goes through overlap."""
    missed: tuple[Misfire, ...]
    """Due instants recorded as missed, oldest first (at most MISSED_RECORD_LIMIT)."""
    unlisted: bool
    """More firings were missed than ``missed`` lists (a long outage): log a summary."""
    capped: bool
    """``run_all`` found more catch-up runs than its cap; the rest are in ``missed``."""
    newest_due: datetime | None
    """The newest due instant: the schedule's new ``last_due_at``."""
    next_due: datetime | None
    """The next firing after ``now``; None when the schedule has no more (end, one-shot)."""


@dataclass(frozen=True)
class Timing:
    """A schedule's firing rule: exactly one of ``spec`` (recurring) and ``once_at`` (one-shot)."""

    spec: CronSpec | None
    once_at: datetime | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if (self.spec is None) == (self.once_at is None):
            raise ValueError("a timing has either a cron spec or a single instant")

    def next_after(self, moment: datetime) -> datetime | None:
        """The first firing strictly after ``moment`` and not before ``start``, within ``end``."""
        moment = as_utc(moment, "moment")
        if self.start is not None:
            moment = max(moment, as_utc(self.start, "start") - _TICK)
        if self.spec is None:
            assert self.once_at is not None
            found: datetime | None = self.once_at if self.once_at > moment else None
        else:
            found = next_fire(self.spec, moment)
        return found if found is not None and self._within_end(found) else None

    def due_plan(
        self, due: datetime, now: datetime, policy: MisfirePolicy, grace: timedelta, cap: int
    ) -> DuePlan:
        """Apply the misfire policy to the firings from the stored ``due`` up to ``now``."""
        if self.spec is None:
            return self._one_shot_plan(due, now, policy, grace)
        plan = plan_misfires(
            self.spec, due - _TICK, now, policy, grace, cap, end=self.end, on_time=ON_TIME
        )
        return DuePlan(
            plan.run,
            tuple(Misfire(at, _reason(plan, at, now, policy, grace, cap)) for at in plan.missed),
            plan.missed_unlisted,
            plan.capped,
            plan.newest_due,
            plan.next_due if self._within_end(plan.next_due) else None,
        )

    def _one_shot_plan(
        self, due: datetime, now: datetime, policy: MisfirePolicy, grace: timedelta
    ) -> DuePlan:
        late = now - due
        runs = late <= ON_TIME or (policy is not MisfirePolicy.SKIP and late <= grace)
        if runs:
            return DuePlan((due,), (), False, False, due, None)
        reason = _skip_reason() if policy is MisfirePolicy.SKIP else _grace_reason(grace)
        return DuePlan((), (Misfire(due, reason),), False, False, due, None)

    def _within_end(self, moment: datetime) -> bool:
        return self.end is None or moment <= self.end


def _reason(
    plan: MisfirePlan,
    at: datetime,
    now: datetime,
    policy: MisfirePolicy,
    grace: timedelta,
    cap: int,
) -> str:
    """Why a due firing was not run, in words an operator reads in ``schedules show``."""
    if policy is MisfirePolicy.SKIP:
        return _skip_reason()
    if policy is MisfirePolicy.RUN_ONCE and plan.run:
        return f"coalesced into the run due at {plan.run[-1]:%Y-%m-%d %H:%M:%S} UTC"
    if now - at > grace:
        return _grace_reason(grace)
    return f"over the run_all cap of {cap} catch-up runs"


def _skip_reason() -> str:
    return "missed while the scheduler was not running (misfire policy skip)"


def _grace_reason(grace: timedelta) -> str:
    return f"missed by more than the grace window of {int(grace.total_seconds())} s"

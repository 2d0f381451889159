"""Misfire and overlap policies as pure functions: what to run, what to record, what to skip.

The scheduler loop (scheduler.py) owns the database and the clock; it asks these functions what to
do and then writes one firing row per answer. Keeping the decisions pure lets the tests walk
through outages and long-running jobs without a database or an event loop.

Misfire: the scheduler was not running (or was late) when firings fell due. Every firing in
``(last_due, now]`` is *due*. The newest due firing is *on time* when it is at most ``on_time``
late (default 60 s, like Quartz and Rundeck): it runs under every policy, because that is the
normal tick. Every other due firing is a *misfire*, handled by the schedule's policy:

- ``run_once``: one run stands for all of them, the newest, if it is within ``grace``; all others
  are recorded missed (coalesced). When an on-time firing runs, it is that one run.
- ``skip``: each misfire is recorded missed.
- ``run_all``: each misfire within ``grace`` runs, oldest first, at most ``cap`` of them; older ones
  and those past the cap are recorded missed, and ``capped`` says the cap cut the catch-up short.

"Within grace" means at most ``grace`` late: a firing exactly ``grace`` old still runs.
The work is bounded whatever the outage: at most ``cap`` runs and ``record_limit`` missed instants
are listed (``missed_unlisted`` says when more were missed), and finding the newest firing costs
O(log outage) (cron.last_fire), so a 30-day outage of an every-minute schedule stays cheap.

Overlap: a schedule fires while its previous job is still running (or waiting).
``skip`` records the new firing as skipped; ``queue`` keeps at most one waiting job and skips the
rest; ``parallel`` runs it anyway.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from otter_tui.scheduling.cron import CronSpec, iter_fires, last_fire, next_fire
from otter_tui.scheduling.zones import as_utc

ON_TIME = timedelta(seconds=60)
"""How late the newest due firing may be and still count as the normal tick, not a misfire."""
MISSED_RECORD_LIMIT = 100
"""At most this many missed instants are listed in one plan; the caller summarises the rest."""
_TICK = timedelta(microseconds=1)


class MisfirePolicy(enum.StrEnum):
    """What to do with firings that fell due while the scheduler was down."""

    RUN_ONCE = "run_once"
    SKIP = "skip"
    RUN_ALL = "run_all"


class OverlapPolicy(enum.StrEnum):
    """What to do when a schedule fires while its previous job is still running."""

    SKIP = "skip"
    QUEUE = "queue"
    PARALLEL = "parallel"


class Decision(enum.StrEnum):
    """The overlap verdict for one firing."""

    RUN = "run"
    QUEUE = "queue"
    SKIP = "skip"


@dataclass(frozen=True)
class PolicyDefaults:
    """The policies a new schedule gets for its plan kind."""

    misfire: MisfirePolicy
    overlap: OverlapPolicy
    grace: timedelta
    cap: int


CONFIGURATION_DEFAULTS = PolicyDefaults(
    MisfirePolicy.RUN_ONCE, OverlapPolicy.SKIP, timedelta(hours=1), 10
)
"""Configuration plans converge to a desired state and are idempotent: one late run repairs
whatever the missed ones would have, more would only repeat it, and two at once would fight."""
ORCHESTRATION_DEFAULTS = PolicyDefaults(
    MisfirePolicy.SKIP, OverlapPolicy.SKIP, timedelta(hours=1), 10
)
"""Orchestration plans do things at a chosen moment (restart, deploy, failover): running one hours
late, or twice at once, can hurt, so misfires are recorded for a person to decide."""
DEFAULTS_BY_KIND = {
    "configuration": CONFIGURATION_DEFAULTS,
    "orchestration": ORCHESTRATION_DEFAULTS,
}
"""Keyed by the plan kind's value (store.models.PlanKind)."""


@dataclass(frozen=True)
class MisfirePlan:
    """What the scheduler should do with the firings due in ``(last_due, now]``."""

    run: tuple[datetime, ...]
    """Due instants to start jobs for, oldest first (UTC)."""
    missed: tuple[datetime, ...]
    """Due instants to record as missed, oldest first, at most MISSED_RECORD_LIMIT."""
    missed_unlisted: bool
    """More instants were missed than ``missed`` lists; log a summary for them."""
    capped: bool
    """``run_all`` had more catch-up runs within grace than ``cap``; the rest are missed."""
    newest_due: datetime | None
    """The newest due instant, None if nothing was due: the caller's new ``last_due``."""
    next_due: datetime
    """The first firing after ``now``."""


def plan_misfires(
    spec: CronSpec,
    last_due: datetime | None,
    now: datetime,
    policy: MisfirePolicy,
    grace: timedelta,
    cap: int,
    *,
    on_time: timedelta = ON_TIME,
    record_limit: int = MISSED_RECORD_LIMIT,
    end: datetime | None = None,
) -> MisfirePlan:
    """Decide runs and missed records for the firings due since ``last_due``.

    ``last_due`` is the newest firing already handled; None means the schedule was never
    evaluated, so nothing before ``now`` is owed (pass the creation time to catch up from it).
    Firings after ``end`` (a schedule's end time) are never due; ``next_due`` may lie past it.
    """
    _check_limits(grace, cap, on_time, record_limit)
    now = as_utc(now, "now")
    next_due = next_fire(spec, now)
    until = now if end is None else min(now, as_utc(end, "end"))
    newest = None if last_due is None else last_fire(spec, last_due, until)
    if last_due is None or newest is None:
        return MisfirePlan((), (), False, False, newest, next_due)
    window = _Window(spec, as_utc(last_due, "last_due"), now, newest, record_limit)
    if policy is MisfirePolicy.RUN_ALL:
        return window.run_all(grace, cap, on_time, next_due)
    runs_newest = now - newest <= on_time or (
        policy is MisfirePolicy.RUN_ONCE and now - newest <= grace
    )
    return window.newest_only(runs_newest, next_due)


def decide_overlap(policy: OverlapPolicy, running: int, waiting: int) -> Decision:
    """Whether a firing runs now, waits behind the running job, or is skipped.

    ``running`` and ``waiting`` count this schedule's jobs. A waiting job counts as busy even
    when nothing runs yet: it is about to start, and the new firing must not race it.
    """
    if running < 0 or waiting < 0:
        raise ValueError(f"job counts cannot be negative: running={running}, waiting={waiting}")
    if policy is OverlapPolicy.PARALLEL or running + waiting == 0:
        return Decision.RUN
    if policy is OverlapPolicy.QUEUE and waiting == 0:
        return Decision.QUEUE
    return Decision.SKIP


@dataclass(frozen=True)
class _Window:
    """The due firings in ``(last_due, now]``, listed lazily and never more than needed."""

    spec: CronSpec
    last_due: datetime
    now: datetime
    newest: datetime
    record_limit: int

    def newest_only(self, runs_newest: bool, next_due: datetime) -> MisfirePlan:
        """run_once / skip: at most the newest runs; every older firing is missed."""
        end = self.newest - _TICK if runs_newest else self.newest
        missed, more = self._take(self.last_due, end, self.record_limit)
        run = (self.newest,) if runs_newest else ()
        return MisfirePlan(run, missed, more, False, self.newest, next_due)

    def run_all(
        self, grace: timedelta, cap: int, on_time: timedelta, next_due: datetime
    ) -> MisfirePlan:
        """Run misfires within grace up to ``cap``, oldest first, plus an on-time newest."""
        on_time_newest = self.now - self.newest <= on_time
        last_misfire = self.newest - _TICK if on_time_newest else self.newest
        grace_start = max(self.last_due, self.now - grace - _TICK)
        too_old, more_old = self._take(
            self.last_due, min(grace_start, last_misfire), self.record_limit
        )
        in_grace, more_in_grace = self._take(grace_start, last_misfire, cap + self.record_limit)
        run, beyond_cap = in_grace[:cap], in_grace[cap:]
        missed = (too_old + beyond_cap)[: self.record_limit]
        unlisted = more_old or more_in_grace or len(too_old) + len(beyond_cap) > len(missed)
        run += (self.newest,) if on_time_newest else ()
        capped = bool(beyond_cap) or more_in_grace
        return MisfirePlan(run, missed, unlisted, capped, self.newest, next_due)

    def _take(
        self, after: datetime, until: datetime, limit: int
    ) -> tuple[tuple[datetime, ...], bool]:
        """Up to ``limit`` firings in ``(after, until]`` and whether there are more."""
        found: list[datetime] = []
        for moment in islice(iter_fires(self.spec, after), limit + 1):
            if moment > until:
                break
            found.append(moment)
        return tuple(found[:limit]), len(found) > limit


def _check_limits(grace: timedelta, cap: int, on_time: timedelta, record_limit: int) -> None:
    """Negative windows or limits are programming errors, not user input."""
    if grace < timedelta(0) or on_time < timedelta(0):
        raise ValueError(f"grace and on_time cannot be negative: {grace}, {on_time}")
    if cap < 1 or record_limit < 0:
        raise ValueError(
            f"cap must be at least 1 and record_limit at least 0: {cap}, {record_limit}"
        )

"""Turning due firings into jobs, exactly once: the scheduler's database work.

Each due schedule is handled in ONE write transaction that

1. checks that this scheduler still holds the leader lease (a fence, not just a flag);
2. re-reads the schedule: disabled, deleted, or already advanced by someone else -> nothing runs;
3. applies the misfire policy to everything due since the stored ``next_due_at``;
4. for each firing writes its ``schedule_firings`` row and flushes it *before* anything else: the
   unique (schedule, due time) key makes a second scheduler fail right there;
5. applies the overlap policy and creates the job through :class:`JobService` (validation, plan
   queues, approvals, singleton: all as for a person), linking it to the firing row;
6. stores the next due time.

Because steps 4 and 5 commit together, a crash anywhere in between leaves nothing behind: after a
restart the firing is still due and is dispatched once. Never a job without its firing row, never
a firing row claiming a job that does not exist. A firing row left ``pending`` by anything else
is marked ``failed`` at the next start (:meth:`Dispatcher.recover_pending`), never run.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from otter_tui.errors import OtterError, UsageError
from otter_tui.scheduler import lease
from otter_tui.scheduler.firings import (
    ACTIVE,
    Batch,
    LeaseLost,
    Outcome,
    SessionDatabase,
    active_job,
    held_back,
    locked,
    queued_count,
    read_batch,
    recorded_row,
)
from otter_tui.scheduler.rounds import Round
from otter_tui.scheduling import Decision, MisfirePolicy, OverlapPolicy, decide_overlap
from otter_tui.scheduling.timing import DuePlan
from otter_tui.services.context import Clock, ServiceContext
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.jobs import JobRequest, JobService
from otter_tui.services.plans import PlanService
from otter_tui.services.schedule_views import timing_of
from otter_tui.store.models import FiringState, PlanRecord, Schedule, ScheduleFiring
from otter_tui.targeting import TargetSpec

log = logging.getLogger(__name__)

__all__ = ["Dispatcher", "LeaseLost", "Outcome"]


class Dispatcher:
    """One scheduler's database work; every public method is short write transactions."""

    def __init__(self, ctx: ServiceContext, plans: PlanService, holder: str) -> None:
        self.ctx = ctx
        self.plans = plans
        self.holder = holder
        self._batch: Batch | None = None
        """What the batch in progress (:meth:`fire_schedules`) read once for all its firings."""

    # reading ---------------------------------------------------------------------------------

    def due_schedule_ids(self, now: datetime, limit: int) -> list[int]:
        query = (
            select(Schedule.id)
            .where(Schedule.enabled, Schedule.next_due_at <= now)
            .order_by(Schedule.next_due_at, Schedule.id)
            .limit(limit)
        )
        with self.ctx.db.session() as s:
            return list(s.scalars(query))

    def earliest_due(self) -> datetime | None:
        """The soonest stored firing of any enabled schedule (an indexed MIN)."""
        with self.ctx.db.session() as s:
            return s.scalar(select(func.min(Schedule.next_due_at)).where(Schedule.enabled))

    # dispatching -----------------------------------------------------------------------------

    def fire_schedule(self, schedule_id: int, now: datetime) -> list[Outcome]:
        """Handle everything due for one schedule, in one transaction."""
        try:
            with self._fenced(now) as s:
                return self._fire_locked(s, schedule_id, now)
        except IntegrityError:
            log.warning(
                "schedule_id=%s firing=duplicate: another scheduler recorded it", schedule_id
            )
            return []

    def fire_schedules(self, schedule_ids: list[int], now: datetime) -> list[Outcome]:
        """Handle everything due for several schedules, in one transaction (in the given order).

        Many schedules falling due together is the common burst (every ``0 * * * *``): one
        transaction, one lease check and one inventory read for the batch instead of one per
        schedule is what keeps the last firing close to its due time; so is reading once, for
        the whole batch, the schedules, their firing rows, active jobs and queued firings, and
        (in :class:`JobBatch`) the permission check, plan records and queues. Each schedule
        runs in a SAVEPOINT, so a duplicate firing (another scheduler recorded it) or an
        unexpected error rolls back that schedule alone; the others commit. An unexpected error
        is raised after the commit, so the loop retries later as it did for a single schedule.
        A job the job service refuses needs no SAVEPOINT of its own here: it refuses before it
        writes anything (but the ``default`` queue it makes on first use).
        """
        outcomes: list[Outcome] = []
        failure: Exception | None = None
        with self._fenced(now) as s:
            self._batch = read_batch(s, schedule_ids, load_inventory(s))
            try:
                outcomes, slow = self._fire_bulk(s, self._batch, schedule_ids, now)
                for schedule_id in slow:
                    try:
                        with s.begin_nested():
                            outcomes.extend(self._fire_locked(s, schedule_id, now))
                    except IntegrityError:
                        log.warning(
                            "schedule_id=%s firing=duplicate: another scheduler recorded it",
                            schedule_id,
                        )
                    except Exception as exc:  # raised once the others are committed
                        log.exception("schedule_id=%s firing failed", schedule_id)
                        failure = failure or exc
            finally:
                self._batch = None
        if failure is not None:
            raise failure
        return outcomes

    def _fire_bulk(
        self, s: Session, batch: Batch, schedule_ids: list[int], now: datetime
    ) -> tuple[list[Outcome], list[int]]:
        """The round written in bulk (:mod:`otter_tui.scheduler.rounds`); returns its outcomes
        and the schedules left to the per-schedule path. Any failure rolls the bulk part back
        whole and leaves every schedule to the per-schedule path, which isolates the culprit."""
        try:
            with s.begin_nested():
                bulk = Round(self, s, batch, now)
                for schedule_id in schedule_ids:
                    bulk.decide(schedule_id)
                return bulk.write(), bulk.slow
        except Exception as exc:
            if isinstance(exc, IntegrityError):
                log.warning("firing=duplicate in a bulk round: one schedule at a time instead")
            else:
                log.exception("bulk round failed: one schedule at a time instead")
            s.expire_all()
            self._batch = read_batch(s, schedule_ids, load_inventory(s))
            return [], schedule_ids

    def dispatch_queued(self, now: datetime) -> list[Outcome]:
        """Start the waiting firings (overlap ``queue``) whose schedule has no active job."""
        with self.ctx.db.session() as s:
            query = select(ScheduleFiring.id).where(ScheduleFiring.state == FiringState.QUEUED)
            waiting = list(s.scalars(query.order_by(ScheduleFiring.due_at)))
        outcomes: list[Outcome] = []
        for firing_id in waiting:
            outcomes.extend(self._dispatch_one_queued(firing_id, now))
        return outcomes

    def recover_pending(self) -> int:
        """Firing rows left ``pending`` (never committed by this code): fail, never run them."""
        note = (
            "the scheduler stopped between recording this firing and creating its job; "
            "not started, so that it can never run twice"
        )
        with self.ctx.db.transaction() as s:
            rows = list(
                s.scalars(select(ScheduleFiring).where(ScheduleFiring.state == FiringState.PENDING))
            )
            for firing in rows:
                linked = firing.job_id is not None
                firing.state = FiringState.DISPATCHED if linked else FiringState.FAILED
                firing.note = firing.note if linked else note
            return len(rows)

    # one schedule ----------------------------------------------------------------------------

    def _fire_locked(self, s: Session, schedule_id: int, now: datetime) -> list[Outcome]:
        batch = self._batch
        row = (
            locked(s, Schedule, schedule_id) if batch is None else batch.schedules.get(schedule_id)
        )
        if row is None or not row.enabled or row.next_due_at is None:
            return []
        if row.next_due_at > now:
            return []  # another scheduler advanced it since it was listed
        return self._fire_due(s, row, now)

    def _fire_due(self, s: Session, row: Schedule, now: datetime) -> list[Outcome]:
        assert row.next_due_at is not None
        try:
            plan = self._due_plan(row, now)
        except UsageError as exc:  # e.g. its zone vanished from tzdata: flag it, run nothing
            row.error, row.next_due_at = str(exc), None
            return [Outcome(row.name, None, "error", note=str(exc))]
        outcomes = [
            self._record(s, row, m.due_at, FiringState.MISSED, m.reason) for m in plan.missed
        ]
        self._warn_capped(row, plan)
        for due in plan.run:
            outcomes.append(self._fire_one(s, row, due, now, plan.next_due))
        row.last_due_at = plan.newest_due or row.last_due_at
        row.next_due_at = plan.next_due
        return outcomes

    @staticmethod
    def _warn_capped(row: Schedule, plan: DuePlan) -> None:
        if plan.unlisted or plan.capped:
            log.warning(
                "schedule=%s misfire=%s capped=%s more_missed_unlisted=%s cap=%s",
                *(row.name, row.misfire_policy, plan.capped, plan.unlisted, row.misfire_cap),
            )

    def _due_plan(self, row: Schedule, now: datetime) -> DuePlan:
        """The misfire policy applied to ``row`` (computed once per rule and due time a batch)."""
        assert row.next_due_at is not None
        policy, grace = MisfirePolicy(row.misfire_policy), timedelta(seconds=row.grace_seconds)
        batch = self._batch
        if batch is None:
            return timing_of(row).due_plan(row.next_due_at, now, policy, grace, row.misfire_cap)
        rule = (row.cron, row.timezone, row.once_at, row.start_at, row.end_at)
        key = (rule, row.next_due_at, policy, grace, row.misfire_cap)
        plan = batch.plans.get(key)
        if plan is None:
            timing = batch.timings.get(rule)
            if timing is None:
                timing = batch.timings[rule] = timing_of(row)
            plan = timing.due_plan(row.next_due_at, now, policy, grace, row.misfire_cap)
            batch.plans[key] = plan
        return plan

    def _fire_one(
        self, s: Session, row: Schedule, due: datetime, now: datetime, next_due: datetime | None
    ) -> Outcome:
        if self._recorded(s, row.id, due):
            return Outcome(row.name, due, "recorded-before", note="already recorded; not again")
        firing = ScheduleFiring(
            schedule_id=row.id, due_at=due, state=FiringState.PENDING, created_at=now
        )
        s.add(firing)
        s.flush()  # the exactly-once key is taken here, before any job exists
        batch = self._batch
        if batch is None:
            busy, waiting = active_job(s, row.id), queued_count(s, row.id)
        else:
            busy, waiting = batch.active.get(row.id), batch.queued.get(row.id, 0)
        decision = decide_overlap(
            OverlapPolicy(row.overlap_policy), 0 if busy is None else 1, waiting
        )
        if decision is Decision.RUN:
            return self._start_job(s, row, firing, next_due)
        if decision is Decision.QUEUE and batch is not None:
            batch.queued[row.id] = waiting + 1
        return self._settle(firing, row, *held_back(decision, busy, row.overlap_policy))

    def _dispatch_one_queued(self, firing_id: int, now: datetime) -> list[Outcome]:
        with self._fenced(now) as s:
            firing = locked(s, ScheduleFiring, firing_id)
            if firing is None or firing.state is not FiringState.QUEUED:
                return []
            row = s.get(Schedule, firing.schedule_id)
            if row is None or not row.enabled:
                note = "skipped: the schedule was disabled while this firing waited"
                return [self._settle(firing, row, FiringState.SKIPPED, note)]
            if active_job(s, row.id) is not None:
                return []
            return [self._start_job(s, row, firing, row.next_due_at)]

    def _start_job(
        self, s: Session, row: Schedule, firing: ScheduleFiring, next_due: datetime | None
    ) -> Outcome:
        if row.plan_id is None:
            note = f"failed: plan '{row.plan_name}' was deleted"
            return self._settle(firing, row, FiringState.FAILED, note)
        request = self._request(s, row, firing.due_at, next_due)
        batch = self._batch
        service = JobService(self._bound(s, row), self.plans)
        try:
            if batch is None:
                with s.begin_nested():
                    job = service.create(request)
            else:  # its refusals all come before it writes (but a first "default" queue): no
                job = service.create(request, batch=batch.jobs)  # SAVEPOINT, one flush less
        except OtterError as exc:
            return self._settle(firing, row, FiringState.FAILED, f"failed: {exc}")
        if batch is not None and row.id not in batch.active and job.state in ACTIVE:
            batch.active[row.id] = job.id
        firing.job_id = job.id
        outcome = self._settle(firing, row, FiringState.DISPATCHED, f"job {job.id} {job.state}")
        return Outcome(
            *(outcome.schedule, outcome.due_at, outcome.state, job.id, job.plan_name, job.state),
            outcome.note,
        )

    def _request(
        self, s: Session, row: Schedule, due: datetime, next_due: datetime | None
    ) -> JobRequest:
        """What the schedule asks to run, as a person would ask it."""
        return JobRequest(
            plan=row.plan_key,
            targets=TargetSpec.from_dict(row.targets),
            variables={k: str(v) for k, v in row.variables.items()},
            simulation=row.simulation,
            queue=row.queue_name,
            window_end=self._window_end(s, row, due, next_due),
            approval_required=row.approval_required,
            schedule_id=row.id,
        )

    def _window_end(
        self, s: Session, row: Schedule, due: datetime, next_due: datetime | None
    ) -> datetime | None:
        """An approval must come before the next occurrence (or within grace for the last)."""
        record = self._plan_record(s, row.plan_id)
        if not (row.approval_required or (record is not None and record.approval_required)):
            return None
        return next_due or due + timedelta(seconds=row.grace_seconds)

    def _plan_record(self, s: Session, plan_id: int | None) -> PlanRecord | None:
        if plan_id is None:
            return None
        batch = self._batch
        if batch is None:
            return s.get(PlanRecord, plan_id)
        if plan_id not in batch.records:
            batch.records[plan_id] = s.get(PlanRecord, plan_id)
        return batch.records[plan_id]

    def _recorded(self, s: Session, schedule_id: int, due: datetime) -> bool:
        batch = self._batch
        if batch is None:
            return recorded_row(s, schedule_id, due)
        return (schedule_id, due) in batch.recorded

    def _bound(self, s: Session, row: Schedule, clock: Clock | None = None) -> ServiceContext:
        """The job service's context: this transaction, acting as who last saved the schedule
        (``clock``: a round's own "now", which a round prepared ahead decides at)."""
        return ServiceContext(
            SessionDatabase(s, self.ctx.db),
            *(self.ctx.settings, self._actor(row), clock or self.ctx.clock),
        )

    def _actor(self, row: Schedule) -> str:
        """Jobs of a schedule run as who last saved it (permissions are checked for them)."""
        return row.updated_by or row.created_by or self.ctx.actor

    def _record(
        self, s: Session, row: Schedule, due: datetime, state: FiringState, note: str
    ) -> Outcome:
        if self._recorded(s, row.id, due):
            return Outcome(row.name, due, "recorded-before", note="already recorded; not again")
        firing = ScheduleFiring(schedule_id=row.id, due_at=due, state=state, note=note)
        firing.created_at = self.ctx.now()
        s.add(firing)
        s.flush()
        return self._settle(firing, row, state, note)

    @staticmethod
    def _settle(
        firing: ScheduleFiring, row: Schedule | None, state: FiringState, note: str
    ) -> Outcome:
        firing.state, firing.note = state, note
        return Outcome(
            row.name if row else str(firing.schedule_id), firing.due_at, state.value, note=note
        )

    @contextmanager
    def _fenced(self, now: datetime) -> Iterator[Session]:
        """A write transaction that proceeds only while this scheduler holds the lease."""
        with self.ctx.db.transaction() as s:
            if not lease.holds(s, self.holder, now):
                raise LeaseLost(self.holder)
            yield s

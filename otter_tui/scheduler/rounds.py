"""A round of due schedules written in bulk: the fast path of ``Dispatcher.fire_schedules``.

The per-schedule path adds and flushes one ORM row per firing, per job and per audit event, and
reads the actor's grants per job: about 1 ms a firing, so 1,000 schedules due at the same minute
started up to a second late. Here the round is first decided in memory with exactly the same
rules (the misfire plan, a firing recorded before, the overlap policy, every refusal of
:meth:`JobService.check` made as the schedule's owner, the approval window), then written with
one multi-row INSERT each for the jobs (RETURNING their ids), their audit events (chained in
order) and the firing rows, and one executemany UPDATE of the schedules' due times, all in the
round's transaction. A request asked by several schedules (same owner, plan, targets, variables,
queue) is checked once per round: the transaction's write lock keeps the answer true.

Left to the per-schedule path, in the same transaction: a schedule with more than one firing to
run at once (catch-up), a singleton plan (each job must see the one before it), a rule that
cannot be evaluated. If anything here fails (a firing key that another scheduler took, or
anything unexpected), the caller rolls this round's SAVEPOINT back whole and runs the round the
per-schedule way, which isolates the culprit: nothing is ever half-written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session

from otter_tui.errors import OtterError
from otter_tui.scheduler.firings import Batch, Outcome, held_back
from otter_tui.scheduling import Decision, OverlapPolicy, decide_overlap
from otter_tui.services.context import audit_many
from otter_tui.services.jobs import JobService
from otter_tui.store.bulk import insert_numbered
from otter_tui.store.models import FiringState, Job, Schedule, ScheduleFiring

if TYPE_CHECKING:
    from otter_tui.scheduler.dispatch import Dispatcher

log = logging.getLogger(__name__)

_JOBS = cast(Table, Job.__table__)
_FIRINGS = cast(Table, ScheduleFiring.__table__)
_SCHEDULES = cast(Table, Schedule.__table__)
_ADVANCE = (
    update(_SCHEDULES)
    .where(_SCHEDULES.c.id == bindparam("b_id"))
    .values(next_due_at=bindparam("b_next"), last_due_at=bindparam("b_last"))
)


@dataclass
class _Firing:
    """A firing row to write; ``job`` indexes the round's job list when it starts one."""

    row: Schedule
    due: datetime
    state: FiringState
    note: str = ""
    job: int | None = None


class Round:
    """One transaction's due schedules: decided with :meth:`decide`, written with :meth:`write`."""

    def __init__(self, dispatcher: Dispatcher, s: Session, batch: Batch, now: datetime) -> None:
        self.d, self.s, self.batch, self.now = dispatcher, s, batch, now
        self.items: list[Outcome | _Firing] = []
        """In order: outcomes known now, and firings whose outcome follows from the write."""
        self.owners: list[int] = []
        """The schedule of each item (so a round prepared ahead can drop one, :meth:`drop`)."""
        self.jobs: list[tuple[str, dict[str, Any]]] = []
        """(actor, column values) of each job to insert."""
        self.advance: list[dict[str, Any]] = []
        self.slow: list[int] = []
        """Schedules left to the per-schedule path."""
        self._known: dict[tuple[object, ...], dict[str, Any] | OtterError] = {}
        self._services: dict[str, JobService] = {}

    def decide(self, schedule_id: int) -> None:
        """Everything due for one schedule, in memory (or the schedule is left to be slow)."""
        row = self.batch.schedules.get(schedule_id)
        if row is None or not row.enabled or row.next_due_at is None:
            return
        if row.next_due_at > self.now:
            return  # another scheduler advanced it since it was listed
        try:
            plan = self.d._due_plan(row, self.now)
            slow = len(plan.run) > 1 or (
                bool(plan.run) and row.plan_id is not None and self._singleton(row)
            )
        except OtterError:  # a rule or a plan in error: the per-schedule path records it
            slow = True
        if slow:
            self.slow.append(schedule_id)
            return
        for missed in plan.missed:
            self._firing(row, missed.due_at, FiringState.MISSED, missed.reason)
        self.d._warn_capped(row, plan)
        for due in plan.run:
            self._fire_one(row, due, plan.next_due)
        last = plan.newest_due or row.last_due_at
        self.advance.append({"b_id": row.id, "b_next": plan.next_due, "b_last": last})

    def write(self) -> list[Outcome]:
        """Jobs, their audit events, the firing rows and the schedules' due times, in bulk."""
        stamp = self.d.ctx.now()
        ids: list[int] = []
        if self.jobs:
            for _actor, values in self.jobs:
                values["created_at"] = values["run_at"] = stamp
            ids = insert_numbered(self.s, _JOBS, [v for _, v in self.jobs])
            events = [_audit(a, v, i) for (a, v), i in zip(self.jobs, ids, strict=True)]
            audit_many(self.s, stamp, events)
        firings = [f for f in self.items if isinstance(f, _Firing)]
        if firings:
            rows = [
                {
                    "schedule_id": f.row.id, "due_at": f.due, "state": f.state,
                    "note": self._note(f, ids), "created_at": stamp,
                    "job_id": None if f.job is None else ids[f.job],
                }
                for f in firings
            ]  # fmt: skip
            self.s.execute(insert(_FIRINGS), rows)
        if self.advance:
            self.s.execute(_ADVANCE, self.advance)
        return [i if isinstance(i, Outcome) else self._outcome(i, ids) for i in self.items]

    def drop(self, gone: set[int]) -> None:
        """Forget what was decided for the schedules in ``gone`` (changed since a round prepared
        ahead was decided): they are still due, and the per-minute pass decides them afresh."""
        if not gone:
            return
        kept: list[tuple[int, Outcome | _Firing]] = []
        jobs: list[tuple[str, dict[str, Any]]] = []
        for owner, item in zip(self.owners, self.items, strict=True):
            if owner in gone:
                continue
            if isinstance(item, _Firing) and item.job is not None:
                jobs.append(self.jobs[item.job])
                item.job = len(jobs) - 1
            kept.append((owner, item))
        self.owners, self.items = [o for o, _ in kept], [i for _, i in kept]
        self.jobs = jobs
        self.advance = [a for a in self.advance if a["b_id"] not in gone]

    # deciding --------------------------------------------------------------------------------

    def _fire_one(self, row: Schedule, due: datetime, next_due: datetime | None) -> None:
        if (row.id, due) in self.batch.recorded:
            self._add(row.id, _recorded_before(row, due))
            return
        busy, waiting = self.batch.active.get(row.id), self.batch.queued.get(row.id, 0)
        decision = decide_overlap(
            OverlapPolicy(row.overlap_policy), 0 if busy is None else 1, waiting
        )
        if decision is not Decision.RUN:
            if decision is Decision.QUEUE:
                self.batch.queued[row.id] = waiting + 1
            self._firing(row, due, *held_back(decision, busy, row.overlap_policy))
            return
        if row.plan_id is None:
            note = f"failed: plan '{row.plan_name}' was deleted"
            self._firing(row, due, FiringState.FAILED, note)
            return
        known = self._job(row, due, next_due)
        if isinstance(known, OtterError):
            self._firing(row, due, FiringState.FAILED, f"failed: {known}")
            return
        window_end = self.d._window_end(self.s, row, due, next_due)
        values = {**known, "schedule_id": row.id, "window_end": window_end}
        self.jobs.append((self.d._actor(row), values))
        self._add(row.id, _Firing(row, due, FiringState.DISPATCHED, job=len(self.jobs) - 1))

    def _job(
        self, row: Schedule, due: datetime, next_due: datetime | None
    ) -> dict[str, Any] | OtterError:
        """The job's column values as :meth:`JobService.check` and ``job_values`` make them, or
        the refusal; once per distinct request and owner in this round (the schedule's own
        fields, its id and approval window, are set by the caller)."""
        key = (
            self.d._actor(row), row.plan_key, row.simulation, row.queue_name,
            row.approval_required, repr(row.targets), repr(row.variables),
        )  # fmt: skip
        known = self._known.get(key)
        if known is None:
            request = self.d._request(self.s, row, due, next_due)
            service = self._service(row)
            try:
                checked = service.check(self.s, request, self.now, batch=self.batch.jobs)
                known = service.job_values(checked, request, self.now)
            except OtterError as exc:
                known = exc
            self._known[key] = known
        return known

    def _service(self, row: Schedule) -> JobService:
        actor = self.d._actor(row)
        service = self._services.get(actor)
        if service is None:
            bound = self.d._bound(self.s, row, lambda: self.now)
            service = self._services[actor] = JobService(bound, self.d.plans)
        return service

    def _singleton(self, row: Schedule) -> bool:
        return self.batch.jobs.record(self.s, row.plan_key).is_singleton

    def _firing(self, row: Schedule, due: datetime, state: FiringState, note: str) -> None:
        if (row.id, due) in self.batch.recorded:
            self._add(row.id, _recorded_before(row, due))
        else:
            self._add(row.id, _Firing(row, due, state, note))

    def _add(self, schedule_id: int, item: Outcome | _Firing) -> None:
        self.items.append(item)
        self.owners.append(schedule_id)

    # writing ---------------------------------------------------------------------------------

    def _note(self, firing: _Firing, ids: list[int]) -> str:
        if firing.job is None:
            return firing.note
        return f"job {ids[firing.job]} {self.jobs[firing.job][1]['state'].value}"

    def _outcome(self, firing: _Firing, ids: list[int]) -> Outcome:
        note, name = self._note(firing, ids), firing.row.name
        if firing.job is None:
            return Outcome(name, firing.due, firing.state.value, note=note)
        values = self.jobs[firing.job][1]
        job_id, state = ids[firing.job], values["state"].value
        return Outcome(name, firing.due, "dispatched", job_id, values["plan_name"], state, note)


def _recorded_before(row: Schedule, due: datetime) -> Outcome:
    return Outcome(row.name, due, "recorded-before", note="already recorded; not again")


def _audit(actor: str, values: dict[str, Any], job_id: int) -> tuple[str, str, str, str, Any]:
    """The ``job.create`` event :meth:`JobService.create` writes, for a job made in bulk."""
    detail = {"plan": values["plan_key"], "state": values["state"].value}
    return actor, "job.create", "job", str(job_id), detail

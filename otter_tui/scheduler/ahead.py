"""A round decided ahead of its minute, written at the minute: how 1,000 firings start on time.

Deciding a round (reading the due schedules, their firing rows and overlap state, the inventory,
checking each job as its owner would be checked, building the rows) takes most of the time
between a minute and its jobs; done at the minute it made the last of 1,000 jobs start about
170 ms late. So, :data:`LEAD` before the earliest stored due time, the loop decides that round
in a read-only session (:func:`prepare`), nothing written. At the due time, in ONE fenced write
transaction (:func:`fire`), it checks cheaply that what the decision read still holds, then
stamps ``created_at`` with the clock's now and bulk-inserts the jobs, audit events and firing
rows and advances the schedules (:meth:`Round.write`). No job exists, or can be seen or
claimed, before its firing time: nothing is written before the minute, and the rows commit
together after it.

Checked at the minute, in the write transaction (the lease first: a scheduler that lost it
writes nothing):

* each schedule is still due by the round's time (so still there, enabled and not advanced) with
  the same ``updated_at`` (every save, enable, disable and plan deletion sets it): a schedule
  that changed is dropped from the round and decided afresh by the minute's normal pass, which
  runs right after;
* each schedule's overlap state (active job, waiting firings): changed -> dropped likewise;
* the plan records the round read, column by column, and the audit events written since the
  preparation: any event but a schedule's or a job's (inventory, users and permissions, plans,
  queues, ...) -> the whole preparation is dropped and the round is decided at the minute, as
  before. Those changes go through audited services; schedule and job events are covered by the
  two per-schedule checks above.

A preparation that wrote anything (the ``default`` queue made on first use) is not used, nor one
whose minute passed more than :data:`LEAD` ago (the loop was held up): the normal pass decides
with the real time. The firing key stays the last line of defence: a duplicate rolls the round
back whole and the normal pass handles every schedule one at a time.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from typing import cast as typed

from sqlalchemy import String, Table, cast, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from otter_tui.scheduler import lease
from otter_tui.scheduler.firings import Outcome, overlap_state, read_batch
from otter_tui.scheduler.rounds import Round
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.store.models import AuditEvent, PlanRecord, Schedule

if TYPE_CHECKING:
    from otter_tui.scheduler.dispatch import Dispatcher

log = logging.getLogger(__name__)

LEAD = timedelta(seconds=2)
"""How long before a due time its round is decided. Deciding 1,000 firings takes about 0.2 s
on a quiet 2-core machine; two seconds leave room for a loaded one."""
LIMIT = 2_000
"""At most this many schedules in a prepared round; any more are left to the normal pass."""
HARMLESS = frozenset({"schedule", "job"})
"""Audit object types whose changes the per-schedule checks cover (see the module docstring)."""

_PLANS = typed(Table, PlanRecord.__table__)
_STAMP = (Schedule.id, cast(Schedule.updated_at, String))
"""A schedule's stamp among those due by the round's time (so still enabled and not advanced):
every save, enable, disable and plan deletion sets ``updated_at``. As text: parsing a thousand
datetimes took longer than the query."""

Overlap = tuple[bool, int]


@dataclass
class Prepared:
    """A round decided for the due time ``at``, and what its decision read."""

    at: datetime
    round: Round
    stamps: dict[int, tuple[Any, ...]]
    overlap: dict[int, Overlap]
    plan_keys: set[str]
    plan_ids: set[int]
    plans: set[tuple[Any, ...]]
    audit_tail: int

    @property
    def schedule_ids(self) -> list[int]:
        return list(self.stamps)


def prepare(d: Dispatcher, at: datetime) -> Prepared | None:
    """Decide the round due at ``at`` without writing anything (None: nothing to prepare).

    What the minute checks is read first, with the very statements the minute runs (so they
    are compiled by then): a change that lands while the round is being decided makes the
    minute's check differ, never the other way round (PostgreSQL reads each statement afresh).
    """
    with d.ctx.db.session() as s:
        wrote: list[bool] = []
        event.listen(s, "after_flush", lambda *_: wrote.append(True))
        if not lease.holds(s, d.holder, d.ctx.now()):
            return None
        tail = _audit_tail(s)
        _changed_types(s, tail)
        seen = _Seen.read(s, at)
        ids = list(s.scalars(_due_by(at)))
        if not ids:
            return None
        try:
            batch = d._batch = read_batch(s, ids, load_inventory(s), lock=False)
            keys = {row.plan_key for row in batch.schedules.values()}
            plan_ids = {r.plan_id for r in batch.schedules.values() if r.plan_id is not None}
            plans = _plan_rows(s, keys, plan_ids)  # before the decision reads them
            bulk = Round(d, s, batch, at)
            for schedule_id in ids:
                bulk.decide(schedule_id)
        finally:
            d._batch = None
        decided = set(bulk.owners) | {a["b_id"] for a in bulk.advance}
        if wrote or not decided:
            return None
    stamps = {i: seen.stamps[i] for i in ids if i in decided and i in seen.stamps}
    bulk.drop(decided - set(stamps))
    overlap = {i: seen.overlap[i] for i in stamps}
    return Prepared(at, bulk, stamps, overlap, keys, plan_ids, plans, tail)


def fire(d: Dispatcher, prepared: Prepared, now: datetime) -> list[Outcome] | None:
    """At the due time: check, stamp and write the prepared round in one fenced transaction.

    Returns its outcomes, or None when the preparation no longer holds as a whole (the normal
    pass then decides the round). Raises ``LeaseLost`` when this scheduler lost the lease.
    """
    if now < prepared.at or now - prepared.at > LEAD:
        return None
    with d._fenced(now) as s:
        if not _still_true(s, prepared):
            return None
        seen = _Seen.read(s, prepared.at, lock=True)
        gone = {
            i
            for i, stamp in prepared.stamps.items()
            if seen.stamps.get(i) != stamp or seen.overlap.get(i) != prepared.overlap[i]
        }
        if gone:
            log.info("prepared round: %s changed since; decided again at the minute", len(gone))
        bulk = prepared.round
        bulk.drop(gone)
        bulk.s = s
        try:
            with s.begin_nested():
                return bulk.write()
        except IntegrityError:
            log.warning("firing=duplicate in a prepared round: one schedule at a time instead")
            return None


@dataclass
class _Seen:
    """The stamps and overlap state of the schedules due by a time, read in two queries."""

    stamps: dict[int, tuple[Any, ...]]
    overlap: dict[int, Overlap]

    @classmethod
    def read(cls, s: Session, at: datetime, *, lock: bool = False) -> _Seen:
        stamps = _stamps(s, at, lock=lock)
        active, queued = overlap_state(s, select(Schedule.id).where(*_due_now(at)))
        return cls(stamps, _overlap(active, queued, list(stamps)))


def _still_true(s: Session, prepared: Prepared) -> bool:
    """The plan records read are unchanged and nothing but schedules and jobs was audited."""
    changed = _changed_types(s, prepared.audit_tail) - HARMLESS
    if changed:
        log.info("prepared round dropped: %s changed since", ", ".join(sorted(changed)))
        return False
    if _plan_rows(s, prepared.plan_keys, prepared.plan_ids) != prepared.plans:
        log.info("prepared round dropped: a plan record changed since")
        return False
    return True


def _changed_types(s: Session, tail: int) -> set[str]:
    query = select(AuditEvent.object_type).where(AuditEvent.id > tail).distinct()
    return set(s.scalars(query))


def _due_now(at: datetime) -> Any:
    return (Schedule.enabled, Schedule.next_due_at <= at)


def _due_by(at: datetime) -> Any:
    return (
        select(Schedule.id)
        .where(*_due_now(at))
        .order_by(Schedule.next_due_at, Schedule.id)
        .limit(LIMIT)
    )


def _audit_tail(s: Session) -> int:
    return s.scalar(select(func.max(AuditEvent.id))) or 0


def _stamps(s: Session, at: datetime, *, lock: bool = False) -> dict[int, tuple[Any, ...]]:
    """What tells that a schedule was saved, enabled, disabled, advanced or deleted since, for
    every schedule due by ``at`` (a condition, not a list of ids: a thousand bound parameters
    cost more than the rows); one gone from it at the minute was disabled, deleted or advanced,
    and is dropped with the ones whose stamp changed."""
    query = select(*_STAMP).where(*_due_now(at))
    if lock and s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return {row[0]: tuple(row) for row in s.execute(query)}


def _plan_rows(s: Session, keys: set[str], ids: set[int]) -> set[tuple[Any, ...]]:
    """Every column of the plan records these schedules' jobs were checked against."""
    query = select(_PLANS).where(_PLANS.c.key.in_(keys) | _PLANS.c.id.in_(ids))
    return {_hashable(tuple(row)) for row in s.execute(query)}


def _hashable(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(repr(v) if isinstance(v, (list, dict)) else v for v in row)


def _overlap(active: dict[int, int], queued: dict[int, int], ids: list[int]) -> dict[int, Overlap]:
    return {i: (i in active, queued.get(i, 0)) for i in ids}

"""What a dispatch round reads and writes beside the :class:`Dispatcher`: its outcomes, the
state it reads once per round (:class:`Batch`), and the small queries a single firing needs.

Split from :mod:`otter_tui.scheduler.dispatch` so that module keeps the decisions (misfire,
overlap, job creation) and this one the data they work on.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from otter_tui.scheduling import Decision
from otter_tui.scheduling.timing import DuePlan, Timing
from otter_tui.services.jobs import JobBatch
from otter_tui.store.db import Database
from otter_tui.store.models import (
    ACTIVE_JOB_STATES,
    FiringState,
    Job,
    PlanRecord,
    Schedule,
    ScheduleFiring,
)
from otter_tui.targeting import Inventory

_Row = TypeVar("_Row", Schedule, ScheduleFiring)


class LeaseLost(Exception):
    """This scheduler no longer holds the leader lease: stop dispatching at once."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one firing, for the log and for waking the workers."""

    schedule: str
    due_at: datetime | None
    state: str
    job_id: int | None = None
    plan_name: str = ""
    job_state: str = ""
    note: str = ""


TimingKey = tuple[str, str, datetime | None, datetime | None, datetime | None]


@dataclass
class Batch:
    """What one :meth:`Dispatcher.fire_schedules` transaction reads once for all its schedules.

    Read under the transaction's write lock, so it stays true for the transaction; each entry
    concerns one schedule, and each schedule is handled once per batch, so a schedule whose
    SAVEPOINT rolls back leaves no entry that another schedule reads.
    """

    jobs: JobBatch
    schedules: dict[int, Schedule]
    recorded: set[tuple[int, datetime]]
    """(schedule, due time) of the firing rows already there (from the oldest due time on)."""
    active: dict[int, int]
    """The oldest active job of each schedule that has one (updated as jobs are created)."""
    queued: dict[int, int]
    """Waiting (overlap ``queue``) firings per schedule (updated as firings are queued)."""
    records: dict[int, PlanRecord | None] = field(default_factory=dict)
    timings: dict[TimingKey, Timing] = field(default_factory=dict)
    plans: dict[tuple[object, ...], DuePlan] = field(default_factory=dict)
    """Misfire plans by rule, stored due time and policy: a burst shares one cron line."""


class SessionDatabase(Database):
    """The dispatch transaction, offered to a service as its database.

    :class:`JobService` opens ``db.transaction()`` itself; here that yields the scheduler's open
    transaction instead, so the job row and its firing row commit together or not at all.
    """

    def __init__(self, session: Session, base: Database) -> None:  # no engine of its own
        self._open = session
        self._base = base
        self.url, self.is_sqlite, self.created = base.url, base.is_sqlite, False
        self.engine = base.engine

    def session(self) -> Session:
        return self._base.session()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        yield self._open

    def dispose(self) -> None:
        """The base database belongs to the runtime; nothing to close here."""


ACTIVE = frozenset(state.value for state in ACTIVE_JOB_STATES)


def held_back(decision: Decision, busy: int | None, policy: str) -> tuple[FiringState, str]:
    """The state and note of a firing the overlap policy did not run (skip or queue)."""
    if decision is Decision.QUEUE:
        return FiringState.QUEUED, f"queued behind job {busy} of this schedule (overlap queue)"
    reason = f"job {busy} of this schedule" if busy else "a queued firing"
    return FiringState.SKIPPED, f"skipped: {reason} was still waiting or running (overlap {policy})"


def read_batch(
    s: Session, schedule_ids: list[int], inventory: Inventory, *, lock: bool = True
) -> Batch:
    """One query each for the batch's schedules, firing rows, active jobs and queued firings.

    ``lock``: lock the schedule rows on PostgreSQL (a write transaction); a round prepared
    ahead reads without locks and checks again at its minute (:mod:`otter_tui.scheduler.ahead`).
    """
    query = select(Schedule).where(Schedule.id.in_(schedule_ids)).order_by(Schedule.id)
    if lock and s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    schedules = {row.id: row for row in s.scalars(query)}
    dues = [row.next_due_at for row in schedules.values() if row.next_due_at is not None]
    recorded: set[tuple[int, datetime]] = set()
    if dues:
        rows = s.execute(
            select(ScheduleFiring.schedule_id, ScheduleFiring.due_at).where(
                ScheduleFiring.schedule_id.in_(schedule_ids), ScheduleFiring.due_at >= min(dues)
            )
        )
        recorded = {(schedule_id, due) for schedule_id, due in rows}
    active, queued = overlap_state(s, schedule_ids)
    return Batch(JobBatch(inventory), schedules, recorded, active, queued)


def overlap_state(
    s: Session, schedule_ids: list[int] | Select[Any]
) -> tuple[dict[int, int], dict[int, int]]:
    """What the overlap policy looks at: the oldest active job and the number of waiting
    (overlap ``queue``) firings of each of these schedules that has any (``schedule_ids``: a
    list, or a query of them)."""
    active_query = (
        select(Job.schedule_id, func.min(Job.id))
        .where(Job.schedule_id.in_(schedule_ids), Job.state.in_(ACTIVE_JOB_STATES))
        .group_by(Job.schedule_id)
    )
    queued_query = (
        select(ScheduleFiring.schedule_id, func.count(ScheduleFiring.id))
        .where(
            ScheduleFiring.schedule_id.in_(schedule_ids),
            ScheduleFiring.state == FiringState.QUEUED,
        )
        .group_by(ScheduleFiring.schedule_id)
    )
    active = {sid: job_id for sid, job_id in s.execute(active_query) if sid is not None}
    queued = {sid: count for sid, count in s.execute(queued_query)}
    return active, queued


def locked(s: Session, model: type[_Row], key: int) -> _Row | None:
    """The row, locked for this transaction on PostgreSQL (SQLite's write lock covers it)."""
    dialect = s.get_bind().dialect.name
    return s.get(model, key, with_for_update=dialect == "postgresql")


def active_job(s: Session, schedule_id: int) -> int | None:
    query = select(Job.id).where(Job.schedule_id == schedule_id, Job.state.in_(ACTIVE_JOB_STATES))
    return s.scalar(query.order_by(Job.id).limit(1))


def queued_count(s: Session, schedule_id: int) -> int:
    query = select(func.count(ScheduleFiring.id)).where(
        ScheduleFiring.schedule_id == schedule_id, ScheduleFiring.state == FiringState.QUEUED
    )
    return s.scalar(query) or 0


def recorded_row(s: Session, schedule_id: int, due: datetime) -> bool:
    """A firing row exists already (left by a crash of older code): never dispatch it again."""
    query = select(ScheduleFiring.id).where(
        ScheduleFiring.schedule_id == schedule_id, ScheduleFiring.due_at == due
    )
    return s.scalar(query) is not None

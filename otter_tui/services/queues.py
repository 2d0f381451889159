"""Job queues: named places jobs wait to run, each with a backend and a concurrency.

A job names its queue when it is created (the plan's default, or one of its eligible queues;
:class:`~otter_tui.services.jobs.JobService` enforces that). A queue's *backend* decides how a
waiting job reaches the process that runs it; the *concurrency* is how many of its jobs one worker
runs at once.

Backends are a small protocol, :class:`QueueBackend`: "give me the next job in these queues that
is now mine", answered with a job id the caller owns exactly once. The engine only ever sees that
id, so a distributed backend (a broker that hands job ids to workers on other machines, which then
claim them by id with :meth:`ClaimService.claim`) can be added next to ``local`` without changing
the engine: register its name in :data:`BACKENDS` and give workers an instance.

- ``local``: the process that claims the job runs it; the claim is the atomic ``UPDATE ...
  RETURNING`` of :class:`~otter_tui.services.claims.ClaimService` on the shared database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.store.models import Job, JobQueue, JobState, JobTemplate, PlanRecord, Schedule

DEFAULT_QUEUE = "default"
DEFAULT_CONCURRENCY = 4
WAITING = (JobState.PENDING_APPROVAL, JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING)
MANAGE = "plans.manage"
"""Queues decide where and how many plan runs happen, so managing them is part of managing plans."""


class QueueBackend(Protocol):
    """How a worker gets its next job. Implementations must hand each job to one caller only."""

    def claim_next(self, queues: Sequence[str]) -> int | None:
        """Claim the next due job in ``queues`` for the caller; None when there is none."""
        ...

    def yields(self, queue: str) -> bool:
        """True: another process serves ``queue`` now; the worker claims nothing of it, not
        even a slice of a job split there (a console while a daemon runs the queue)."""
        ...


BACKENDS: dict[str, str] = {
    "local": "run in the process that claims the job (claimed from the shared database)",
}
"""Every backend a queue may name, with what it means (shown by ``queues add --help``)."""


@dataclass(frozen=True)
class QueueView:
    """A job queue and how many jobs wait in it."""

    name: str
    backend: str
    concurrency: int
    description: str
    waiting: int
    """Jobs in this queue that have not finished (pending approval, scheduled, queued, running)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_backend(backend: str) -> str:
    if backend not in BACKENDS:
        raise UsageError(f"unknown queue backend '{backend}' (known: {', '.join(BACKENDS)})")
    return backend


def check_concurrency(concurrency: int) -> int:
    if concurrency < 1:
        raise UsageError(f"queue concurrency must be 1 or more, got {concurrency}")
    return concurrency


def ensure_default(s: Session) -> None:
    """The ``default`` queue always exists: jobs of a plan that names no queue wait there."""
    if s.scalar(select(JobQueue.id).where(JobQueue.name == DEFAULT_QUEUE)) is None:
        s.add(JobQueue(name=DEFAULT_QUEUE, backend="local", concurrency=DEFAULT_CONCURRENCY))
        s.flush()


def get_queue(s: Session, name: str) -> JobQueue:
    queue = s.scalar(select(JobQueue).where(JobQueue.name == name))
    if queue is None:
        raise NotFoundError(f"unknown job queue '{name}'")
    return queue


class QueueService:
    """List, add, change and remove job queues; the same checks for every door."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def all(self) -> list[QueueView]:
        with self.ctx.db.transaction() as s:
            ensure_default(s)
            rows = s.execute(
                select(Job.queue_name, func.count(Job.id))
                .where(Job.state.in_(WAITING))
                .group_by(Job.queue_name)
            )
            counts = {name: n for name, n in rows}
            queues = s.scalars(select(JobQueue).order_by(JobQueue.name))
            return [_view(q, counts.get(q.name, 0)) for q in queues]

    def resolve(self, names: Sequence[str] = ()) -> list[QueueView]:
        """The named queues (all of them when none are named); an unknown name is refused."""
        views = {v.name: v for v in self.all()}
        for name in names:
            if name not in views:
                raise NotFoundError(f"unknown job queue '{name}' (known: {', '.join(views)})")
        return [views[n] for n in dict.fromkeys(names)] if names else list(views.values())

    def local(self, names: Sequence[str] = ()) -> tuple[str, ...]:
        """The queues a local worker claims from: ``names`` (each must exist and have the
        ``local`` backend, else one line naming it), or every ``local`` queue when none is named.
        """
        views = self.resolve(names)
        foreign = [v for v in views if v.backend != "local"] if names else []
        if foreign:
            q = foreign[0]
            raise UsageError(f"queue '{q.name}' has backend '{q.backend}': no local worker runs it")
        return tuple(v.name for v in views if v.backend == "local")

    def add(
        self,
        name: str,
        *,
        backend: str = "local",
        concurrency: int = DEFAULT_CONCURRENCY,
        description: str = "",
    ) -> QueueView:
        check_name("queue", name)
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, MANAGE)
            ensure_default(s)
            if s.scalar(select(JobQueue.id).where(JobQueue.name == name)) is not None:
                raise ConflictError(f"job queue '{name}' already exists")
            queue = JobQueue(
                name=name,
                backend=check_backend(backend),
                concurrency=check_concurrency(concurrency),
                description=description,
            )
            s.add(queue)
            s.flush()
            self.ctx.audit(s, "queue.add", "queue", name, backend=backend, concurrency=concurrency)
            return _view(queue, 0)

    def set(
        self,
        name: str,
        *,
        backend: str | None = None,
        concurrency: int | None = None,
        description: str | None = None,
    ) -> QueueView:
        """Change what is given; running jobs keep going, the new values apply to new claims."""
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, MANAGE)
            ensure_default(s)
            queue = get_queue(s, name)
            changed: dict[str, Any] = {}
            if backend is not None:
                queue.backend = changed["backend"] = check_backend(backend)
            if concurrency is not None:
                queue.concurrency = changed["concurrency"] = check_concurrency(concurrency)
            if description is not None:
                queue.description = changed["description"] = description
            if not changed:
                raise UsageError(
                    "nothing to change: give --backend, --concurrency or --description"
                )
            self.ctx.audit(s, "queue.set", "queue", name, **changed)
            return _view(queue, _waiting(s, name))

    def remove(self, name: str) -> None:
        """Remove a queue nothing uses; ``default`` stays."""
        if name == DEFAULT_QUEUE:
            raise ConflictError("the 'default' queue cannot be removed")
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, MANAGE)
            queue = get_queue(s, name)
            users = _users(s, name)
            if users:
                raise ConflictError(f"job queue '{name}' is still used by {', '.join(users)}")
            s.delete(queue)
            self.ctx.audit(s, "queue.rm", "queue", name)


def _view(queue: JobQueue, waiting: int) -> QueueView:
    return QueueView(queue.name, queue.backend, queue.concurrency, queue.description, waiting)


def _waiting(s: Session, name: str) -> int:
    query = select(func.count(Job.id)).where(Job.queue_name == name, Job.state.in_(WAITING))
    return s.scalar(query) or 0


def _users(s: Session, name: str) -> list[str]:
    """What would be left pointing at the queue: unfinished jobs, plans, schedules, templates."""
    plans = s.execute(select(PlanRecord.default_queue, PlanRecord.eligible_queues)).all()
    counts = {
        "plan(s)": sum(1 for default, eligible in plans if name == default or name in eligible),
        "unfinished job(s)": _waiting(s, name),
        "schedule(s)": s.scalar(select(func.count(Schedule.id)).where(Schedule.queue_name == name)),
        "job template(s)": s.scalar(
            select(func.count(JobTemplate.id)).where(JobTemplate.queue_name == name)
        ),
    }
    return [f"{n} {what}" for what, n in counts.items() if n]


def check_queue(
    s: Session, record: PlanRecord, requested: str | None, known: set[str] | None = None
) -> str:
    """The queue a job of ``record`` goes to: allowed for the plan, and existing."""
    queue = requested or record.default_queue or "default"
    allowed = {record.default_queue or "default", *record.eligible_queues}
    if queue not in allowed:
        names = ", ".join(sorted(allowed))
        raise UsageError(f"plan '{record.name}' may not use queue '{queue}' (allowed: {names})")
    if known is None or queue not in known:
        check_queue_exists(s, queue, known)
    return queue


def check_queue_exists(s: Session, queue: str, known: set[str] | None = None) -> None:
    """Known queues only; ``default`` is made on first use.

    ``known``: queues found to exist in this transaction (a batch); one found is added, one made
    here is not (the SAVEPOINT that made it may yet roll back).
    """
    if s.scalar(select(JobQueue.id).where(JobQueue.name == queue)) is None:
        if queue != "default":
            raise NotFoundError(f"unknown job queue '{queue}'")
        s.add(JobQueue(name="default", backend="local", concurrency=4))
        s.flush()
    elif known is not None:
        known.add(queue)

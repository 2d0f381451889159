"""SQLAlchemy 2.0 typed models for the whole glossary.

The schema changes only through Alembic migrations (``store/migrations``); these classes are the
source the migrations are written from. Times are stored as timezone-aware UTC. Job and schedule
rows keep the plan's key and name as text, so deleting a plan record keeps their history readable.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from otter_tui.store.access import AuditEvent, User, UserPermission
from otter_tui.store.base import NAMING, Base, UTCDateTime, enum_column, utcnow
from otter_tui.store.coordination import Lease, ServerLock
from otter_tui.store.log_counts import LOG_COUNTS
from otter_tui.store.scheduling import Schedule, ScheduleFiring
from otter_tui.store.slices import JobSlice
from otter_tui.store.states import (
    ACTIVE_JOB_STATES,
    Decision,
    DriftStatus,
    FiringState,
    JobState,
    PlanKind,
    RunState,
    SliceState,
    TransportKind,
)

__all__ = [
    "ACTIVE_JOB_STATES",
    "LOG_COUNTS",
    "NAMING",
    "AuditEvent",
    "Base",
    "Decision",
    "DriftStatus",
    "FiringState",
    "JobSlice",
    "JobState",
    "Lease",
    "PlanKind",
    "RunState",
    "Schedule",
    "ScheduleFiring",
    "ServerLock",
    "SliceState",
    "TransportKind",
    "UTCDateTime",
    "User",
    "UserPermission",
    "utcnow",
]


class Server(Base):
    __tablename__ = "servers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(default=22)
    user: Mapped[str] = mapped_column(String(100), default="")
    transport: Mapped[TransportKind] = mapped_column(enum_column(TransportKind))
    active: Mapped[bool] = mapped_column(default=True)
    description: Mapped[str] = mapped_column(Text, default="")
    drift_checked_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    roles: Mapped[list["Role"]] = relationship(
        secondary="server_roles", back_populates="servers", order_by="Role.name"
    )
    environments: Mapped[list["Environment"]] = relationship(
        secondary="server_environments", back_populates="servers", order_by="Environment.name"
    )


class Role(Base):
    __tablename__ = "roles"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    servers: Mapped[list[Server]] = relationship(
        secondary="server_roles", back_populates="roles", order_by="Server.name"
    )


class Environment(Base):
    __tablename__ = "environments"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("environments.id", ondelete="SET NULL"), default=None
    )
    parent: Mapped["Environment | None"] = relationship(remote_side="Environment.id")
    servers: Mapped[list[Server]] = relationship(
        secondary="server_environments", back_populates="environments", order_by="Server.name"
    )


class ServerRole(Base):
    __tablename__ = "server_roles"
    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    role_id: Mapped[int] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ServerEnvironment(Base):
    __tablename__ = "server_environments"
    server_id: Mapped[int] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), primary_key=True
    )
    environment_id: Mapped[int] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Variable(Base):
    """A variable at one scope; ``scope_key`` (``global``, ``server:7``) is unique with the name."""

    __tablename__ = "variables"
    __table_args__ = (UniqueConstraint("scope_key", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))
    scope_key: Mapped[str] = mapped_column(String(48))
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="CASCADE"), default=None
    )
    role_id: Mapped[int | None] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), default=None
    )
    environment_id: Mapped[int | None] = mapped_column(
        ForeignKey("environments.id", ondelete="CASCADE"), default=None
    )
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[str] = mapped_column(Text)


OVERRIDABLE = (
    "grouping",
    "name",
    "description",
    "dryrun_default",
    "has_sensitive_variables",
    "hidden",
    "soft_time_limit",
    "time_limit",
    "default_queue",
    "eligible_queues",
    "is_singleton",
    "approval_required",
    "exclusive",
)
"""Plan record fields that a refresh takes from the class unless their ``*_override`` is set."""


class PlanRecord(Base):
    __tablename__ = "plan_records"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    file: Mapped[str] = mapped_column(Text, default="")
    installed: Mapped[bool] = mapped_column(default=True)
    enabled: Mapped[bool] = mapped_column(default=False)
    roles: Mapped[list[Any]] = mapped_column(default=list)
    servers: Mapped[list[Any]] = mapped_column(default=list)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    grouping: Mapped[str] = mapped_column(String(100), default="")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    dryrun_default: Mapped[bool] = mapped_column(default=False)
    has_sensitive_variables: Mapped[bool] = mapped_column(default=False)
    hidden: Mapped[bool] = mapped_column(default=False)
    soft_time_limit: Mapped[float | None] = mapped_column(default=None)
    time_limit: Mapped[float | None] = mapped_column(default=None)
    default_queue: Mapped[str] = mapped_column(String(100), default="default")
    eligible_queues: Mapped[list[Any]] = mapped_column(default=list)
    is_singleton: Mapped[bool] = mapped_column(default=False)
    approval_required: Mapped[bool] = mapped_column(default=False)
    exclusive: Mapped[bool] = mapped_column(default=False, server_default=false())
    """Per server: two jobs of this plan never run on one server at once (:class:`ServerLock`)."""
    grouping_override: Mapped[bool] = mapped_column(default=False)
    name_override: Mapped[bool] = mapped_column(default=False)
    description_override: Mapped[bool] = mapped_column(default=False)
    dryrun_default_override: Mapped[bool] = mapped_column(default=False)
    has_sensitive_variables_override: Mapped[bool] = mapped_column(default=False)
    hidden_override: Mapped[bool] = mapped_column(default=False)
    soft_time_limit_override: Mapped[bool] = mapped_column(default=False)
    time_limit_override: Mapped[bool] = mapped_column(default=False)
    default_queue_override: Mapped[bool] = mapped_column(default=False)
    eligible_queues_override: Mapped[bool] = mapped_column(default=False)
    is_singleton_override: Mapped[bool] = mapped_column(default=False)
    approval_required_override: Mapped[bool] = mapped_column(default=False)
    exclusive_override: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)

    def overridden(self) -> list[str]:
        return [f for f in OVERRIDABLE if getattr(self, f"{f}_override")]


class JobQueue(Base):
    __tablename__ = "job_queues"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    backend: Mapped[str] = mapped_column(String(32), default="local")
    concurrency: Mapped[int] = mapped_column(default=4)
    description: Mapped[str] = mapped_column(Text, default="")


CLAIMABLE_SQL = "state IN ('queued', 'scheduled')"
"""The jobs a worker may claim, as SQL: the predicate of the partial index the claim walks in
``run_at`` order (``ix_jobs_claimable``): a claim reads one index entry, not every waiting job."""


class Job(Base):
    """One request to run a plan. Created as a row first; claimed by exactly one worker."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_queue", "state", "queue_name", "run_at"),
        Index("ix_jobs_schedule_state", "schedule_id", "state"),
        # Its PostgreSQL predicate is added by use_postgresql_options(), on a PostgreSQL open.
        Index("ix_jobs_claimable", "run_at", "id", sqlite_where=text(CLAIMABLE_SQL)),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_records.id", ondelete="SET NULL"), default=None, index=True
    )
    plan_key: Mapped[str] = mapped_column(String(200))
    plan_name: Mapped[str] = mapped_column(String(200))
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sensitive_names: Mapped[list[Any]] = mapped_column(default=list)
    simulation: Mapped[bool] = mapped_column(default=False)
    mode: Mapped[str] = mapped_column(String(16), default="run", server_default="run")
    """``run``, or ``check`` for a drift check that only collects."""
    queue_name: Mapped[str] = mapped_column(String(100), default="default")
    state: Mapped[JobState] = mapped_column(enum_column(JobState), default=JobState.QUEUED)
    requested_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    run_at: Mapped[datetime] = mapped_column(default=utcnow)
    window_end: Mapped[datetime | None] = mapped_column(default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    approval_required: Mapped[bool] = mapped_column(default=False)
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("schedules.id", ondelete="SET NULL"), default=None
    )
    """Indexed with ``state`` (ix_jobs_schedule_state): a schedule's active jobs."""
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("job_templates.id", ondelete="SET NULL"), default=None
    )
    simulation_of: Mapped[int | None] = mapped_column(default=None, index=True)
    """For a simulation asked from the approvals: the pending job it simulates (a plain id, not a
    foreign key: pruning either job leaves the other as it is)."""
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
    slices: Mapped[int] = mapped_column(default=0, server_default="0")
    """How many slices its server runs were split into (0: run whole by its worker)."""
    server_runs: Mapped[list["ServerRun"]] = relationship(
        back_populates="job", cascade="all, delete-orphan", order_by="ServerRun.id"
    )


class ServerRun(Base):
    """The part of a job on one server, with its role in context."""

    __tablename__ = "server_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    server_id: Mapped[int | None] = mapped_column(
        ForeignKey("servers.id", ondelete="SET NULL"), default=None
    )
    server_name: Mapped[str] = mapped_column(String(100), default="")
    role_name: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[RunState] = mapped_column(enum_column(RunState), default=RunState.PENDING)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    changes: Mapped[int] = mapped_column(default=0)
    unknowns: Mapped[int] = mapped_column(default=0)
    warnings: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    slice_number: Mapped[int | None] = mapped_column(default=None)
    job: Mapped[Job] = relationship(back_populates="server_runs")


class LogEntry(Base):
    """One log line. ``seq`` is its place in the job's log, in the order lines were stored
    (1, 2, 3... with no gap; see :data:`LOG_COUNTS`); the writer stores them in batches."""

    __tablename__ = "log_entries"
    __table_args__ = (
        Index("ix_log_entries_job_seq", "job_id", "seq"),
        Index("ix_log_entries_run_seq", "server_run_id", "seq"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    server_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("server_runs.id", ondelete="CASCADE"), default=None
    )
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    level: Mapped[str] = mapped_column(String(8), default="info")
    stream: Mapped[str] = mapped_column(String(8), default="")
    text: Mapped[str] = mapped_column(Text)


class DriftItem(Base):
    """The last collected state of one operation of a configuration plan on one server."""

    __tablename__ = "drift_items"
    __table_args__ = (UniqueConstraint("server_id", "plan_key", "item"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[int] = mapped_column(ForeignKey("servers.id", ondelete="CASCADE"))
    plan_key: Mapped[str] = mapped_column(String(200))
    item: Mapped[str] = mapped_column(Text)
    status: Mapped[DriftStatus] = mapped_column(enum_column(DriftStatus))
    diff: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)


class JobTemplate(Base):
    """Saved job fields that pre-fill a job; ``trigger_key_hash`` lets scripts trigger it."""

    __tablename__ = "job_templates"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_records.id", ondelete="SET NULL"), default=None
    )
    plan_key: Mapped[str] = mapped_column(String(200))
    plan_name: Mapped[str] = mapped_column(String(200))
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    simulation: Mapped[bool] = mapped_column(default=False)
    queue_name: Mapped[str] = mapped_column(String(100), default="default")
    allow_target_override: Mapped[bool] = mapped_column(default=False)
    trigger_key_hash: Mapped[str] = mapped_column(String(128), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Approval(Base):
    """A decision on a job. ``fingerprint`` pins exactly what was requested."""

    __tablename__ = "approvals"
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    decision: Mapped[Decision] = mapped_column(enum_column(Decision))
    decided_by: Mapped[str] = mapped_column(String(100))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    comment: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(64))


def use_postgresql_options() -> None:
    """Give ``ix_jobs_claimable`` its PostgreSQL predicate (the same as SQLite's); idempotent.

    Not in the class: naming a ``postgresql_*`` option makes SQLAlchemy import its whole
    PostgreSQL dialect to check it, about 45 ms of CPU in every process, SQLite ones included.
    The database opener calls this when it opens PostgreSQL, before anything reads the schema.
    """
    index = next(i for i in Base.metadata.tables["jobs"].indexes if i.name == "ix_jobs_claimable")
    index.dialect_options["postgresql"]["where"] = text(CLAIMABLE_SQL)

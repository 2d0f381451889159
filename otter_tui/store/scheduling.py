"""Schedules and their firings: the rows the scheduler reads and writes."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from otter_tui.store.base import Base, enum_column, utcnow
from otter_tui.store.states import FiringState, PlanKind


class Schedule(Base):
    """A recurring rule (cron + IANA zone) that creates jobs. ``next_due_at`` is stored, in UTC."""

    __tablename__ = "schedules"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("plan_records.id", ondelete="SET NULL"), default=None
    )
    plan_key: Mapped[str] = mapped_column(String(200))
    plan_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[PlanKind] = mapped_column(enum_column(PlanKind))
    cron: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    start_at: Mapped[datetime | None] = mapped_column(default=None)
    end_at: Mapped[datetime | None] = mapped_column(default=None)
    targets: Mapped[dict[str, Any]] = mapped_column(default=dict)
    variables: Mapped[dict[str, Any]] = mapped_column(default=dict)
    simulation: Mapped[bool] = mapped_column(default=False)
    queue_name: Mapped[str] = mapped_column(String(100), default="default")
    enabled: Mapped[bool] = mapped_column(default=True)
    once_at: Mapped[datetime | None] = mapped_column(default=None)
    """Set for a one-shot (``--at``): the single instant it fires; ``cron`` is then empty."""
    misfire_policy: Mapped[str] = mapped_column(String(16), default="run_once")
    overlap_policy: Mapped[str] = mapped_column(String(16), default="skip")
    grace_seconds: Mapped[int] = mapped_column(default=3600)
    misfire_cap: Mapped[int] = mapped_column(default=10, server_default="10")
    """With ``run_all``, at most this many missed firings are run after an outage."""
    approval_required: Mapped[bool] = mapped_column(default=False)
    next_due_at: Mapped[datetime | None] = mapped_column(default=None, index=True)
    last_due_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str] = mapped_column(Text, default="", server_default="")
    """Why the scheduler cannot compute firings (a zone gone from tzdata); empty when fine."""
    created_by: Mapped[str] = mapped_column(String(100), default="")
    updated_by: Mapped[str] = mapped_column(String(100), default="", server_default="")
    """Who last saved it; its jobs are requested as this user (with their permissions)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduleFiring(Base):
    """One due firing of a schedule, written before any job starts: the exactly-once key."""

    __tablename__ = "schedule_firings"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at"),
        Index("ix_schedule_firings_state", "state"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column()
    state: Mapped[FiringState] = mapped_column(
        enum_column(FiringState), default=FiringState.PENDING
    )
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None
    )
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

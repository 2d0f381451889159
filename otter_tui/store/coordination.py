"""Rows that coordinate processes sharing one database: who holds a lease, who runs an exclusive
plan on a server. Kept apart from the inventory and job models they refer to only by key."""

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from otter_tui.store.base import Base, utcnow


class ServerLock(Base):
    """A job running an exclusive plan on a server; another job of that plan waits for it.

    A row whose job is no longer running (it ended, or its worker died and it was marked
    ``interrupted``) is stale and taken over by the next job.
    """

    __tablename__ = "server_locks"
    plan_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    server_name: Mapped[str] = mapped_column(String(100), primary_key=True)
    job_id: Mapped[int] = mapped_column()
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)


class Lease(Base):
    """A named lease (the scheduler leader); whoever holds an unexpired one is active."""

    __tablename__ = "leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column()
    acquired_at: Mapped[datetime] = mapped_column(default=utcnow)

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


class InventoryGeneration(Base):
    """One row whose ``token`` changes with every change to what targeting reads.

    Database triggers (migration 0012) set a fresh random token whenever a server, role,
    environment or membership is added, removed, renamed, (de)activated or re-parented, whoever
    writes it: this process, another daemon, the CLI, a raw SQL edit. A process may therefore keep
    its inventory snapshot while the token it was read with is still the stored one. A random
    token, not a counter: a rolled-back change must not leave a value a later change reuses.
    """

    __tablename__ = "inventory_generation"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(36))

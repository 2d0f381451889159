"""The leader lease: one row that says which scheduler may create jobs from schedules.

Whoever holds an unexpired lease is the leader; it renews it well before it expires (every third
of its length). A scheduler that finds someone else's unexpired lease steps back and tries again
when that lease would expire. Taking and renewing are one conditional ``UPDATE`` in a write
transaction (``BEGIN IMMEDIATE`` on SQLite, a row lock on PostgreSQL); the first lease ever is an
``INSERT`` whose primary key makes a second insert fail, so two schedulers can never both win.

The lease is a fence as well as a flag: each dispatch transaction checks, inside itself, that
this holder still holds it (:func:`holds`), so a scheduler that was paused past its lease cannot
create a job after another took over. The unique firing key is the last line of defence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from otter_tui.store.db import Database
from otter_tui.store.models import Lease

SCHEDULER_LEASE = "scheduler"
"""The lease name. Daemon presence rows (``daemon:<holder>``, :mod:`otter_tui.services.presence`)
live in the same table under other names."""


def acquire(db: Database, holder: str, now: datetime, length: timedelta) -> bool:
    """Take or renew the lease for ``holder``; False while someone else holds it."""
    try:
        with db.transaction() as s:
            taken = s.execute(
                update(Lease)
                .where(Lease.name == SCHEDULER_LEASE)
                .where((Lease.holder == holder) | (Lease.expires_at <= now))
                .values(holder=holder, expires_at=now + length)
                .returning(Lease.holder)
            ).first()
            if taken is not None:
                return True
            if s.get(Lease, SCHEDULER_LEASE) is not None:
                return False
            s.add(
                Lease(name=SCHEDULER_LEASE, holder=holder, expires_at=now + length, acquired_at=now)
            )
        return True
    except IntegrityError:  # another scheduler inserted the first lease at the same moment
        return False


def release(db: Database, holder: str, now: datetime) -> None:
    """Let the lease go at once (a clean stop), so another scheduler need not wait it out."""
    with db.transaction() as s:
        s.execute(
            update(Lease)
            .where(Lease.name == SCHEDULER_LEASE, Lease.holder == holder)
            .values(expires_at=now)
        )


def holds(s: Session, holder: str, now: datetime) -> bool:
    """Inside a write transaction: does ``holder`` hold the unexpired lease?"""
    query = select(Lease.holder, Lease.expires_at).where(Lease.name == SCHEDULER_LEASE)
    if s.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = s.execute(query).first()
    return row is not None and row.holder == holder and row.expires_at > now


def current(db: Database) -> tuple[str, datetime] | None:
    """Who holds (or last held) the lease and when it runs out (a follower retries then)."""
    with db.session() as s:
        row = s.execute(
            select(Lease.holder, Lease.expires_at).where(Lease.name == SCHEDULER_LEASE)
        ).first()
        return None if row is None else (row.holder, row.expires_at)

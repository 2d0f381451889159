"""Daemon presence: each running daemon keeps a heartbeat row, so others know it is there.

A daemon writes a ``leases`` row named ``daemon:<holder>`` at start, renews it every third of
``[scheduler] lease_seconds`` and deletes it on a clean stop; a daemon that dies leaves a row that
simply expires. The row's ``holder`` text says who it is, whether it runs a scheduler and which
queues it serves (``host:pid;scheduler=on;queues=default,ops``), so a reader needs one query.

The console reads it: its scheduler steps back while a daemon with a scheduler is alive, and its
worker claims nothing from a queue a live daemon serves (see docs/console.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update

from otter_tui.store.db import Database
from otter_tui.store.models import Lease

PREFIX = "daemon:"
"""Every presence row's name starts with this (the scheduler's lease is named ``scheduler``)."""
ALL_QUEUES = "*"
"""Written instead of the queue list when it would not fit: read as "serves every queue"."""
NAME_LENGTH = 64
HOLDER_LENGTH = 200


@dataclass(frozen=True)
class DaemonPresence:
    """A live daemon as its presence row describes it."""

    holder: str
    """Who it is: ``host:pid``."""
    scheduler: bool
    """Whether it runs a scheduler (``daemon --no-scheduler`` does not)."""
    queues: tuple[str, ...]
    """The queues its worker claims from; ``("*",)`` when unknown (read as every queue)."""
    expires_at: datetime

    def serves(self, queue: str) -> bool:
        return ALL_QUEUES in self.queues or queue in self.queues


def row_name(holder: str) -> str:
    return (PREFIX + holder)[:NAME_LENGTH]


def encode(holder: str, scheduler: bool, queues: Sequence[str]) -> str:
    """The ``holder`` text of a presence row."""
    text = f"{holder};scheduler={'on' if scheduler else 'off'};queues={','.join(queues)}"
    if len(text) <= HOLDER_LENGTH:
        return text
    return f"{holder[:150]};scheduler={'on' if scheduler else 'off'};queues={ALL_QUEUES}"


def decode(text: str, expires_at: datetime) -> DaemonPresence:
    """Read a presence row's ``holder`` text; fields it lacks read as the cautious value."""
    holder, *parts = text.split(";")
    fields = dict(part.partition("=")[::2] for part in parts)
    queues = tuple(q for q in fields.get("queues", ALL_QUEUES).split(",") if q)
    return DaemonPresence(holder, fields.get("scheduler", "on") != "off", queues, expires_at)


def announce(
    db: Database,
    holder: str,
    *,
    scheduler: bool,
    queues: Sequence[str],
    now: datetime,
    length: timedelta,
) -> None:
    """Write or renew ``holder``'s presence until ``now + length``; drop rows long expired."""
    name, text = row_name(holder), encode(holder, scheduler, queues)
    with db.transaction() as s:
        s.execute(delete(Lease).where(Lease.name.like(PREFIX + "%"), Lease.expires_at < now))
        renewed = s.execute(
            update(Lease)
            .where(Lease.name == name)
            .values(holder=text, expires_at=now + length)
            .returning(Lease.name)
        ).first()
        if renewed is None:
            s.add(Lease(name=name, holder=text, expires_at=now + length, acquired_at=now))


def withdraw(db: Database, holder: str) -> None:
    """A clean stop: delete the row at once, so nobody waits for it to expire."""
    with db.transaction() as s:
        s.execute(delete(Lease).where(Lease.name == row_name(holder)))


def alive(db: Database, now: datetime) -> list[DaemonPresence]:
    """Every daemon whose presence has not expired, oldest first."""
    query = (
        select(Lease.holder, Lease.expires_at)
        .where(Lease.name.like(PREFIX + "%"), Lease.expires_at > now)
        .order_by(Lease.acquired_at, Lease.name)
    )
    with db.session() as s:
        return [decode(text, expires) for text, expires in s.execute(query)]


def scheduling_daemon(db: Database, now: datetime) -> DaemonPresence | None:
    """A live daemon that runs a scheduler (the console's scheduler steps back for it)."""
    return next((d for d in alive(db, now) if d.scheduler), None)


def serving_daemon(db: Database, queue: str, now: datetime) -> DaemonPresence | None:
    """A live daemon whose worker claims from ``queue`` (the console leaves it those jobs)."""
    return next((d for d in alive(db, now) if d.serves(queue)), None)


__all__ = [
    "DaemonPresence",
    "alive",
    "announce",
    "scheduling_daemon",
    "serving_daemon",
    "withdraw",
]

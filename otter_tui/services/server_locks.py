"""Per-server exclusive plans: one job of such a plan on a server at a time, across processes.

A job holds a ``server_locks`` row (plan, server) while it runs the plan there. Taking it is a
write transaction that reads the row with a row lock (``BEGIN IMMEDIATE`` on SQLite, ``FOR
UPDATE`` on PostgreSQL); a first insert raced by another process fails on the primary key and
counts as "busy, try again". A row whose job is no longer running is stale (the job ended, or
its worker died and it was marked ``interrupted``) and is taken over, so a crash never leaves a
server locked for good.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from otter_tui.errors import ConflictError
from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory_snapshot import load_inventory
from otter_tui.services.plans import get_record
from otter_tui.store.db import Database
from otter_tui.store.models import Job, JobState, ServerLock
from otter_tui.targeting import TargetSpec, resolve_targets

SOMEONE = 0
"""The holder when a racing process took the lock first and its job is not known yet."""


def acquire(db: Database, plan_key: str, server: str, job_id: int, now: datetime) -> int | None:
    """Take the lock for ``job_id``; None when taken, else the job that holds it."""
    try:
        with db.transaction() as s:
            row = s.get(ServerLock, (plan_key, server), with_for_update=True)
            if row is not None and row.job_id != job_id:
                state = s.scalar(select(Job.state).where(Job.id == row.job_id))
                if state is JobState.RUNNING:
                    return row.job_id
            if row is None:
                s.add(ServerLock(plan_key=plan_key, server_name=server, job_id=job_id))
            else:
                row.job_id, row.acquired_at = job_id, now
        return None
    except IntegrityError:
        return SOMEONE


def release(db: Database, plan_key: str, server: str, job_id: int) -> None:
    with db.transaction() as s:
        s.execute(
            delete(ServerLock).where(
                ServerLock.plan_key == plan_key,
                ServerLock.server_name == server,
                ServerLock.job_id == job_id,
            )
        )


def busy_servers(db: Database, plan_key: str, servers: Iterable[str]) -> dict[str, int]:
    """Which of ``servers`` a running job of ``plan_key`` holds now, and which job."""
    with db.session() as s:
        query = (
            select(ServerLock.server_name, ServerLock.job_id)
            .join(Job, Job.id == ServerLock.job_id)
            .where(ServerLock.plan_key == plan_key, ServerLock.server_name.in_(list(servers)))
            .where(Job.state == JobState.RUNNING)
        )
        return {server: job for server, job in s.execute(query)}


def refuse_if_busy(ctx: ServiceContext, plan: str, targets: TargetSpec) -> None:
    """``run --no-wait``: refuse a job of an exclusive plan while a target server is busy with it.

    Checked when the job is asked for; a server that becomes busy after the check makes the job
    wait as usual.
    """
    with ctx.db.session() as s:
        record = get_record(s, plan)
        if not record.exclusive:
            return
        servers = [t.server for t in resolve_targets(targets, load_inventory(s)) if t.server]
    busy = busy_servers(ctx.db, record.key, servers)
    if busy:
        server, job = min(busy.items())
        raise ConflictError(
            f"server {server} is busy: job {job} runs '{record.name}' there, which is exclusive "
            "per server (run without --no-wait to wait for it)"
        )

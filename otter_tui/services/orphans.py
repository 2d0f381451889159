"""Orphans: running jobs nobody runs any more, and how they end.

A worker that dies (``kill -9``, a lost machine) leaves its jobs ``running``. Any live worker
marks them ``interrupted`` once their lease runs out (:mod:`otter_tui.services.claims`); a cancel
ends one ``cancelled`` at once, since no worker is left to act on a cancel request.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from otter_tui.store.models import Job, JobSlice, JobState, RunState, ServerRun, SliceState


def end_unfinished(s: Session, job: Job, now: datetime, state: JobState, reason: str) -> None:
    """End a job nobody runs any more: it and its unfinished server runs get ``state``."""
    job.state, job.finished_at, job.error = state, now, reason
    s.execute(
        update(ServerRun)
        .where(
            ServerRun.job_id == job.id, ServerRun.state.in_([RunState.PENDING, RunState.RUNNING])
        )
        .values(state=RunState(state.value), finished_at=now)
    )
    if job.slices:
        s.execute(
            update(JobSlice)
            .where(JobSlice.job_id == job.id)
            .where(JobSlice.state.in_([SliceState.QUEUED, SliceState.RUNNING]))
            .values(state=SliceState.INTERRUPTED, finished_at=now)
        )


def is_orphan(job: Job, now: datetime) -> bool:
    """A running job nobody runs: its lease ran out, or its worker was a process of this host
    that is gone (a worker is named ``host:pid``), which is known before the lease runs out.
    A sliced job lives on in its slices' workers after the one that split it: only its lease
    (renewed by every live worker of its queue) says it is orphaned."""
    if job.lease_expires_at is not None and job.lease_expires_at < now:
        return True
    if job.slices:
        return False
    host, _, pid = (job.worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another account
        return False
    return False

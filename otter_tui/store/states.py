"""The states and kinds stored in enum columns (jobs, server runs, drift, firings, decisions)."""

from __future__ import annotations

import enum


class TransportKind(enum.StrEnum):
    SSH = "ssh"
    LOCAL = "local"


class PlanKind(enum.StrEnum):
    CONFIGURATION = "configuration"
    ORCHESTRATION = "orchestration"


class JobState(enum.StrEnum):
    PENDING_APPROVAL = "pending_approval"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WARNING = "warning"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"
    DENIED = "denied"
    EXPIRED = "expired"

    @property
    def finished(self) -> bool:
        return self not in ACTIVE_JOB_STATES


ACTIVE_JOB_STATES = frozenset(
    {JobState.PENDING_APPROVAL, JobState.SCHEDULED, JobState.QUEUED, JobState.RUNNING}
)


class RunState(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    WARNING = "warning"
    FAILED = "failed"
    CANCELLED = "cancelled"
    INTERRUPTED = "interrupted"


class DriftStatus(enum.StrEnum):
    DESIRED = "desired"
    DRIFTED = "drifted"
    UNKNOWN = "unknown"
    ERROR = "error"


class FiringState(enum.StrEnum):
    PENDING = "pending"
    DISPATCHED = "dispatched"
    MISSED = "missed"
    SKIPPED = "skipped"
    QUEUED = "queued"
    FAILED = "failed"


class Decision(enum.StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


class SliceState(enum.StrEnum):
    """A slice of a big job: waiting for a worker, running, or ended (``done``/``interrupted``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    INTERRUPTED = "interrupted"

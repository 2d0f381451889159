"""Slices of a big job: batches of its server runs that any worker of its queue may claim.

A job whose server runs exceed ``jobs.slice_size`` gets ``jobs.slices`` rows here, numbered from
1; each server run names its slice (``server_runs.slice_number``). A slice is claimed, leased and
ended like a job (see :mod:`otter_tui.services.slices`).
"""

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from otter_tui.store.base import Base, enum_column
from otter_tui.store.states import SliceState


class JobSlice(Base):
    """One batch of a job's server runs, run whole by the one worker that claimed it."""

    __tablename__ = "job_slices"
    __table_args__ = (
        Index("ix_job_slices_job_state", "job_id", "state"),
        Index("ix_job_slices_state", "state"),  # claims (queued) and recovery (running)
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    state: Mapped[SliceState] = mapped_column(enum_column(SliceState), default=SliceState.QUEUED)
    worker: Mapped[str | None] = mapped_column(String(200), default=None)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)

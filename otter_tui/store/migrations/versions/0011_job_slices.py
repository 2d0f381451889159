"""Slices of a big job: ``job_slices`` (one row per batch of server runs, claimed and leased by
one worker), ``jobs.slices`` (how many) and ``server_runs.slice_number`` (which batch a run is in).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_slices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "queued",
                "running",
                "done",
                "interrupted",
                name="slicestate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_job_slices_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_slices")),
    )
    op.create_index("ix_job_slices_job_state", "job_slices", ["job_id", "state"])
    op.create_index("ix_job_slices_state", "job_slices", ["state"])
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slices", sa.Integer(), nullable=False, server_default="0"))
    with op.batch_alter_table("server_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slice_number", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("server_runs", schema=None) as batch_op:
        batch_op.drop_column("slice_number")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("slices")
    op.drop_index("ix_job_slices_state", table_name="job_slices")
    op.drop_index("ix_job_slices_job_state", table_name="job_slices")
    op.drop_table("job_slices")

"""Schedules: one-shots (``once_at``), a run_all cap per schedule, who last saved it, an error
the scheduler can show; firings indexed by state (the loop looks for queued ones).

Revision ID: 0004_schedules
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_schedules"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("once_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("misfire_cap", sa.Integer(), server_default="10", nullable=False)
        )
        batch_op.add_column(sa.Column("error", sa.Text(), server_default="", nullable=False))
        batch_op.add_column(
            sa.Column("updated_by", sa.String(length=100), server_default="", nullable=False)
        )
    with op.batch_alter_table("schedule_firings", schema=None) as batch_op:
        batch_op.create_index("ix_schedule_firings_state", ["state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("schedule_firings", schema=None) as batch_op:
        batch_op.drop_index("ix_schedule_firings_state")
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.drop_column("updated_by")
        batch_op.drop_column("error")
        batch_op.drop_column("misfire_cap")
        batch_op.drop_column("once_at")

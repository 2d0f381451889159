"""Jobs indexed by (schedule, state), replacing the index on schedule alone: the scheduler looks
up each due schedule's active jobs, and a schedule's finished jobs pile up over the years.

Revision ID: 0005
Revises: 0004_schedules
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004_schedules"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_schedule_id")
        batch_op.create_index("ix_jobs_schedule_state", ["schedule_id", "state"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_schedule_state")
        batch_op.create_index("ix_jobs_schedule_id", ["schedule_id"], unique=False)

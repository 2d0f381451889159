"""``log_counts``: how many lines each job's log holds. A stored batch of lines takes its
``seq`` numbers from here in its own transaction, so ``seq`` follows the order lines were
stored even when a job's slices write from several processes (a follower reading "after the
last seq I saw" then never skips a line).

Existing jobs start from their highest ``seq``, so a line stored after the upgrade sorts after
every line stored before it.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_counts",
        sa.Column("job_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_log_counts_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("job_id", name=op.f("pk_log_counts")),
    )
    op.execute(
        "INSERT INTO log_counts (job_id, lines) "
        "SELECT job_id, MAX(seq) FROM log_entries GROUP BY job_id"
    )


def downgrade() -> None:
    op.drop_table("log_counts")

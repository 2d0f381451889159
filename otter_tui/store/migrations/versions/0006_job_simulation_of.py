"""A job may be the simulation of a job waiting for approval: ``jobs.simulation_of`` links them,
so the approvals show the latest simulation of what was requested.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("simulation_of", sa.Integer(), nullable=True))
        batch_op.create_index("ix_jobs_simulation_of", ["simulation_of"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_simulation_of")
        batch_op.drop_column("simulation_of")

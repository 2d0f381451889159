"""Several daemons on one database: the ``default`` queue exists from the start.

Jobs of a plan that names no queue wait in ``default``, which used to be made on first use. On
PostgreSQL, two daemons creating their first jobs at the same moment both found it missing and
one failed on the unique name; a row made here is never raced for.

Revision ID: 0009
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "INSERT INTO job_queues (name, backend, concurrency, description) "
        "SELECT 'default', 'local', 4, '' "
        "WHERE NOT EXISTS (SELECT 1 FROM job_queues WHERE name = 'default')"
    )


def downgrade() -> None:
    """The row stays: jobs may wait in it, and ``default`` was always made on first use."""

"""Several daemons on one database: the ``default`` queue exists from the start, on
PostgreSQL a job that may be claimed wakes every listening worker (``NOTIFY otter_jobs``), and
a plan may be exclusive per server (``plan_records.exclusive`` and its override, and the
``server_locks`` a job holds while it runs such a plan on a server). A partial index on the
claimable jobs in ``run_at`` order lets a claim read one entry instead of sorting every waiting
job (10,000 queued jobs: a claim went from a sort of all of them to one index probe).

Jobs of a plan that names no queue wait in ``default``, which used to be made on first use. On
PostgreSQL, two daemons creating their first jobs at the same moment both found it missing and
one failed on the unique name; a row made here is never raced for.

The wake-up is a trigger, not a call in each service: a job becomes claimable when it is created,
approved, edited or re-queued, from the CLI, the console, the API or a scheduler in any process,
and the trigger sees every one. The payload is the job's queue.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


NOTIFY_FUNCTION = """
CREATE FUNCTION otter_notify_job() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('otter_jobs', NEW.queue_name);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER otter_job_claimable AFTER INSERT OR UPDATE OF state, run_at ON jobs
FOR EACH ROW WHEN (NEW.state IN ('queued', 'scheduled'))
EXECUTE FUNCTION otter_notify_job()
"""


def upgrade() -> None:
    with op.batch_alter_table("plan_records", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("exclusive", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(
            sa.Column("exclusive_override", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "server_locks",
        sa.Column("plan_key", sa.String(length=200), nullable=False),
        sa.Column("server_name", sa.String(length=100), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_key", "server_name", name=op.f("pk_server_locks")),
    )
    claimable = sa.text("state IN ('queued', 'scheduled')")
    op.create_index(
        "ix_jobs_claimable",
        "jobs",
        ["run_at", "id"],
        postgresql_where=claimable,
        sqlite_where=claimable,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)
    op.execute(
        "INSERT INTO job_queues (name, backend, concurrency, description) "
        "SELECT 'default', 'local', 4, '' "
        "WHERE NOT EXISTS (SELECT 1 FROM job_queues WHERE name = 'default')"
    )


def downgrade() -> None:
    """The ``default`` row stays: jobs may wait in it, and it was always made on first use."""
    op.drop_index("ix_jobs_claimable", table_name="jobs")
    op.drop_table("server_locks")
    with op.batch_alter_table("plan_records", schema=None) as batch_op:
        batch_op.drop_column("exclusive_override")
        batch_op.drop_column("exclusive")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS otter_job_claimable ON jobs")
        op.execute("DROP FUNCTION IF EXISTS otter_notify_job()")

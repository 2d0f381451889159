"""An index on a log line's server run and order: one server run's lines without a scan.

The console shows the log of the server run under the cursor (its tail, then what follows) and
searches it with the server filter; both filter on ``server_run_id`` and order by ``seq``, and
only ``(job_id, seq)`` was indexed. On a job with 1,000,000 stored lines over 500 server runs
(bench/log_search.py) reading one run's last 5,000 lines took 0.5 s, a scan of the job's lines;
deleting a server run (its lines cascade) scanned the whole table.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_log_entries_run_seq", "log_entries", ["server_run_id", "seq"])


def downgrade() -> None:
    op.drop_index("ix_log_entries_run_seq", table_name="log_entries")

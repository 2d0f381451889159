"""Plans, jobs, server runs, logs, drift, schedules, templates, queues, approvals, leases.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("backend", sa.String(length=32), nullable=False),
        sa.Column("concurrency", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_queues")),
        sa.UniqueConstraint("name", name=op.f("uq_job_queues_name")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acquired_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "plan_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "configuration", "orchestration", name="plankind", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("file", sa.Text(), nullable=False),
        sa.Column("installed", sa.Boolean(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("servers", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("grouping", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("dryrun_default", sa.Boolean(), nullable=False),
        sa.Column("has_sensitive_variables", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("soft_time_limit", sa.Double(), nullable=True),
        sa.Column("time_limit", sa.Double(), nullable=True),
        sa.Column("default_queue", sa.String(length=100), nullable=False),
        sa.Column("eligible_queues", sa.JSON(), nullable=False),
        sa.Column("is_singleton", sa.Boolean(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("grouping_override", sa.Boolean(), nullable=False),
        sa.Column("name_override", sa.Boolean(), nullable=False),
        sa.Column("description_override", sa.Boolean(), nullable=False),
        sa.Column("dryrun_default_override", sa.Boolean(), nullable=False),
        sa.Column("has_sensitive_variables_override", sa.Boolean(), nullable=False),
        sa.Column("hidden_override", sa.Boolean(), nullable=False),
        sa.Column("soft_time_limit_override", sa.Boolean(), nullable=False),
        sa.Column("time_limit_override", sa.Boolean(), nullable=False),
        sa.Column("default_queue_override", sa.Boolean(), nullable=False),
        sa.Column("eligible_queues_override", sa.Boolean(), nullable=False),
        sa.Column("is_singleton_override", sa.Boolean(), nullable=False),
        sa.Column("approval_required_override", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_records")),
        sa.UniqueConstraint("key", name=op.f("uq_plan_records_key")),
    )
    op.create_table(
        "drift_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=False),
        sa.Column("plan_key", sa.String(length=200), nullable=False),
        sa.Column("item", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "desired",
                "drifted",
                "unknown",
                "error",
                name="driftstatus",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("diff", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_drift_items_server_id_servers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drift_items")),
        sa.UniqueConstraint("server_id", "plan_key", "item", name=op.f("uq_drift_items_server_id")),
    )
    op.create_table(
        "job_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("plan_key", sa.String(length=200), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column("queue_name", sa.String(length=100), nullable=False),
        sa.Column("allow_target_override", sa.Boolean(), nullable=False),
        sa.Column("trigger_key_hash", sa.String(length=128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan_records.id"],
            name=op.f("fk_job_templates_plan_id_plan_records"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_templates")),
        sa.UniqueConstraint("name", name=op.f("uq_job_templates_name")),
    )
    op.create_table(
        "schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("plan_key", sa.String(length=200), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "configuration", "orchestration", name="plankind", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("cron", sa.String(length=100), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column("queue_name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("misfire_policy", sa.String(length=16), nullable=False),
        sa.Column("overlap_policy", sa.String(length=16), nullable=False),
        sa.Column("grace_seconds", sa.Integer(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan_records.id"],
            name=op.f("fk_schedules_plan_id_plan_records"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_schedules_name")),
    )
    with op.batch_alter_table("schedules", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_schedules_next_due_at"), ["next_due_at"], unique=False)

    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "configuration", "orchestration", name="plankind", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("plan_id", sa.Integer(), nullable=True),
        sa.Column("plan_key", sa.String(length=200), nullable=False),
        sa.Column("plan_name", sa.String(length=200), nullable=False),
        sa.Column("targets", sa.JSON(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("sensitive_names", sa.JSON(), nullable=False),
        sa.Column("simulation", sa.Boolean(), nullable=False),
        sa.Column("queue_name", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending_approval",
                "scheduled",
                "queued",
                "running",
                "succeeded",
                "warning",
                "failed",
                "cancelled",
                "interrupted",
                "denied",
                "expired",
                name="jobstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("requested_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=200), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("approval_required", sa.Boolean(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan_records.id"],
            name=op.f("fk_jobs_plan_id_plan_records"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_jobs_schedule_id_schedules"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["template_id"],
            ["job_templates.id"],
            name=op.f("fk_jobs_template_id_job_templates"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_jobs_created_at"), ["created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_plan_id"), ["plan_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_jobs_schedule_id"), ["schedule_id"], unique=False)
        batch_op.create_index(
            "ix_jobs_state_queue", ["state", "queue_name", "run_at"], unique=False
        )

    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column(
            "decision",
            sa.Enum("approved", "denied", name="decision", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("decided_by", sa.String(length=100), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_approvals_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_approvals")),
    )
    with op.batch_alter_table("approvals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_approvals_job_id"), ["job_id"], unique=False)

    op.create_table(
        "schedule_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "dispatched",
                "missed",
                "skipped",
                "queued",
                "failed",
                name="firingstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("job_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_schedule_firings_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_firings_schedule_id_schedules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_firings")),
        sa.UniqueConstraint("schedule_id", "due_at", name=op.f("uq_schedule_firings_schedule_id")),
    )
    op.create_table(
        "server_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("server_id", sa.Integer(), nullable=True),
        sa.Column("server_name", sa.String(length=100), nullable=False),
        sa.Column("role_name", sa.String(length=100), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "pending",
                "running",
                "succeeded",
                "warning",
                "failed",
                "cancelled",
                "interrupted",
                name="runstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("unknowns", sa.Integer(), nullable=False),
        sa.Column("warnings", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_server_runs_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["server_id"],
            ["servers.id"],
            name=op.f("fk_server_runs_server_id_servers"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_server_runs")),
    )
    with op.batch_alter_table("server_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_server_runs_job_id"), ["job_id"], unique=False)

    op.create_table(
        "log_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("server_run_id", sa.Integer(), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("stream", sa.String(length=8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name=op.f("fk_log_entries_job_id_jobs"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["server_run_id"],
            ["server_runs.id"],
            name=op.f("fk_log_entries_server_run_id_server_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_log_entries")),
    )
    with op.batch_alter_table("log_entries", schema=None) as batch_op:
        batch_op.create_index("ix_log_entries_job_seq", ["job_id", "seq"], unique=False)


def downgrade() -> None:
    op.drop_table("log_entries")
    op.drop_table("server_runs")
    op.drop_table("schedule_firings")
    op.drop_table("approvals")
    op.drop_table("jobs")
    op.drop_table("schedules")
    op.drop_table("job_templates")
    op.drop_table("drift_items")
    op.drop_table("plan_records")
    op.drop_table("leases")
    op.drop_table("job_queues")

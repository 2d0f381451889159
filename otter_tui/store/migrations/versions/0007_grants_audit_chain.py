"""Scoped grants, and an audit trail that is verifiable and append-only.

``user_permissions`` gets a scope (``scope_kind``: environment, role or plan; ``scope_name``), and
a user may hold the same permission in several scopes. ``audit_events`` gets before/after for
edits, a hash chain (each event stores the hash of the one before), and triggers that refuse
UPDATE and DELETE.

Events written before this revision are chained here, in id order, so ``audit verify`` covers
the whole trail.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from otter_tui.store.audit_chain import GENESIS, event_hash
from otter_tui.store.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

APPEND_ONLY = "audit events are append-only"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER audit_events_no_{verb.lower()} BEFORE {verb} ON audit_events
    BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END"""
    for verb in ("UPDATE", "DELETE")
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION audit_events_append_only() RETURNS trigger AS $$
    BEGIN RAISE EXCEPTION '{APPEND_ONLY}'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
]


def upgrade() -> None:
    with op.batch_alter_table("user_permissions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("scope_kind", sa.String(16), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("scope_name", sa.String(200), nullable=False, server_default="")
        )
        batch_op.drop_constraint("uq_user_permissions_user_id", type_="unique")
        batch_op.create_unique_constraint(
            "uq_user_permissions_user_id", ["user_id", "permission", "scope_kind", "scope_name"]
        )
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("before", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("after", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sa.String(64), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("hash", sa.String(64), nullable=False, server_default=""))
    _chain_existing_events()
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in SQLITE_TRIGGERS if sqlite else POSTGRES_TRIGGERS:
        op.execute(statement)


def _chain_existing_events() -> None:
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer()),
        sa.column("at", UTCDateTime()),
        *(sa.column(name, sa.String()) for name in ("actor", "action", "object_type")),
        sa.column("object_name", sa.String()),
        sa.column("detail", sa.JSON()),
        sa.column("prev_hash", sa.String()),
        sa.column("hash", sa.String()),
    )
    bind = op.get_bind()
    previous = GENESIS
    for row in bind.execute(sa.select(events).order_by(events.c.id)).mappings().all():
        content = (row["actor"], row["action"], row["object_type"], row["object_name"])
        digest = event_hash(previous, row["at"], *content, row["detail"], None, None)
        update = events.update().where(events.c.id == row["id"])
        bind.execute(update.values(prev_hash=previous, hash=digest))
        previous = digest


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER audit_events_no_update")
        op.execute("DROP TRIGGER audit_events_no_delete")
    else:
        op.execute("DROP TRIGGER audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION audit_events_append_only()")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        for name in ("hash", "prev_hash", "after", "before"):
            batch_op.drop_column(name)
    op.execute("DELETE FROM user_permissions WHERE scope_kind != ''")
    with op.batch_alter_table("user_permissions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_user_permissions_user_id", type_="unique")
        batch_op.create_unique_constraint("uq_user_permissions_user_id", ["user_id", "permission"])
        batch_op.drop_column("scope_name")
        batch_op.drop_column("scope_kind")

"""``inventory_generation``: a token that every inventory change replaces, set by triggers, so a
process can keep its inventory snapshot between jobs and still see every change at once.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WATCHED = {
    "servers": ("name", "active"),
    "roles": ("name",),
    "environments": ("name", "parent_id"),
    "server_roles": ("server_id", "role_id"),
    "server_environments": ("server_id", "environment_id"),
}
"""The tables targeting reads, and the columns of each whose update changes what it reads."""

VERBS = ("insert", "delete", "update")
SQLITE_BUMP = "UPDATE inventory_generation SET token = lower(hex(randomblob(16)))"
POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION inventory_generation_bump() RETURNS trigger AS $$
    BEGIN UPDATE inventory_generation SET token = gen_random_uuid()::text; RETURN NULL; END;
    $$ LANGUAGE plpgsql"""


def _event(verb: str, table: str) -> str:
    return f"UPDATE OF {', '.join(WATCHED[table])}" if verb == "update" else verb.upper()


def sqlite_triggers() -> list[str]:
    """Row triggers (SQLite has no statement-level ones): one per table and verb."""
    return [
        f"CREATE TRIGGER inventory_generation_{table}_{verb} AFTER {_event(verb, table)} "
        f"ON {table} BEGIN {SQLITE_BUMP}; END"
        for table in WATCHED
        for verb in VERBS
    ]


def postgres_triggers() -> list[str]:
    """Statement triggers: a bulk import bumps the token once per statement, not per row."""
    events = {table: " OR ".join(_event(verb, table) for verb in VERBS) for table in WATCHED}
    return [POSTGRES_FUNCTION] + [
        f"CREATE TRIGGER inventory_generation_{table} AFTER {events[table]} ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION inventory_generation_bump()"
        for table in WATCHED
    ]


def upgrade() -> None:
    table = op.create_table(
        "inventory_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=36), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "token": "initial"}])
    sqlite = op.get_bind().dialect.name == "sqlite"
    for statement in sqlite_triggers() if sqlite else postgres_triggers():
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table in WATCHED:
            for verb in VERBS:
                op.execute(f"DROP TRIGGER inventory_generation_{table}_{verb}")
    else:
        for table in WATCHED:
            op.execute(f"DROP TRIGGER inventory_generation_{table} ON {table}")
        op.execute("DROP FUNCTION inventory_generation_bump()")
    op.drop_table("inventory_generation")

"""Alembic environment: always run with a connection handed in by ``otter_tui.store.db``."""

from __future__ import annotations

from alembic import context

from otter_tui.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()

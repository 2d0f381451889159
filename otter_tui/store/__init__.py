"""State in SQL: typed models, the database opener and Alembic migrations."""

from otter_tui.store.db import Database, open_database

__all__ = ["Database", "open_database"]

"""State in SQL: typed models, the database opener and Alembic migrations."""

from otter_tui.store import api_models as api_models  # registers the API's table on Base
from otter_tui.store.db import Database, open_database

__all__ = ["Database", "open_database"]

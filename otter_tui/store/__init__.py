"""State in SQL: typed models, the database opener and Alembic migrations.

Every mapped class is defined once this package is imported, so the mappers are configured
here too: whoever imports the store (a command, under :func:`otter_tui.heap.collector_paused`)
pays for it inside that block, with the collector off and the result frozen with the rest of
the import, rather than in the first query, where it ran with the collector on (a one-server
``otter-tui run``: ~10 M instructions fewer).
"""

from sqlalchemy.orm import configure_mappers

from otter_tui.store import api_models as api_models  # registers the API's table on Base
from otter_tui.store.db import Database, open_database

configure_mappers()

__all__ = ["Database", "open_database"]

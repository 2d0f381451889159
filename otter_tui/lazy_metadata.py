"""``importlib.metadata`` imported when it is first used, not when SQLAlchemy is imported.

SQLAlchemy imports ``importlib.metadata`` at its own import (to look dialect plugins up by entry
point, which a built-in SQLite or PostgreSQL URL never does), and that drags in ``email``,
``zipfile``, ``csv`` and friends: ~40 M instructions (~3.5%) of ``import sqlalchemy.orm``, paid
by every ``otter-tui`` command that touches the database and used by none of them. The
installed command (:mod:`otter_tui.entry`) puts a stand-in module under that name before
anything imports it; the first attribute read from it (``version``, ``entry_points``, ...)
imports the real module, which takes its place in ``sys.modules`` and in the ``importlib``
package, and the stand-in then answers as the real one does. A program embedding otter-tui
keeps its interpreter as it was: nothing here runs unless the entry point calls it.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

NAME = "importlib.metadata"


class _StandIn(types.ModuleType):
    """Loads the real module at the first attribute it is asked for."""

    def __getattr__(self, attribute: str) -> Any:
        real = _load_real(self)
        return getattr(real, attribute)


def _load_real(stand_in: types.ModuleType) -> types.ModuleType:
    if sys.modules.get(NAME) is stand_in:
        del sys.modules[NAME]
    real = importlib.import_module(NAME)
    stand_in.__dict__.update(real.__dict__)
    return real


def defer() -> None:
    """Put the stand-in in place, unless the real module is already imported."""
    if NAME in sys.modules:
        return
    stand_in = _StandIn(NAME, "Stand-in for importlib.metadata until it is first used.")
    sys.modules[NAME] = stand_in
    importlib.metadata = stand_in

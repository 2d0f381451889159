"""Typed errors a user can cause.

Every error here carries a one-line message naming the bad thing. The CLI and the TUI show that
line and never a traceback; so for a database busy or away (:func:`database_trouble`); anything
else is a bug and is logged with its traceback.
"""

from __future__ import annotations

import sys


class OtterError(Exception):
    """Base for errors caused by user input or by the outside world, shown as one line."""

    exit_code = 1


class UsageError(OtterError):
    """Bad input: a malformed value, an unknown name, a duplicate. CLI exit code 2."""

    exit_code = 2


class ConfigError(UsageError):
    """config.toml is missing a value, has an unknown key, or a value of the wrong type."""


class NotFoundError(UsageError):
    """A named thing (server, role, plan, job...) does not exist."""


class ConflictError(UsageError):
    """The name is taken, or the action conflicts with the current state."""


class PermissionDenied(OtterError):
    """The user may not do this."""


class StoreError(OtterError):
    """The database cannot be opened or upgraded (corrupt, foreign, or too new)."""


class TransportError(OtterError):
    """A server could not be reached, logged in to, or trusted."""


class HostKeyError(TransportError):
    """The server's host key is unknown or has changed."""


def database_trouble(exc: BaseException | None) -> str | None:
    """The one line for a database that is busy (another process holds SQLite's write lock past
    the busy timeout) or away (a PostgreSQL restart): no bug, so no traceback, in every front
    end. None for anything else, and without loading SQLAlchemy if nothing has."""
    if exc is None or "sqlalchemy" not in sys.modules:  # no database was touched
        return None
    from otter_tui.store.outage import trouble

    return trouble(exc)

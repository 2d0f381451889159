"""Log records as a person reads them at a shell: one line each on stderr, not Python's raw output.

A command (``otter-tui run``, ``drift check``...) installs no log handler of its own, so what the
engine or a library logs while it works reached stderr through Python's last-resort handler: the
bare message, or a whole traceback for a record with an exception (SQLAlchemy's pool logs one
when a PostgreSQL restart drops a connection under a command). :func:`install` replaces that
last resort, so such a record is one line::

    otter-tui: warning: database busy; retrying _store_runs in 0.2s
    otter-tui: warning: a broken database connection was discarded (server closed the connection)

It acts only where nothing else handles a record: the daemon and the API process send
everything to their logfmt handler (:mod:`otter_tui.logfmt`), and under pytest the
capture handlers take it. :class:`ForeignRecords` is the rule both share for other libraries'
records.
"""

from __future__ import annotations

import logging
import sys

from otter_tui.errors import database_trouble

PREFIX = "otter-tui"


class ForeignRecords(logging.Filter):
    """What a handler takes from other libraries: their warnings and errors, never their chatter.

    One is made quieter: when the database drops a connection (a PostgreSQL restart), SQLAlchemy's
    pool logs an error with a traceback for the rollback it could not send on it before it
    discards it. The store's outage lines already say the connection was lost and came back, so
    this is one warning line, without the traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _ours(record):
            return True
        if record.levelno < logging.WARNING:
            return False
        exc = record.exc_info[1] if record.exc_info else None
        if record.name.startswith("sqlalchemy.pool") and exc is not None:
            from otter_tui.store.outage import is_unavailable, reason  # the pool's: it is loaded

            if is_unavailable(exc):
                record.levelno, record.levelname = logging.WARNING, "WARNING"
                said = f"a broken database connection was discarded ({reason(exc)})"
                record.msg, record.args = said, ()
                record.exc_info, record.exc_text = None, None
        return True


class OneLineFormatter(logging.Formatter):
    """``otter-tui: warning: message (Error: its first line)``: :func:`one_line` after the level.

    otter-tui's own records with an exception keep the traceback: those are bugs (an engine
    error, a crashed job), and the traceback is what a bug report needs. Unless the exception
    is the database busy or going away (a PostgreSQL restart under a command): that is no bug,
    and the store's outage lines say the rest.
    """

    def format(self, record: logging.LogRecord) -> str:
        text = f"{PREFIX}: {record.levelname.lower()}: {one_line(record)}"
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _ours(record) and not database_trouble(exc):
            return f"{text}\n{self.formatException(record.exc_info)}"  # type: ignore[arg-type]
        return text


def one_line(record: logging.LogRecord) -> str:
    """The record's message on one line, with its exception's type and first line after it."""
    message = " ".join(record.getMessage().split("\n"))
    exc = record.exc_info[1] if record.exc_info else None
    return message if exc is None else f"{message} ({exception_line(exc)})"


def exception_line(exc: BaseException) -> str:
    """``ValueError: the first line of its message`` (a driver's error runs to several lines:
    the SQL, a web address)."""
    said = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {said[0]}" if said else type(exc).__name__


class StderrLines(logging.Handler):
    """Writes to whatever ``sys.stderr`` is when a record comes (a test or the console may have
    replaced it since), as Python's own last resort does."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.setFormatter(OneLineFormatter())
        self.addFilter(ForeignRecords())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
            sys.stderr.flush()
        except Exception:  # a closed stderr must not end the command
            self.handleError(record)


def install() -> None:
    """Make :class:`StderrLines` the handler of last resort (records no handler took)."""
    if not isinstance(logging.lastResort, StderrLines):
        logging.lastResort = StderrLines()


def _ours(record: logging.LogRecord) -> bool:
    return record.name == "otter_tui" or record.name.startswith("otter_tui.")

"""The console's own log, ``<data_dir>/console.log``: what its worker and scheduler did, and
every error with its traceback.

A command prints its records on stderr and the daemon on stdout, but under Textual neither is
the terminal: a warning reaches the operator as a notification (``screens/log_toasts.py``, one
line), and an unexpected error's traceback, the one thing a bug report needs, went nowhere.
While the console is open its records go to this file too, in the daemon's logfmt (one line
each, the traceback escaped into ``exc=``): otter-tui's own from ``info`` up (jobs claimed and
ended, scheduler rounds), other libraries' warnings and errors. It is rotated at 1 MB, three
old files kept (``console.log.1``...). Job log lines are not in it: they are in the database.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path

from otter_tui.log_lines import ForeignRecords
from otter_tui.logfmt import Clock, LogfmtFormatter

NAME = "console.log"
MAX_BYTES = 1_000_000
"""The file is rotated past this size..."""
BACKUPS = 3
"""...and this many old ones are kept."""


@dataclass
class LogFile:
    """A log file receiving the process's records until :meth:`close`."""

    handler: RotatingFileHandler
    previous_level: int
    """The ``otter_tui`` logger's level before, put back on close."""

    def close(self) -> None:
        logging.getLogger().removeHandler(self.handler)
        logging.getLogger("otter_tui").setLevel(self.previous_level)
        self.handler.close()


def open_log_file(data_dir: Path, clock: Clock) -> LogFile | str:
    """Start writing the process's records to ``data_dir/console.log``; what went wrong in one
    line (the console goes on without the file) when it cannot be opened."""
    path = data_dir / NAME
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8"
        )
    except OSError as exc:
        return f"no console log: cannot write {path} ({exc.strerror or exc})"
    handler.setLevel(logging.INFO)
    handler.setFormatter(LogfmtFormatter(clock))
    handler.addFilter(ForeignRecords())
    ours = logging.getLogger("otter_tui")
    previous = ours.level
    if ours.getEffectiveLevel() > logging.INFO:
        ours.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    return LogFile(handler, previous)

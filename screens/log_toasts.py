"""What the engine and libraries log while the console is open: a notification, not lost.

A command prints such records on stderr (:mod:`otter_tui.log_lines`) and the daemon writes them
to its log, but under Textual stderr is not the terminal: the console's job runner warning that
the database is busy, a job's engine error or a connection a PostgreSQL restart dropped went
nowhere. While the app runs, :class:`ToastHandler` makes each warning or error a notification,
in the command line's words (:func:`otter_tui.log_lines.one_line`: no traceback).

A record can come from any thread (the database thread retries a busy write), so it is handed to
the app's event loop. The same text again within :data:`REPEAT_SECONDS` is not shown again: a
retry loop warns each time round, and a screen of identical toasts hides the one that matters.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.notifications import SeverityLevel

from otter_tui.log_lines import ForeignRecords, one_line

REPEAT_SECONDS = 30.0
"""A text shown is not shown again before this many seconds."""
SHOW_SECONDS = 15
"""How long a notification stays (errors: twice as long)."""


class ToastHandler(logging.Handler):
    """Log records (warnings and errors) as the app's notifications."""

    def __init__(self, app: App[Any], clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(logging.WARNING)
        self.app = app
        self.loop = asyncio.get_running_loop()
        """The app's loop: records from other threads are handed to it."""
        self.clock = clock
        self.shown: dict[str, float] = {}
        """Each text shown, and when (``clock``)."""
        self.addFilter(ForeignRecords())

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("screens."):  # a screen says its own failures where they are
            return
        try:
            text = one_line(record)
        except Exception:  # a record whose arguments do not fit its message
            self.handleError(record)
            return
        severity: SeverityLevel = "error" if record.levelno >= logging.ERROR else "warning"
        try:
            self.loop.call_soon_threadsafe(self._show, text, severity)
        except RuntimeError:  # the app's loop has ended: nobody to show it to
            return

    def _show(self, text: str, severity: SeverityLevel) -> None:
        """On the app's loop: notify, unless the same text was shown a moment ago."""
        now = self.clock()
        last = self.shown.get(text)
        if last is not None and now - last < REPEAT_SECONDS:
            return
        self.shown = {seen: at for seen, at in self.shown.items() if now - at < REPEAT_SECONDS}
        self.shown[text] = now
        timeout = SHOW_SECONDS * (2 if severity == "error" else 1)
        self.app.notify(text, severity=severity, markup=False, timeout=timeout)


def install(app: App[Any], clock: Callable[[], float] = time.monotonic) -> ToastHandler:
    """Show log records as notifications from now on (on the root logger: the core's and every
    library's); call from the app's loop. :func:`uninstall` when the app stops."""
    handler = ToastHandler(app, clock)
    logging.getLogger().addHandler(handler)
    return handler


def uninstall(handler: ToastHandler) -> None:
    logging.getLogger().removeHandler(handler)

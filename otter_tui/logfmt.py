"""The daemon's log (and the console's file, ``log_file``): one ``key=value`` line per event,
greppable and parseable.

    2026-11-30T12:00:00.000Z level=info event=job.claimed job=42 plan=deploy.Deploy queue=default

Every line starts with the UTC time and ``level=``; the daemon's own events carry ``event=`` and
their fields. Lines from the rest of the core (the engine, the worker) arrive through ``logging``
and get ``event=log logger=...``: a message that is already ``key=value`` pairs is kept as is,
any other message becomes ``msg="..."``. Values with spaces, quotes or ``=`` are double-quoted with
backslash escapes, and newlines (a traceback, say) are escaped, so an event is always one line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from otter_tui.log_lines import ForeignRecords

LOGGER = "otter_tui.daemon"
BARE = re.compile(r"^[A-Za-z0-9_.:/@+,-]+$")
PAIRS = re.compile(r"^[a-z_][a-z0-9_.]*=\S+( [a-z_][a-z0-9_.]*=\S+)*$")

Clock = Callable[[], datetime]


def quote(value: object) -> str:
    """A value as logfmt writes it: bare when it can be, else double-quoted and escaped."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        value = ",".join(str(v) for v in value)
    text = str(value)
    if BARE.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f'"{escaped}"'


def timestamp(at: datetime) -> str:
    """UTC, millisecond precision, ``Z`` suffix: lines sort by time as text."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def line(at: datetime, level: str, event: str, fields: Mapping[str, object]) -> str:
    pairs = " ".join(f"{key}={quote(value)}" for key, value in fields.items())
    head = f"{timestamp(at)} level={level} event={quote(event)}"
    return f"{head} {pairs}" if pairs else head


class LogfmtFormatter(logging.Formatter):
    """Renders daemon events and foreign log records as one logfmt line each."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname.lower()
        event = getattr(record, "event", None)
        fields: dict[str, object] = dict(getattr(record, "fields", {}))
        if event is None:
            event, fields = "log", _foreign_fields(record)
        if record.exc_info:
            fields["exc"] = self.formatException(record.exc_info)
        return line(self.clock(), level, event, fields)


def _foreign_fields(record: logging.LogRecord) -> dict[str, object]:
    message = record.getMessage()
    logger = record.name.removeprefix("otter_tui.")
    if PAIRS.match(message):
        pairs = (pair.partition("=") for pair in message.split(" "))
        return {"logger": logger, **{key: value for key, _, value in pairs}}
    return {"logger": logger, "msg": message}


def emit(event: str, level: int = logging.INFO, *, exc_info: bool = False, **fields: Any) -> None:
    """Log one daemon event with its fields (``job=42 plan=...``)."""
    extra = {"event": event, "fields": fields}
    logging.getLogger(LOGGER).log(level, event, extra=extra, exc_info=exc_info)


def setup_logging(stream: IO[str], clock: Clock, level: str = "info") -> logging.Handler:
    """Send every ``otter_tui`` log record, and other libraries' warnings and errors, to
    ``stream`` as logfmt; returns the handler."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(LogfmtFormatter(clock))
    handler.addFilter(ForeignRecords())
    root = logging.getLogger("otter_tui")
    root.addHandler(handler)
    root.setLevel(level.upper())
    root.propagate = False
    logging.getLogger().addHandler(handler)
    return handler


def teardown_logging(handler: logging.Handler) -> None:
    logging.getLogger().removeHandler(handler)
    root = logging.getLogger("otter_tui")
    root.removeHandler(handler)
    root.propagate = True
    handler.flush()

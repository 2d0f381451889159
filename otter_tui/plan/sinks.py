"""Where a run's human lines and command output go, with secrets masked on the way out.

The engine hands a plan run two callables: a log sink ``(level, text)`` for lines a person
reads ("would change: file /etc/motd") and the transport's line sink for command output. Both
are wrapped here so that no secret value reaches either, whatever a plan or a server prints.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

from otter_tui.transport.base import BatchSink, LineSink, Stream, mask

LogSink = Callable[[str, str], None]
"""``log(level, text)``: one human-readable line; level is one of the constants below."""

DEBUG = "debug"
INFO = "info"
WARNING = "warning"
ERROR = "error"


def masked_log(log: LogSink, secrets: Sequence[str]) -> LogSink:
    """A log sink that masks ``secrets`` and splits multi-line text into lines."""
    values = tuple(s for s in secrets if s)

    def sink(level: str, text: str) -> None:
        for piece in mask(text, values).splitlines() or [""]:
            log(level, piece)

    return sink


def masked_lines(on_line: LineSink | None, secrets: Sequence[str]) -> LineSink | None:
    """The transport's output sink with ``secrets`` masked (``None`` stays ``None``)."""
    if on_line is None:
        return None
    values = tuple(s for s in secrets if s)
    if not values:  # nothing to mask: no extra call per output line
        return on_line
    if isinstance(on_line, BatchSink):  # keep the batch path (one call per read), masked
        batch = on_line.lines
        return BatchSink(lambda stream, lines: batch(stream, [mask(s, values) for s in lines]))
    target = on_line

    def sink(stream: Stream, line: str) -> Awaitable[None] | None:
        return target(stream, mask(line, values))  # the sink's backpressure, passed on

    return sink


def log_diff(log: LogSink, level: str, diff: str) -> None:
    """Each line of a diff, indented under the line that announced it."""
    for piece in diff.splitlines():
        log(level, f"  {piece}")

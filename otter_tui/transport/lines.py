"""Bytes in, lines out: what every transport does with a command's output as it arrives.

:func:`pump_lines` reads a stream in chunks and hands each complete line to the run's sink;
:class:`OutputTail` keeps the bounded copy a ``CommandResult`` carries; :class:`Release` lets a
command being stopped read its last output past backpressure. Split from ``local.py`` (which
re-exports them) when a read's lines started going to the sink as one batch.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from otter_tui.transport.base import BatchSink, LineSink, LinesSink, Stream

DEFAULT_OUTPUT_CAP = 4 * 1024 * 1024
"""Characters of each stream a ``CommandResult`` keeps (the newest ones); the sink sees all."""
COMPACT_PARTS = 512
"""How many parts :class:`OutputTail` keeps before joining them into one."""
READ_CHUNK = 64 * 1024
MAX_LINE = 1024 * 1024
"""A line longer than this is handed on in pieces, so one endless line cannot fill memory."""
SINK_BATCH = 64
"""Most lines handed to a :class:`BatchSink` in one call. A 64 KiB read of short lines holds
thousands; the log's backpressure is checked between calls, so a small batch keeps what 100
servers can push past the high-water mark (and so the arrival-to-stored delay) small, while
already cutting the per-line calls, clock reads and counter updates 64-fold."""

ReadChunk = Callable[[int], Awaitable[bytes]]


class OutputTail:
    """The newest ``cap`` characters of one output stream.

    A command may print gigabytes; the sink gets every line, but the result keeps only the tail,
    which is what an operator reads first. Dropped output is announced in the first line.
    """

    def __init__(self, cap: int = DEFAULT_OUTPUT_CAP) -> None:
        self._cap = cap
        self._parts: deque[str] = deque()
        self._size = 0
        self.dropped = 0
        """Characters dropped from the front so far."""

    def add(self, part: str) -> None:
        """Append ``part`` (one or more lines); the oldest lines go once over the cap.

        The newest line always stays whole. Every :data:`COMPACT_PARTS` parts are joined into
        one string: a part per output line cost about 60 bytes of object overhead per line,
        which for 100 servers printing 10,000 lines each was more memory than the text itself."""
        self._parts.append(part)
        self._size += len(part)
        if len(self._parts) >= COMPACT_PARTS:
            self._parts = deque(("".join(self._parts),))
        while self._size > self._cap:
            cut = self._front_cut(self._size - self._cap)
            if cut == 0:
                break
            first = self._parts[0]
            if cut < len(first):
                self._parts[0] = first[cut:]
            else:
                self._parts.popleft()
            self._size -= cut
            self.dropped += cut

    def _front_cut(self, over: int) -> int:
        """How much of the first part to drop: at least ``over`` characters, up to a line's
        end; 0 when that would leave nothing of the newest line."""
        first = self._parts[0]
        cut = len(first)
        if cut > over:  # a joined part: drop just enough of it, up to a line's end
            cut = first.find("\n", over - 1) + 1 or cut
        if len(self._parts) > 1 or cut < len(first):
            return cut
        # The only part, and the cut would take all of it: keep its last line.
        return first.rfind("\n", 0, len(first) - 1) + 1

    def text(self) -> str:
        """What was kept, preceded by a note when anything was dropped."""
        body = "".join(self._parts)
        if self.dropped:
            return f"[otter: {self.dropped} earlier characters not kept]\n{body}"
        return body


async def pump_lines(
    read: ReadChunk,
    stream: Stream,
    on_line: LineSink | None,
    tail: OutputTail,
    release: Release | None = None,
) -> None:
    """Read ``read`` to its end, giving each line to ``on_line`` as soon as it is complete.

    Reads in chunks rather than with ``readline`` so that a huge line neither raises (asyncio's
    line limit) nor grows without bound. Bytes are decoded as UTF-8, invalid ones replaced; a
    read's complete lines are decoded (and kept in the tail) together, and a
    :class:`BatchSink` gets them in batches of :data:`SINK_BATCH`, a plain sink line by line.

    When the sink returns an awaitable (backpressure), nothing more is read or handed on until
    it is done, so the command blocks writing to a full pipe or SSH window. Once ``release`` is
    set (the command is being stopped) the pump no longer waits: the dying command's last lines
    are read at once, so its channel can close and the stop is not held up by a slow store.
    """
    deliver = _Deliver(stream, on_line, release)
    pending = b""
    while chunk := await read(READ_CHUNK):
        data = pending + chunk if pending else chunk
        end = data.rfind(b"\n") + 1
        if end:
            text = data[:end].decode("utf-8", errors="replace")
            tail.add(text)
            await deliver.text(text)
        pending = data[end:]
        while len(pending) >= MAX_LINE:
            piece = pending[:MAX_LINE].decode("utf-8", errors="replace")
            tail.add(piece)
            await deliver([piece])
            pending = pending[MAX_LINE:]
    if pending:
        last = pending.decode("utf-8", errors="replace")
        tail.add(last)
        deliver.last(last)


class _Deliver:
    """Hands lines to the sink, waiting out its backpressure between calls."""

    __slots__ = ("_batch", "_line", "_release", "_stream")

    def __init__(self, stream: Stream, on_line: LineSink | None, release: Release | None) -> None:
        self._stream = stream
        self._line = on_line
        self._batch: LinesSink | None = on_line.lines if isinstance(on_line, BatchSink) else None
        self._release = release

    async def text(self, text: str) -> None:
        """Every line of ``text`` (which ends with a newline), :data:`SINK_BATCH` at a time.

        Split a batch at a time, not all at once: a read can hold a server's whole output
        (``seq 1 10000`` is one 49 KB read), and 100 servers' reads split into a string per line
        while backpressure held them were most of the process's peak RSS (10,000 strings of
        ~55 bytes for 49 KB of text, per server)."""
        start, size = 0, len(text)
        while start < size:
            end = start
            for _ in range(SINK_BATCH):
                end = text.find("\n", end) + 1
                if end == size:
                    break
            await self(text[start : end - 1].split("\n"))
            start = end

    async def __call__(self, lines: list[str]) -> None:
        stream, batch = self._stream, self._batch
        if batch is not None:
            if (waiting := batch(stream, lines)) is not None:
                await self._held(waiting)
        elif (sink := self._line) is not None:
            for line in lines:
                if (waiting := sink(stream, line)) is not None:
                    await self._held(waiting)

    def last(self, line: str) -> None:
        """The final unterminated line: handed on without waiting (nothing more to read)."""
        if self._line is not None:
            self._line(self._stream, line)

    async def _held(self, waiting: Awaitable[None]) -> None:
        if self._release is None:
            await waiting
        else:
            await self._release.hold(waiting)


class Release:
    """Set when a command is being stopped: its readers stop honouring backpressure.

    A reader held by backpressure awaits the sink's awaitable directly (no extra task: it is
    held thousands of times a second under load); setting the release cancels just that wait,
    and the reader reads on, so the dying command's last output is taken and its pipe or channel
    can close without waiting for a slow store.
    """

    def __init__(self) -> None:
        self.is_set = False
        self._held: set[asyncio.Task[Any]] = set()

    def set(self) -> None:
        self.is_set = True
        for task in self._held:
            task.cancel()

    async def hold(self, waiting: Awaitable[None]) -> None:
        """Await ``waiting`` unless or until the release is set."""
        if self.is_set:
            return
        task = asyncio.current_task()
        assert task is not None
        self._held.add(task)
        try:
            await waiting
        except asyncio.CancelledError:
            # Only the release's own cancel is absorbed; any other one still propagates.
            if not self.is_set or task.uncancel() > 0:
                raise
        finally:
            self._held.discard(task)

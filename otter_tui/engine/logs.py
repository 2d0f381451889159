"""Log lines: numbered as they arrive, published in batches, stored in batches, never dropped.

A server run's output arrives line by line from a transport callback (synchronous, on the loop).
:class:`JobLog` numbers each line (``seq``, per job, so a job's log reads back in order), keeps it
in a buffer, and a flusher publishes the buffer as one :class:`LogLines` event every
``batch_ms`` or ``batch_lines``, whichever comes first. :class:`LogWriter` is a durable
subscriber: it stores each batch with one multi-row insert. SQLite takes ~3,600 single-row
commits/s but ~100,000 rows/s in batches, which is why lines are never stored one by one.

Backpressure, not loss: :class:`LogPressure` counts the process's lines emitted but not yet
stored. Above its high-water mark, :meth:`JobLog.emit` returns an awaitable that resolves once
the count is back under the low-water mark; transports await it before reading more output, so
a fast server waits in its own write (the SSH window or the pipe fills) instead of its lines
piling up here. Memory and arrival-to-stored delay stay bounded; no line is ever discarded.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
from collections.abc import Awaitable, Callable, Generator, Sequence
from datetime import datetime
from typing import Any

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.log_store import LogInsert
from otter_tui.events import EventBus, LogLine, LogLines
from otter_tui.store.db import Database
from otter_tui.store.outage import is_busy

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]

HIGH_WATER_BATCHES = 10
"""Pending lines allowed, in batches of ``engine.log_batch_lines``, before producers wait.

10 x 200 = 2,000 lines: 20 ms of work for the store at ~100,000 rows/s, 100 ms on a busy machine
at 20,000 rows/s: the arrival-to-stored delay is about this mark over the store's rate, so the
mark is kept small; the writer still gets batches of ``batch_lines`` or more to insert."""


MAX_LINES_PER_INSERT = 5_000
"""Batches already queued when the writer wakes are stored together (one transaction) up to
about this many lines: fewer, bigger inserts when many jobs or servers stream at once, and
still a few tens of milliseconds of work each, so the arrival-to-stored delay stays short."""


class LogPressure:
    """How many log lines this process holds that are not stored yet, and the gate at the limit.

    One per :class:`LogWriter` (so per process): the store is the shared bottleneck, so the
    limit is on everything waiting for it, whichever job or server produced it. Producers are
    held from ``high_water`` until the count falls to ``low_water`` (hysteresis, so they resume
    in bursts worth a batch rather than line by line).
    """

    def __init__(self, high_water: int, low_water: int | None = None) -> None:
        self.high_water = max(1, high_water)
        self.low_water = self.high_water // 2 if low_water is None else low_water
        self.pending = 0
        """Lines emitted and counted here but not yet stored (or given up on) by the writer."""
        self.peak = 0
        """The highest ``pending`` seen: what a test or benchmark checks the bound with."""
        self._open = asyncio.Event()
        self._open.set()
        self._gate = _Gate(self._open)

    @classmethod
    def for_batches(cls, batch_lines: int) -> LogPressure:
        """The default limit for a given batch size (see :data:`HIGH_WATER_BATCHES`)."""
        return cls(HIGH_WATER_BATCHES * max(1, batch_lines))

    @property
    def holding(self) -> bool:
        """True while producers are asked to wait."""
        return not self._open.is_set()

    def add(self, lines: int = 1) -> Awaitable[None] | None:
        """Count new lines; returns something to await when the producer should wait."""
        self.pending += lines
        if self.pending > self.peak:
            self.peak = self.pending
        if self.pending >= self.high_water:
            self._open.clear()
        return None if self._open.is_set() else self._gate

    def done(self, lines: int) -> None:
        """Lines left memory (stored, or given up on): at the low-water mark, release producers."""
        self.pending = max(0, self.pending - lines)
        if self.pending <= self.low_water:
            self._open.set()

    async def wait(self) -> None:
        """Return at once, or when the count is back under the low-water mark."""
        await self._open.wait()


class _Gate:
    """An awaitable that waits for the pressure to drop.

    Not a coroutine: a caller that does not await it (a synchronous log call) leaves no "never
    awaited" warning, and each waiter awaits its own ``Event.wait``, so cancelling one waiter
    (a cancelled command) cannot disturb the others.
    """

    __slots__ = ("_event",)

    def __init__(self, event: asyncio.Event) -> None:
        self._event = event

    def __await__(self) -> Generator[Any, None, None]:
        return self._wait().__await__()

    async def _wait(self) -> None:
        await self._event.wait()


class JobLog:
    """The log of one job: numbering, buffering and timed flushing."""

    def __init__(
        self,
        job_id: int,
        bus: EventBus,
        clock: Clock,
        *,
        batch_ms: int = 50,
        batch_lines: int = 200,
        pressure: LogPressure | None = None,
        start_seq: int = 0,
        part: int = 0,
    ) -> None:
        """``part``: 0 for a job's own log, N for its slice N (numbered from ``start_seq``)."""
        self.job_id = job_id
        self.part = part
        self.bus = bus
        self.clock = clock
        self.batch_seconds = batch_ms / 1000
        self.batch_lines = batch_lines
        self.pressure = pressure
        """Shared with the :class:`LogWriter` that stores these lines; None: never hold back."""
        self.seq = self.start_seq = start_seq
        self._buffer: list[LogLine] = []
        self._wake = asyncio.Event()
        self._closed = False
        self._task: asyncio.Task[None] | None = None
        self._publishing = asyncio.Lock()
        """One flush at a time: two interleaved flushes could publish batches out of order, and a
        follower reading ``seq > last seen`` would then skip the earlier batch for good."""

    def start(self) -> None:
        self._task = asyncio.create_task(self._flusher(), name=f"job-{self.job_id}-log")

    def emit(
        self,
        text: str,
        *,
        server: str = "",
        run_id: int | None = None,
        level: str = "info",
        stream: str = "",
    ) -> Awaitable[None] | None:
        """Add one line; safe to call from any callback on the loop.

        Returns None, or, when the process holds too many unstored lines, an awaitable that
        resolves once the store has caught up. A producer that can wait (a transport reading a
        command's output) awaits it before reading on; one that cannot may ignore it.
        """
        self.seq += 1
        self._buffer.append(
            LogLine(
                self.job_id, run_id, server, self.seq, self.clock(), level, stream, text, self.part
            )
        )
        if len(self._buffer) >= self.batch_lines:
            self._wake.set()
        if self.pressure is None or self._closed:
            # A closed log has no flusher: a line counted now would never be uncounted.
            return None
        return self.pressure.add()

    def emit_lines(
        self,
        texts: Sequence[str],
        *,
        server: str = "",
        run_id: int | None = None,
        stream: str = "",
        level: str = "info",
    ) -> Awaitable[None] | None:
        """Add several lines that arrived together (one read of a command's output).

        The same as :meth:`emit` for each, but stamped with one clock read and counted once:
        at 100,000 lines a second the per-line call, clock and counter were most of the loop's
        work. Returns what :meth:`emit` returns, for the whole batch."""
        first = self.seq + 1
        self.seq += len(texts)
        at, job_id, part = self.clock(), self.job_id, self.part
        make = tuple.__new__  # LogLine(...) without its per-call keyword handling
        self._buffer += [
            make(LogLine, (job_id, run_id, server, seq, at, level, stream, text, part))
            for seq, text in zip(range(first, self.seq + 1), texts, strict=True)
        ]
        if len(self._buffer) >= self.batch_lines:
            self._wake.set()
        if self.pressure is None or self._closed:
            return None
        return self.pressure.add(len(texts))

    async def wait_drained(self) -> None:
        """Wait while the process holds more unstored lines than its high-water mark allows."""
        if self.pressure is not None:
            await self.pressure.wait()

    async def _flusher(self) -> None:
        while not (self._closed and not self._buffer):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.batch_seconds)
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        """Publish everything buffered, in order, in chunks of ``batch_lines``."""
        async with self._publishing:
            while self._buffer:
                chunk = self._buffer[: self.batch_lines * 5]
                del self._buffer[: len(chunk)]
                await self.bus.publish(LogLines(tuple(chunk)))

    async def close(self) -> None:
        """Flush what is left and stop the flusher."""
        self._closed = True
        self._wake.set()
        if self._task is not None:
            await self._task


class LogWriter:
    """The one durable subscriber that stores log lines, a batch per insert."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        dbthread: DbThread,
        maxsize: int = 64,
        pressure: LogPressure | None = None,
    ) -> None:
        self.db = db
        self._log_insert = LogInsert(db)
        self.dbthread = dbthread
        self.subscription = bus.subscribe(lossy=False, maxsize=maxsize, kinds=(LogLines,))
        self.bus = bus
        self.stored = 0
        self.pressure = pressure or LogPressure.for_batches(200)
        """Lines not yet stored; every :class:`JobLog` feeding this writer should share it."""
        self.stored_seq: dict[tuple[int, int], int] = {}
        """Per (job, part), the highest ``seq`` stored (a part's batches are stored in order;
        the slices of one job that this process runs at once are parts of their own)."""
        self._waiters: dict[tuple[int, int], list[tuple[int, int, asyncio.Future[None]]]] = {}
        """Per (job, part), a heap of (seq, tie-breaker, future) for :meth:`wait_stored`."""
        self._waiter_ids = itertools.count()
        self.observers: list[Callable[[Sequence[LogLine]], None]] = []
        """Called on the loop with each batch just stored (benchmarks time arrival to stored)."""
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="log-writer")

    async def _run(self) -> None:
        queue = self.subscription.queue
        while True:
            events = [await self.subscription.get()]
            lines = list(events[0].lines) if isinstance(events[0], LogLines) else []
            while not queue.empty() and len(lines) < MAX_LINES_PER_INSERT:
                event = queue.get_nowait()  # what queued meanwhile: one insert for all of it
                events.append(event)
                if isinstance(event, LogLines):
                    lines.extend(event.lines)
            try:
                if lines:
                    try:
                        await self._store(lines)
                    finally:  # stored or given up on, these lines no longer wait in memory
                        self.pressure.done(len(lines))
            except Exception:  # the writer must outlive any one batch, or every job stalls
                log.exception("log writer: a batch failed")
            finally:
                for _ in events:
                    queue.task_done()

    async def _store(self, lines: Sequence[LogLine]) -> None:
        stored = await self._insert_retrying(lines)
        await self._advance(lines)
        if not stored:
            return
        self.stored += len(lines)
        for observer in self.observers:
            observer(lines)

    async def _insert_retrying(self, rows: Sequence[LogLine]) -> bool:
        """Wait out a locked database (lines are never dropped for being slow); any other
        failure is logged and the writer goes on, so one bad batch cannot stall every job."""
        delay = 0.1
        while True:
            try:
                await self.dbthread.run(self._insert, rows)
                return True
            except Exception as exc:
                if is_busy(exc):
                    log.warning("log writer: database busy; retrying %d line(s)", len(rows))
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                first, last = rows[0], rows[-1]
                log.exception(
                    "log writer: could not store job %s lines %s-%s",
                    *(first.job_id, first.seq, last.seq),
                )
                return False

    def _insert(self, lines: Sequence[LogLine]) -> None:
        """One batch in one transaction (on the database thread; tests slow it down here)."""
        self._log_insert.store(lines)

    async def _advance(self, lines: Sequence[LogLine]) -> None:
        """Record how far each job's log is stored (also past a batch given up on, so no
        waiter hangs on it) and wake exactly the waiters whose lines are now stored: hundreds
        of server runs waiting at once are not all woken to re-check at every batch."""
        # A job's (or slice's) lines arrive in seq order, so its last line has its highest seq.
        latest = {(line.job_id, line.part): line.seq for line in lines}
        for key, seq in latest.items():
            if seq > self.stored_seq.get(key, 0):
                self.stored_seq[key] = seq
        for key in latest:
            heap, stored = self._waiters.get(key), self.stored_seq.get(key, 0)
            while heap and heap[0][0] <= stored:
                future = heapq.heappop(heap)[2]
                if not future.done():
                    future.set_result(None)

    async def wait_stored(self, job_id: int, seq: int, part: int = 0) -> None:
        """Wait until job ``job_id``'s lines (of ``part``) up to ``seq`` are stored. Unlike
        :meth:`drain`, other jobs streaming meanwhile cannot keep this waiting."""
        key = (job_id, part)
        if self.stored_seq.get(key, 0) >= seq:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heap = self._waiters.setdefault(key, [])
        heapq.heappush(heap, (seq, next(self._waiter_ids), future))
        await future

    def forget(self, job_id: int, part: int = 0) -> None:
        self.stored_seq.pop((job_id, part), None)
        self._waiters.pop((job_id, part), None)

    async def drain(self) -> None:
        """Wait until every published batch is stored."""
        await self.subscription.queue.join()

    async def close(self) -> None:
        await self.drain()
        if self._task is not None:
            self._task.cancel()
        self.bus.unsubscribe(self.subscription)

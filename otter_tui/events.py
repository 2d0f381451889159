"""Frozen events and the in-process bus that carries them.

The engine publishes what happens (job and server-run state, log lines in batches, drift
results); subscribers are the store writer, the daemon's logger and, in the TUI only, one bridge
that turns events into Textual messages.

Two kinds of subscriber, because they want different things under load:

- a *durable* subscriber (the store writer) has a bounded queue, and ``publish`` waits for room:
  backpressure slows the producer, nothing is dropped;
- a *lossy* subscriber (a screen) never slows the engine: when its queue is full, events are
  dropped and, as soon as there is room, one :class:`Resync` is queued exactly where they were
  lost (before any later event), so it reloads what it shows from the store, where every line is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple


@dataclass(frozen=True)
class Event:
    """Base of every event."""


@dataclass(frozen=True)
class JobCreated(Event):
    """A job was created (any kind, any state)."""

    job_id: int
    plan_name: str
    state: str


@dataclass(frozen=True)
class JobStateChanged(Event):
    """A job moved to another state."""

    job_id: int
    state: str
    at: datetime
    summary: str = ""


@dataclass(frozen=True)
class ServerRunStateChanged(Event):
    """A server run moved to another state."""

    job_id: int
    server_run_id: int
    server: str
    role: str
    state: str
    at: datetime
    error: str = ""


class LogLine(NamedTuple):
    """One line of a job's log; ``seq`` orders the lines of a job.

    A named tuple rather than a frozen dataclass: one is made per line on the event loop, and
    a tuple is built several times faster."""

    job_id: int
    server_run_id: int | None
    server: str
    seq: int
    at: datetime
    level: str
    stream: str
    text: str
    part: int = 0
    """Which part of the job wrote it: 0 the job, N its slice N (each numbers its own lines)."""


@dataclass(frozen=True)
class LogLines(Event):
    """A batch of log lines (about 50 ms or 200 lines), in order."""

    lines: tuple[LogLine, ...]


@dataclass(frozen=True)
class DriftChecked(Event):
    """A server's drift was checked or remediated."""

    server: str
    status: str
    at: datetime


@dataclass(frozen=True)
class ScheduleChanged(Event):
    """A schedule was added, edited or removed: the scheduler recomputes its next wake-up."""

    schedule_id: int | None = None


@dataclass(frozen=True)
class Resync(Event):
    """A lossy subscriber fell behind: reload from the store instead of trusting the stream."""


@dataclass
class Subscription:
    """One subscriber's queue. Iterate it with ``async for`` or call :meth:`get`."""

    queue: asyncio.Queue[Event]
    lossy: bool
    behind: bool = field(default=False)
    """Events were dropped and no :class:`Resync` has been queued after them yet."""
    closed: bool = field(default=False)
    resync_at_tail: bool = field(default=False)
    """The newest item in the queue is a Resync: events dropped now are covered by it."""
    kinds: tuple[type[Event], ...] = ()
    """The event types this subscriber takes (empty: all). The log writer and ``run``'s
    printer take only :class:`LogLines`: every server run's two state changes queued to each of
    them, and woke each to look at and skip them, was a few thousand queue operations and task
    steps a 500-server job paid for nothing."""
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    """Publishers to a durable queue take turns, first come first served. ``asyncio.Queue``
    alone lets a publisher that finds room jump ahead of one already waiting for room: a job
    flooding its log kept another job's lines out of the writer's queue for as long as it ran."""

    async def put(self, event: Event) -> None:
        """Queue ``event`` for a durable subscriber, waiting (in turn) while the queue is full."""
        async with self.turn:
            await self.queue.put(event)

    async def get(self) -> Event:
        event = await self.queue.get()
        if self.behind:
            # While behind, everything still queued predates the gap, so the tail is exactly
            # where the lost events were; the Resync goes there as soon as there is room.
            self._put_resync()
        return event

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not self.closed:
            yield await self.get()

    def offer(self, event: Event) -> None:
        """Queue ``event`` for a lossy subscriber, or drop it and mark the gap."""
        if self.behind and not self.queue.full():
            self._put_resync()
        if self.queue.full():
            self.behind = self.behind or not self.resync_at_tail
            return
        self.queue.put_nowait(event)
        self.resync_at_tail = False

    def _put_resync(self) -> None:
        self.queue.put_nowait(Resync())
        self.behind = False
        self.resync_at_tail = True


class EventBus:
    """Publish events to every subscriber, in order, without ever losing a durable one's."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []

    def subscribe(
        self, *, lossy: bool = False, maxsize: int = 1000, kinds: tuple[type[Event], ...] = ()
    ) -> Subscription:
        """A new subscriber's queue; ``kinds`` (non-empty) limits it to those event types."""
        if maxsize < 1:
            raise ValueError("a subscription needs a bounded queue of at least one event")
        sub = Subscription(asyncio.Queue(maxsize=maxsize), lossy, kinds=kinds)
        self._subscriptions.append(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        sub.closed = True
        if sub in self._subscriptions:
            self._subscriptions.remove(sub)

    async def publish(self, event: Event) -> None:
        """Deliver to every subscriber; waits only for durable subscribers with a full queue."""
        for sub in list(self._subscriptions):
            if sub.kinds and not isinstance(event, sub.kinds):
                continue
            if sub.lossy:
                sub.offer(event)
            else:
                await sub.put(event)

    def publish_nowait(self, event: Event) -> None:
        """Deliver from synchronous code; a durable subscriber with a full queue raises."""
        for sub in list(self._subscriptions):
            if sub.kinds and not isinstance(event, sub.kinds):
                continue
            if sub.lossy:
                sub.offer(event)
            else:
                sub.queue.put_nowait(event)

"""The scheduler's clock: what time it is, and an awaitable "sleep until then".

The loop never sleeps by a fixed tick; it sleeps until a deadline (the earliest due firing, or
when its lease needs renewing) or until woken. Tests pass a :class:`ManualClock` and move time
themselves, so no test sleeps and a 30-day outage takes no longer than a 30-second one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

MAX_NAP_SECONDS = 30.0
"""The system clock sleeps at most this long at once, so a wall-clock jump (NTP, a resumed
laptop) is noticed within half a minute instead of after a long monotonic sleep."""


class Clock(Protocol):
    """Time for the scheduler. ``now`` is aware UTC; ``sleep_until`` may return early."""

    def now(self) -> datetime: ...

    async def sleep_until(self, deadline: datetime) -> None: ...


class SystemClock:
    """Real time. ``now`` defaults to the runtime's service clock, so jobs and firings agree."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or (lambda: datetime.now(UTC))

    def now(self) -> datetime:
        return self._now()

    async def sleep_until(self, deadline: datetime) -> None:
        """A nap of at most :data:`MAX_NAP_SECONDS`; a shorter one ends at ``deadline``, not
        before it (the event loop's monotonic timer may run a hair ahead of the wall clock,
        and a round prepared for a minute must not wake to find the minute not yet come)."""
        seconds = (deadline - self.now()).total_seconds()
        while seconds > 0:
            await asyncio.sleep(min(seconds, MAX_NAP_SECONDS))
            if seconds > MAX_NAP_SECONDS:
                return
            seconds = (deadline - self.now()).total_seconds()


class ManualClock:
    """A clock that moves only when told: for tests and simulations of long stretches of time.

    ``set`` (or ``advance``) releases every sleeper whose deadline has come. ``wait_sleepers``
    lets a test wait until the scheduler loops have finished reacting and are asleep again.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start.astimezone(UTC)
        self._sleepers: list[tuple[datetime, asyncio.Future[None]]] = []
        self._changed = asyncio.Event()
        self.sleep_calls = 0
        """How often ``sleep_until`` was called: a test can wait for a loop to sleep again."""

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, deadline: datetime) -> None:
        self.sleep_calls += 1
        if deadline <= self._now:
            self._signal()
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (deadline, future)
        self._sleepers.append(entry)
        self._signal()
        try:
            await future
        finally:
            self._sleepers.remove(entry)
            self._signal()

    def set(self, moment: datetime) -> None:
        """Move to ``moment`` (never backwards) and release the sleepers it reaches."""
        self._now = max(self._now, moment.astimezone(UTC))
        for deadline, future in list(self._sleepers):
            if deadline <= self._now and not future.done():
                future.set_result(None)

    def advance(self, seconds: float) -> None:
        self.set(self._now + timedelta(seconds=seconds))

    @property
    def asleep(self) -> int:
        """How many sleepers are waiting for a deadline still ahead."""
        return sum(1 for _, future in self._sleepers if not future.done())

    async def wait_sleepers(self, count: int, *, since: int | None = None) -> None:
        """Until ``count`` sleepers wait (and, with ``since``, a sleep began after that call)."""
        while self.asleep < count or (since is not None and self.sleep_calls <= since):
            self._changed.clear()
            await self._changed.wait()

    def _signal(self) -> None:
        self._changed.set()

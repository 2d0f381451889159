"""The daemon's presence heartbeat: "a daemon is running here, with these queues".

At start it writes the ``daemon:<holder>`` row (:mod:`otter_tui.services.presence`) before the
worker claims anything, renews it every third of ``[scheduler] lease_seconds`` and deletes it on a
clean stop, so a console notices a daemon within one renewal interval and takes back at once when
it stops. A daemon that dies leaves a row that expires after one lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta

from otter_tui.logfmt import emit
from otter_tui.scheduler.clock import Clock
from otter_tui.services import presence
from otter_tui.store.db import Database
from otter_tui.store.outage import OUTAGE, is_unavailable


class PresenceBeacon:
    """Keeps one daemon's presence row alive from :meth:`start` to :meth:`stop`."""

    def __init__(
        self,
        db: Database,
        holder: str,
        *,
        scheduler: bool,
        queues: Callable[[], Sequence[str]],
        length: timedelta,
        clock: Clock,
    ) -> None:
        self.db = db
        self.holder = holder
        self.scheduler = scheduler
        self.queues = queues
        """Read at each renewal: a reload may change the queues served."""
        self.length = length
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Announce now (a failure here stops the start), then keep renewing."""
        await asyncio.to_thread(self._announce)
        self._task = asyncio.create_task(self._renew_forever(), name="daemon-presence")

    async def stop(self) -> None:
        """Stop renewing and delete the row, so consoles take over without waiting."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        try:
            await asyncio.to_thread(presence.withdraw, self.db, self.holder)
        except Exception as exc:  # it expires on its own after one lease
            emit("daemon.presence_failed", logging.WARNING, action="withdraw", error=repr(exc))

    async def _renew_forever(self) -> None:
        while True:
            await self.clock.sleep_until(self.clock.now() + self.length / 3)
            try:
                await asyncio.to_thread(self._announce)
            except Exception as exc:  # a locked database: the next renewal tries again
                if is_unavailable(exc):
                    OUTAGE.lost(exc)  # one line per outage, whoever notices first
                else:
                    emit("daemon.presence_failed", logging.WARNING, action="renew", error=repr(exc))

    def _announce(self) -> None:
        presence.announce(
            self.db,
            self.holder,
            scheduler=self.scheduler,
            queues=tuple(self.queues()),
            now=self.clock.now(),
            length=self.length,
        )

"""One thread for the engine's database work, so the event loop never waits on SQLite.

Every write the engine makes (server-run state, log batches, drift results) goes through this one
thread, in the order it was asked for: a job's rows are stored in the order things happened, and
the engine's writers never contend with each other for SQLite's single write lock.

Other processes do contend for it (the CLI, the console, a second worker). A write that still
finds the database locked after SQLite's busy timeout is retried with a growing pause: it failed
at ``BEGIN IMMEDIATE``, before writing anything, so running it again is safe. A job must not end
up stuck ``running`` because someone held the lock for a while. A PostgreSQL transaction killed
as a deadlock's victim was rolled back whole, and is run again the same way.

A database that went away (PostgreSQL restarting: connection refused, sessions ended) is waited
for in the same way, with pauses growing to 5 s, for up to :data:`OUTAGE_LIMIT`: each call is its
own transaction, so one that failed on a dead connection was rolled back by the server and runs
again whole. The outage is logged once (:mod:`otter_tui.store.outage`), not per call.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError

from otter_tui.store.outage import OUTAGE, is_busy, is_unavailable, pauses

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)

BUSY_RETRIES = 8
"""After the busy timeout, how many more tries (pauses of 0.1 s doubling to 2 s) before failing."""
OUTAGE_LIMIT = 600.0
"""How long a call waits for a database that went away (a PostgreSQL restart) before failing."""


class DbThread:
    def __init__(
        self,
        name: str = "otter-db",
        *,
        retries: int = BUSY_RETRIES,
        outage_limit: float = OUTAGE_LIMIT,
    ) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.retries = retries
        self.outage_limit = outage_limit

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        pause, busy = 0.1, 0
        away: Iterator[float] | None = None
        gone_at = 0.0
        while True:
            try:
                result = await loop.run_in_executor(self._pool, lambda: func(*args, **kwargs))
            except DBAPIError as exc:
                if is_unavailable(exc):
                    if away is None:
                        away, gone_at = pauses(), loop.time()
                    if loop.time() - gone_at > self.outage_limit:
                        raise
                    OUTAGE.lost(exc)
                    await asyncio.sleep(next(away))
                    continue
                if not is_busy(exc) or busy == self.retries:
                    raise
                log.warning("database busy; retrying %s in %.1fs", _name(func), pause)
                await asyncio.sleep(pause)
                pause, busy = min(pause * 2, 2.0), busy + 1
            else:
                OUTAGE.back()
                return result

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _name(func: Callable[..., object]) -> str:
    return getattr(func, "__qualname__", repr(func))

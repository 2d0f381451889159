"""One thread for the engine's database work, so the event loop never waits on SQLite.

Every write the engine makes (server-run state, log batches, drift results) goes through this one
thread, in the order it was asked for: a job's rows are stored in the order things happened, and
the engine's writers never contend with each other for SQLite's single write lock.

Other processes do contend for it (the CLI, the console, a second worker). A write that still
finds the database locked after SQLite's busy timeout is retried with a growing pause: it failed
at ``BEGIN IMMEDIATE``, before writing anything, so running it again is safe. A job must not end
up stuck ``running`` because someone held the lock for a while.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy.exc import OperationalError

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger(__name__)

BUSY_RETRIES = 8
"""After the busy timeout, how many more tries (pauses of 0.1 s doubling to 2 s) before failing."""


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "busy": another connection holds the write lock."""
    if not isinstance(exc, OperationalError):
        return False
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


class DbThread:
    def __init__(self, name: str = "otter-db", *, retries: int = BUSY_RETRIES) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self.retries = retries

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        pause = 0.1
        for attempt in range(self.retries + 1):
            try:
                return await loop.run_in_executor(self._pool, lambda: func(*args, **kwargs))
            except OperationalError as exc:
                if not is_busy(exc) or attempt == self.retries:
                    raise
                log.warning("database busy; retrying %s in %.1fs", _name(func), pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 2.0)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._pool.shutdown(wait=True)


def _name(func: Callable[..., object]) -> str:
    return getattr(func, "__qualname__", repr(func))

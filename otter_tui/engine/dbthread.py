"""One thread for the engine's database work, so the event loop never waits on SQLite.

Every write the engine makes (server-run state, log batches, drift results) goes through this one
thread, in the order it was asked for: a job's rows are stored in the order things happened, and
the engine's writers never contend with each other for SQLite's single write lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class DbThread:
    def __init__(self, name: str = "otter-db") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    async def run(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: func(*args, **kwargs))

    def close(self) -> None:
        self._pool.shutdown(wait=True)

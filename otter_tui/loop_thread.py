"""An event loop on a thread of its own, for work that must not wait for a busy loop.

Why: one ``select`` that finds 500 SSH sockets ready runs 500 packet callbacks before the loop
turns to anything else. Work on a loop of its own still shares the process's GIL with them, but
Python hands the GIL over every few milliseconds (``sys.getswitchinterval``), so that loop gets
its turns whatever the other is doing. The console runs its engine on one
(``screens/engine_thread.py``), the daemon its HTTP API (:mod:`otter_tui.daemon.core`).

The rule that keeps this safe: asyncio objects belong to the loop that made them. What runs
here is built here (:meth:`LoopThread.run` awaits a coroutine run on this loop), and the other
loop reaches it only through ``loop.call_soon_threadsafe`` and plain reads of values replaced
whole.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopThread:
    """A running event loop on a daemon thread, until :meth:`close`."""

    def __init__(self, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_forever()
        finally:
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
            self.loop.close()

    async def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on this loop and wait for it from the caller's loop."""
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.loop))

    def spawn(self, coro: Coroutine[Any, Any, object], name: str) -> None:
        """Run ``coro`` as a task on this loop until it ends or :meth:`close` cancels it."""

        def start() -> None:
            task = self.loop.create_task(coro, name=name)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self.loop.call_soon_threadsafe(start)

    async def close(self) -> None:
        """Cancel what :meth:`spawn` started, stop the loop and wait for the thread."""
        if not self._thread.is_alive():
            return
        await self.run(self._cancel_spawned())
        self.loop.call_soon_threadsafe(self.loop.stop)
        await asyncio.to_thread(self._thread.join)

    async def _cancel_spawned(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


__all__ = ["LoopThread"]

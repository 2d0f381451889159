"""An event loop on a thread of its own, for the console's job runner and scheduler.

Why: run on the console's own loop, the SSH sessions of a big job share it with the keys. One
``select`` that finds 500 sockets ready runs 500 packet callbacks before the loop reads the
next key, and a key pressed while a 500-server job streamed waited up to 0.6-1.2 s
(``bench/keys.py``). On a loop of their own the sessions still share the process's GIL, but
Python hands it over every few milliseconds (``sys.getswitchinterval``), so the console's loop
gets its turns whatever the engine's is doing.

The rule that keeps this safe: asyncio objects belong to the loop that made them. Everything
built by the runner and the scheduler (the engine, its database thread, the worker, the bus's
queues, their events) is built on this loop, and the UI reaches them only by handing calls to
it (``loop.call_soon_threadsafe``, as ``ConsoleRunner`` does for ``notify``, ``launch`` and
``cancel``), by :meth:`EngineThread.run` (await a coroutine run there) and by plain reads of
values the engine replaces whole. Textual's ``post_message`` is thread-safe, which is how events
come back to the screens.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

THREAD_NAME = "otter-engine"


class EngineThread:
    """A running event loop on a daemon thread, until :meth:`close`."""

    def __init__(self, name: str = THREAD_NAME) -> None:
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

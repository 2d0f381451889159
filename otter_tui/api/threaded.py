"""The daemon's HTTP API on an event loop of its own (``otter-tui daemon --api``).

Why: on the daemon's loop, every response and every event of a live log stream waited for the
loop to get through the callbacks of the SSH sessions it runs; with 1,000 servers printing,
that loop is ~75% busy and a stream's events fell seconds behind the store
(docs/bench-findings.md, "The daemon's API on a loop of its own"). The API needs nothing of the
daemon's loop: it reads and writes through the runtime's services, in its own worker threads,
and a job it creates reaches the worker through the store, as one from another process does.
"""

from __future__ import annotations

from otter_tui.api.server import ApiServer
from otter_tui.api_settings import Bind
from otter_tui.loop_thread import LoopThread
from otter_tui.runtime import Runtime

THREAD_NAME = "otter-api"


class ThreadedApi:
    """:class:`ApiServer` built, started and stopped on a :class:`LoopThread`."""

    def __init__(self, runtime: Runtime, bind: Bind) -> None:
        self.runtime = runtime
        self.bind = bind
        self.server: ApiServer | None = None
        self._thread: LoopThread | None = None

    async def start(self) -> None:
        """Return once it accepts connections; a bind that fails is the same one-line error
        as on the daemon's loop, and leaves no thread behind."""
        self._thread = LoopThread(THREAD_NAME)
        try:
            self.server = await self._thread.run(self._start())
        except BaseException:
            await self._close_thread()
            raise

    async def _start(self) -> ApiServer:
        server = ApiServer(self.runtime, self.bind)
        await server.start()
        return server

    async def stop(self) -> None:
        """Finish the requests in flight (uvicorn's graceful shutdown), then end the thread."""
        if self._thread is None:
            return
        if self.server is not None:
            await self._thread.run(self.server.stop())
        await self._close_thread()

    async def _close_thread(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            await thread.close()


__all__ = ["THREAD_NAME", "ThreadedApi"]

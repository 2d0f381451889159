"""The console's job runner and scheduler on an event loop of their own.

Why: run on the console's own loop, the SSH sessions of a big job share it with the keys. One
``select`` that finds 500 sockets ready runs 500 packet callbacks before the loop reads the
next key, and a key pressed while a 500-server job streamed waited up to 0.6-1.2 s
(``bench/keys.py``). On a loop of their own (:class:`otter_tui.loop_thread.LoopThread`) the
sessions still share the process's GIL, but the console's loop gets its turns.

Everything built by the runner and the scheduler (the engine, its database thread, the worker,
the bus's queues, their events) is built on this loop, and the UI reaches them only by handing
calls to it (``loop.call_soon_threadsafe``, as ``ConsoleRunner`` does for ``notify``, ``launch``
and ``cancel``), by :meth:`EngineThread.run` (await a coroutine run there) and by plain reads of
values the engine replaces whole. Textual's ``post_message`` is thread-safe, which is how events
come back to the screens.
"""

from __future__ import annotations

from otter_tui.loop_thread import LoopThread

THREAD_NAME = "otter-engine"


class EngineThread(LoopThread):
    """The console's engine loop, on a thread named :data:`THREAD_NAME`."""

    def __init__(self, name: str = THREAD_NAME) -> None:
        super().__init__(name)


__all__ = ["THREAD_NAME", "EngineThread"]

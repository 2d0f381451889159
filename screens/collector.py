"""The cyclic collector paused while a big screen is built, until its first paint.

After start-up the console freezes its heap (screens/warm.py), so CPython's full collections
come whenever the objects that survived since outgrow a quarter of the few thousand it last
kept. Building a job's screen (its 501 server runs' cells, the log's tail, the rendered lines)
makes tens of thousands of objects and almost no garbage, and set off one or two full passes
in the middle of opening it (30-150 ms each, most of the difference between the first opening
of a process and the next ones). Paused, that pass comes once after the screen is on show.
"""

from __future__ import annotations

import asyncio
import contextvars
import gc
from typing import Any

from textual.screen import Screen

AT_MOST = 2.0
"""Seconds the collector stays paused whatever happens to the screen."""


class CollectorPause:
    """Pause the collector now (if it runs) and resume it after the screen's first paint."""

    def __init__(self) -> None:
        self._paused = gc.isenabled()
        if self._paused:
            gc.disable()

    def resume_after_paint(self, screen: Screen[Any]) -> None:
        """Resume once ``screen`` has been painted (call it when the screen is filled), or
        after :data:`AT_MOST` seconds if it is not painted by then (covered at once by a
        modal, say): the collector is never left off for long."""
        screen.call_after_refresh(self.resume)
        # A plain loop callback in an empty context: a Textual timer (or a task) made here
        # would carry the screen in its context and keep a closed one alive until it fired.
        loop = asyncio.get_running_loop()
        loop.call_later(AT_MOST, self.resume, context=contextvars.Context())

    def resume(self) -> None:
        """Resume now; also called when the screen goes, painted or not. Idempotent."""
        if self._paused:
            self._paused = False
            gc.enable()

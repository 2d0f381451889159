"""Clocks and percentiles shared by the measurements."""

from __future__ import annotations

import resource
import sys
import time
from typing import Any


def cpu_seconds() -> float:
    """User + system CPU of this process so far, every thread included."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; values need not be sorted."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * len(ordered))))]


def median(values: list[float]) -> float:
    import statistics  # not at import: the floor's process imports this module

    return statistics.median(values)


def progress(text: str) -> None:
    """A timestamped progress line on stderr (the table goes to stdout)."""
    print(f"[bench {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


class ChannelCounter:
    """Counts SSH channels opened in this process (exec and SFTP alike), for channels/server."""

    def __init__(self) -> None:
        self.count = 0

    def install(self) -> ChannelCounter:
        import asyncssh

        original = asyncssh.SSHClientConnection.create_session
        counter = self

        async def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
            counter.count += 1
            return await original(self, *args, **kwargs)

        asyncssh.SSHClientConnection.create_session = counted  # type: ignore[method-assign]
        return self


class DbThreadCpu:
    """CPU seconds spent inside the engine's database-thread calls (SQLite and the ORM)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def install(self) -> DbThreadCpu:
        from otter_tui.engine.dbthread import DbThread

        original = DbThread.run
        meter = self

        async def timed(self: Any, func: Any, *args: Any, **kwargs: Any) -> Any:
            def call() -> Any:
                started = time.thread_time()
                try:
                    return func(*args, **kwargs)
                finally:
                    meter.seconds += time.thread_time() - started

            return await original(self, call)

        DbThread.run = timed  # type: ignore[method-assign]
        return self

"""``otter-tui api``: the HTTP API as a process of its own, for a team's API host.

It serves the same database as the daemons and consoles, but runs no worker and no scheduler:
the jobs it creates are claimed by a daemon (or a console) on that database. SIGTERM or SIGINT
stops it; under systemd it reports READY, STOPPING and watchdog pings like the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import IO

from otter_tui import __version__
from otter_tui.api.server import ApiServer
from otter_tui.api_settings import Bind
from otter_tui.daemon.sdnotify import notify, watchdog
from otter_tui.logfmt import emit, setup_logging, teardown_logging
from otter_tui.runtime import Runtime


async def serve_alone(runtime: Runtime, bind: Bind) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    with contextlib.suppress(NotImplementedError):
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    server = ApiServer(runtime, bind)
    await server.start()
    emit("api.ready", version=__version__, config=runtime.settings.source or "defaults")
    notify(f"READY=1\nSTATUS=serving the API on {bind.host}:{server.port}")
    pinging = asyncio.create_task(watchdog(stop), name="api-watchdog")
    await stop.wait()
    notify("STOPPING=1")
    await server.stop()
    await pinging
    return 0


def run_api(
    runtime: Runtime, bind: Bind, *, stream: IO[str] | None = None, level: str = "info"
) -> int:
    """Serve until SIGTERM or SIGINT; the exit code."""
    handler = setup_logging(stream or sys.stdout, runtime.ctx.clock, level)
    try:
        return asyncio.run(serve_alone(runtime, bind))
    finally:
        teardown_logging(handler)


__all__ = ["run_api", "serve_alone"]

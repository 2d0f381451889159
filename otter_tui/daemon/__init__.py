"""``otter-tui daemon``: the scheduler and workers, headless, logging logfmt to stdout.

See docs/daemon.md for running it under systemd, the log format and the signals.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import IO

from otter_tui.daemon.core import Daemon, DaemonOptions, served_queues
from otter_tui.errors import OtterError
from otter_tui.logfmt import emit, setup_logging, teardown_logging
from otter_tui.runtime import Runtime


def run_daemon(
    runtime: Runtime,
    options: DaemonOptions | None = None,
    *,
    stream: IO[str] | None = None,
    level: str = "info",
) -> int:
    """Run until SIGTERM or SIGINT; the exit code (0 after a clean stop)."""
    handler = setup_logging(stream or sys.stdout, runtime.ctx.clock, level)
    try:
        daemon = Daemon(runtime, options)
        return asyncio.run(daemon.run())
    except OtterError:
        raise
    except Exception as exc:  # logged as one line with its traceback, for the journal
        emit("daemon.crashed", logging.CRITICAL, error=repr(exc), exc_info=True)
        return 1
    finally:
        teardown_logging(handler)


__all__ = ["Daemon", "DaemonOptions", "run_daemon", "served_queues"]

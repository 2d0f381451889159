"""Time limits and cancellation for one server run.

Soft limit (or a cancel): the run's task is cancelled, which ends any command it is running on
the server (transports kill the remote process on cancellation) and runs the plan's ``finally``
blocks; it gets a grace period to clean up. Hard limit: the run is cancelled again, the command
it is in ends its remote processes (bounded by ``REMOTE_STOP_SECONDS``), then the connection is
dropped whatever the plan does, and the run is failed. A cancelled run that outlives its grace is
killed the same way but stays a cancel: the operator asked for the stop, nothing failed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")
REMOTE_STOP_SECONDS = 3.0
"""At a hard limit, how long a cancelled command may take to end its remote processes."""


@dataclass(frozen=True)
class Stopped:
    """Why a run did not finish by itself."""

    reason: str
    """``soft``, ``hard`` or ``cancel``."""
    message: str


async def run_limited(
    body: Awaitable[T],
    *,
    soft: float | None,
    hard: float | None,
    cancel: asyncio.Event,
    grace: float,
    on_stop: Callable[[str], None],
    force_close: Callable[[], Awaitable[None]],
) -> T | Stopped:
    """Run ``body`` under the limits; returns its result or why it was stopped."""
    task = asyncio.ensure_future(body)
    canceller = asyncio.ensure_future(cancel.wait())
    try:
        first = soft if soft is not None else hard
        await asyncio.wait({task, canceller}, timeout=first, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            return task.result()
        if cancel.is_set():
            stopped = Stopped("cancel", "cancelled")
        elif soft is not None and (hard is None or soft < hard):
            stopped = Stopped("soft", f"soft time limit ({soft:g}s) reached; stopped")
        else:
            return await _kill(task, _killed(hard, None), on_stop, force_close)
        on_stop(f"{stopped.message}: asking the run to stop")
        task.cancel()
        cancelled = stopped.reason == "cancel"
        remaining = grace if hard is None or cancelled else hard - (soft or 0)
        await asyncio.wait({task}, timeout=max(remaining, 0))
        if task.done():
            return stopped
        return await _kill(task, _killed(hard, grace if cancelled else None), on_stop, force_close)
    finally:
        canceller.cancel()


def _killed(hard: float | None, cancel_grace: float | None) -> Stopped:
    """Why a run is killed: its cancel's grace ran out (still a cancel), or its time limit."""
    if cancel_grace is not None:
        return Stopped("cancel", f"cancelled; did not stop within {cancel_grace:g}s; killed")
    if hard:
        return Stopped("hard", f"time limit ({hard:g}s) reached; killed")
    return Stopped("hard", "did not stop; killed")


async def _kill(
    task: asyncio.Future[Any],
    stopped: Stopped,
    on_stop: Callable[[str], None],
    force_close: Callable[[], Awaitable[None]],
) -> Stopped:
    on_stop(stopped.message)
    task.cancel()
    # Cancelling a command is what ends its processes on the server, and that needs the
    # connection: closing it first would orphan a remote ``sleep`` (sshd does not kill a
    # command whose client went away). So the task gets a bounded moment, then we hang up.
    await asyncio.wait({task}, timeout=REMOTE_STOP_SECONDS)
    await force_close()
    await asyncio.wait({task}, timeout=5)
    return stopped

"""systemd's readiness protocol: ``READY=1``, ``STOPPING=1`` and watchdog pings.

With ``Type=notify`` systemd sets ``NOTIFY_SOCKET`` (a unix datagram socket; a leading ``@`` is
an abstract address) and waits for ``READY=1`` before it counts the service as started. With
``WatchdogSec=`` it also sets ``WATCHDOG_USEC``, and restarts the service unless it hears
``WATCHDOG=1`` within that time; we ping at half of it. Without ``NOTIFY_SOCKET`` every call
does nothing, so the same binary runs anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket


def notify(message: str) -> bool:
    """Send one notification; False when not run under systemd (or the socket is gone)."""
    address = os.environ.get("NOTIFY_SOCKET", "")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(address)
            sock.sendall(message.encode())
        except OSError:
            return False
    return True


def watchdog_seconds() -> float | None:
    """How often to ping, or None when systemd wants no pings (or they are for another PID)."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 1_000_000 / 2


async def watchdog(stop: asyncio.Event) -> None:
    """Ping ``WATCHDOG=1`` until ``stop``; a loop that stalls stops the pings, as it should."""
    every = watchdog_seconds()
    if every is None:
        return
    while not stop.is_set():
        notify("WATCHDOG=1")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


__all__ = ["notify", "watchdog", "watchdog_seconds"]

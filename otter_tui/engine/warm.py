"""Warm connections for a long-lived engine (console, daemon): the pool and its change watch.

The pool (:mod:`otter_tui.transport.pool`) keeps idle connections between jobs. A connection must
not outlive the server record it was opened for, whichever process edited the record: every
server edit, removal or trust is audited, so a watch reads new audit events every
:data:`WATCH_SECONDS` and closes the connections of the servers they name (all of them after an
inventory import). A run also never borrows a connection opened for other record values (the
pool key holds host, port and user), so the watch's delay only keeps a connection open longer,
never lends it for a changed server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from otter_tui.config import Settings
from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.transports import TransportFactory, default_transports
from otter_tui.services.changes import server_changes
from otter_tui.services.context import ServiceContext
from otter_tui.transport.pool import ConnectionPool

log = logging.getLogger(__name__)

WATCH_SECONDS = 1.0
"""How often the audit log is read for changed servers (one indexed query)."""


class WarmConnections:
    """A connection pool built from ``[ssh]`` settings, with the watch that keeps it honest."""

    def __init__(self, ctx: ServiceContext, dbthread: DbThread, settings: Settings) -> None:
        self.ctx = ctx
        self.dbthread = dbthread
        self.pool = ConnectionPool(settings.ssh.pool_size, settings.ssh.pool_idle_seconds)
        self.transports: TransportFactory = default_transports(settings, self.pool)
        self._seen: int | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.check()
        self._task = asyncio.create_task(self._watch(), name="ssh-pool-watch")

    async def check(self) -> None:
        """Close the connections of servers changed since the last check."""
        changes = await self.dbthread.run(server_changes, self.ctx, self._seen)
        self._seen = changes.last_id
        if changes.every:
            await self.pool.discard(None)
        for name in sorted(changes.names):
            await self.pool.discard(name)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(WATCH_SECONDS)
            try:
                await self.check()
            except Exception:  # a database hiccup: try again next tick, keep the pool
                log.warning("ssh pool: reading server changes failed", exc_info=True)

    async def close(self) -> None:
        """Stop the watch and close every kept connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.pool.close()

"""Warm SSH connections: a bounded pool of idle, logged-in connections for long-lived processes.

The console and the daemon run job after job on the same servers; a new connection costs a TCP
handshake, a key exchange and a login on both ends, which is most of a short job's time. Between
server runs a connection waits here, idle, until the next run on the same server takes it back,
its idle time runs out (``ssh.pool_idle_seconds``) or the pool is full (``ssh.pool_size``: the
least recently used idle one is closed).

Safety rules:
- a connection is only ever handed to a run with the same :class:`PoolKey`: host, port, login
  user, server name (the keyring's password is per server), the client keys, agent and
  ssh_config used to log in, and the known_hosts files that verified it. Nothing is shared
  across users or credentials; an edited server record gives a new key;
- each connection's host key was verified when it was opened (by :class:`SshTransport`); a
  closed one is reopened, and verified again, never revived;
- a connection is lent to one run at a time; a run that ended in a cancel or a lost connection
  closes it instead of returning it (a half-stopped command must not meet the next run);
- :meth:`ConnectionPool.discard` closes a server's connections when its record changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from otter_tui.errors import OtterError
from otter_tui.transport.base import Command, CommandResult, FileStat, LineSink
from otter_tui.transport.ssh import SshTransport
from otter_tui.transport.ssh_options import SshOptions

T = TypeVar("T")


@dataclass(frozen=True)
class PoolKey:
    """Who a connection is for; two runs share a connection only if every field is equal."""

    name: str
    host: str
    port: int | None
    user: str | None
    client_keys: tuple[Path, ...]
    use_agent: bool
    ssh_config: Path | None
    known_hosts: tuple[Path, ...]

    @classmethod
    def of(
        cls, name: str, host: str, port: int | None, user: str | None, options: SshOptions
    ) -> PoolKey:
        return cls(
            name,
            host,
            port,
            user,
            options.client_keys,
            options.use_agent,
            options.ssh_config,
            options.known_hosts,
        )


@dataclass
class _Idle:
    transport: SshTransport
    since: float


class ConnectionPool:
    """Idle connections by key, least recently returned first; at most ``size`` of them.

    ``clock`` is monotonic seconds (injected by tests). Every method runs on one event loop.
    """

    def __init__(
        self, size: int, idle_seconds: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.size = size
        self.idle_seconds = idle_seconds
        self.clock = clock
        self._idle: OrderedDict[int, tuple[PoolKey, _Idle]] = OrderedDict()
        self._lent: dict[int, PoolKey] = {}
        self._doomed: set[int] = set()
        """Lent connections whose server changed meanwhile: closed when they come back."""
        self._reaper: asyncio.Task[None] | None = None
        self._closed = False
        self.opened = 0
        """Connections handed out new (each one a connect and login); tests and the bench count."""
        self.reused = 0
        """Times an idle connection was handed out again."""

    def __len__(self) -> int:
        """Idle connections held now."""
        return len(self._idle)

    def idle_keys(self) -> list[PoolKey]:
        return [key for key, _ in self._idle.values()]

    def take(self, key: PoolKey, make: Callable[[], SshTransport]) -> SshTransport:
        """The most recently returned idle connection for ``key``, else a new one from ``make``."""
        for ident in reversed(self._idle):
            held, idle = self._idle[ident]
            if held == key:
                del self._idle[ident]
                self._lent[ident] = key
                idle.transport.reused = True
                self.reused += 1
                return idle.transport
        transport = make()
        self._lent[id(transport)] = key
        self.opened += 1
        return transport

    async def give_back(self, transport: SshTransport, keep: bool) -> None:
        """End a loan: keep the connection idle if it is open and may be kept, else close it."""
        ident = id(transport)
        key = self._lent.pop(ident, None)
        doomed = ident in self._doomed
        self._doomed.discard(ident)
        kept = keep and not doomed and not self._closed and transport.is_open()
        if key is None or not kept or self.size <= 0 or self.idle_seconds <= 0:
            await transport.close()
            return
        self._idle[ident] = (key, _Idle(transport, self.clock()))
        while len(self._idle) > self.size:
            _, (_, oldest) = self._idle.popitem(last=False)
            await oldest.transport.close()
        self._ensure_reaper()

    async def discard(self, name: str | None = None) -> int:
        """Close the idle connections of server ``name`` (every server: None) and mark its lent
        ones to close on return; the number closed now."""
        for ident, key in self._lent.items():
            if name is None or key.name == name:
                self._doomed.add(ident)
        gone = [i for i, (key, _) in self._idle.items() if name is None or key.name == name]
        await self._close_idle(gone)
        return len(gone)

    async def reap(self) -> int:
        """Close connections idle for ``idle_seconds`` or more; the number closed."""
        cutoff = self.clock() - self.idle_seconds
        old = [i for i, (_, idle) in self._idle.items() if idle.since <= cutoff]
        await self._close_idle(old)
        return len(old)

    async def _close_idle(self, idents: list[int]) -> None:
        """Taken out first, closed after: a close awaits, and meanwhile a run may borrow."""
        closing = [self._idle.pop(ident)[1].transport for ident in idents]
        for transport in closing:
            await transport.close()

    def _next_expiry(self) -> float | None:
        if not self._idle:
            return None
        oldest = min(idle.since for _, idle in self._idle.values())
        return max(0.0, oldest + self.idle_seconds - self.clock())

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.create_task(self._reap_forever(), name="ssh-pool-reaper")

    async def _reap_forever(self) -> None:
        """Sleeps until the oldest idle connection expires; ends when nothing is idle."""
        while (delay := self._next_expiry()) is not None:
            await asyncio.sleep(delay)
            await self.reap()

    async def close(self) -> None:
        """Close every idle connection, stop the reaper; lent ones close when returned."""
        self._closed = True
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        await self.discard(None)


class PooledTransport:
    """A server run's :class:`~otter_tui.transport.base.Transport` that borrows from the pool.

    :meth:`connect` borrows (an idle connection, or a new one that logs in and verifies the
    host key), :meth:`close` gives it back. A run cancelled or broken mid-operation closes it.
    """

    def __init__(
        self, pool: ConnectionPool, key: PoolKey, make: Callable[[], SshTransport]
    ) -> None:
        self.name = key.name
        self.pool = pool
        self.key = key
        self._make = make
        self._inner: SshTransport | None = None
        self._busy = 0
        self._keep = True

    @property
    def channels(self) -> int:
        return self._inner.channels if self._inner is not None else 0

    async def _borrowed(self) -> SshTransport:
        if self._inner is None:
            self._inner = self.pool.take(self.key, self._make)
        return self._inner

    async def connect(self) -> None:
        inner = await self._borrowed()
        await self._guard(inner.connect())

    async def _guard(self, step: Awaitable[T]) -> T:
        """Any failure other than a one-line refusal (cancel, bug) rules out keeping it."""
        self._busy += 1
        try:
            return await step
        except OtterError:
            raise
        except BaseException:
            self._keep = False
            raise
        finally:
            self._busy -= 1

    async def run(self, command: Command, on_line: LineSink | None = None) -> CommandResult:
        inner = await self._borrowed()
        return await self._guard(inner.run(command, on_line))

    async def stat(self, path: str) -> FileStat | None:
        inner = await self._borrowed()
        return await self._guard(inner.stat(path))

    async def read_file(self, path: str, size_hint: int | None = None) -> bytes | None:
        inner = await self._borrowed()
        return await self._guard(inner.read_file(path, size_hint))

    async def write_file(self, path: str, data: bytes, mode: int | None = None) -> None:
        inner = await self._borrowed()
        await self._guard(inner.write_file(path, data, mode))

    async def close(self) -> None:
        """Give the connection back (closed instead when closed mid-operation); idempotent."""
        inner, self._inner = self._inner, None
        if inner is not None:
            await self.pool.give_back(inner, self._keep and self._busy == 0)

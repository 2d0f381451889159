"""One command running on a server over SSH: its output streamed, and ended when interrupted.

Split from ``ssh.py`` (the connection and its SFTP session), which starts it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING

import asyncssh

from otter_tui.errors import TransportError
from otter_tui.transport.base import Command, CommandResult, LineSink
from otter_tui.transport.lines import OutputTail, Release, pump_lines
from otter_tui.transport.local import settle

if TYPE_CHECKING:
    from otter_tui.transport.ssh import SshTransport


class RemoteRun:
    """One running remote command: streams its output and, if interrupted, ends it."""

    def __init__(
        self,
        transport: SshTransport,
        conn: asyncssh.SSHClientConnection,
        process: asyncssh.SSHClientProcess[bytes],
        on_line: LineSink | None,
    ) -> None:
        self.transport = transport
        self.conn = conn
        self.process = process
        self.pgid: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        cap = transport.options.output_cap
        self.out, self.err = OutputTail(cap), OutputTail(cap)
        self.released = Release()
        """Set when stopping (after SIGTERM): the pumps stop honouring backpressure and read the
        command's last output at once, so its channel can close (sshd keeps a channel open
        while it has output we have not taken)."""
        self.pumps = [
            asyncio.create_task(self._pump_stdout(on_line)),
            asyncio.create_task(
                pump_lines(process.stderr.read, "stderr", on_line, self.err, self.released)
            ),
        ]

    async def finish(self, command: Command) -> CommandResult:
        """Wait for the end; on any interruption end the remote command before propagating."""
        try:
            for pump in self.pumps:
                await asyncio.shield(pump)
            await asyncio.shield(self.process.wait_closed())
        except (OSError, asyncssh.Error) as exc:
            await outlast_cancels(self.stop())
            raise self.transport._lost(exc) from None
        except BaseException:
            await outlast_cancels(self.stop())
            raise
        status = self.process.returncode
        if status is None:
            raise TransportError(
                f"{self.transport.name}: connection lost while running {command.display()}"
            )
        return CommandResult(status, self.out.text(), self.err.text())

    async def _pump_stdout(self, on_line: LineSink | None) -> None:
        """The first stdout line is the wrapper's PID; the rest is the command's output.

        A first line that is not a PID (a login shell like nologin that never ran the wrapper)
        is output like any other, so its message reaches the operator.
        """
        stdout = self.process.stdout
        leftover: list[bytes] = []
        try:
            first = await stdout.readline()
            is_pid = first.strip().isdigit()
            self.pgid.set_result(int(first) if is_pid else None)
            leftover = [] if is_pid or not first else [first]
        finally:
            if not self.pgid.done():
                self.pgid.set_result(None)

        async def read(size: int) -> bytes:
            return leftover.pop() if leftover else await stdout.read(size)

        await pump_lines(read, "stdout", on_line, self.out, self.released)

    async def stop(self) -> None:
        """SIGTERM the remote group; SIGKILL it if the channel is still open after the grace.

        Output held back by log backpressure is released only once SIGTERM is delivered: the
        signal takes a channel of its own (a shell on the server, ~0.3 s), and a command let
        loose meanwhile (``yes``) would print hundreds of thousands of lines into memory.
        """
        grace = self.transport.options.kill_grace
        try:
            pgid = await asyncio.wait_for(asyncio.shield(self.pgid), grace)
        except TimeoutError:
            pgid = None
        if pgid is not None:
            await self._signal(pgid, "TERM", grace)
        self.released.set()
        closed = asyncio.ensure_future(self.process.wait_closed())
        _done, pending = await asyncio.wait([closed, *self.pumps], timeout=grace)
        if pending and pgid is not None:
            await self._signal(pgid, "KILL", grace)
        self.process.close()
        settle([closed, *self.pumps])

    async def _signal(self, pgid: int, name: str, grace: float) -> None:
        line = f"kill -s {name} -- -{pgid} 2>/dev/null || kill -s {name} {pgid} 2>/dev/null"
        with contextlib.suppress(OSError, TimeoutError, asyncssh.Error):
            await asyncio.wait_for(self.conn.run(line, check=False), grace)


async def outlast_cancels(stopping: Awaitable[None]) -> None:
    """Await ``stopping`` to its end even when cancelled again meanwhile; then raise that
    cancellation.

    A run killed past its grace (a hard limit, a cancel that took too long) is cancelled a
    second time and its connection dropped right after: a stop abandoned at that moment has
    perhaps not sent its signal yet, and sshd leaves a command whose client went away running.
    ``stopping`` is bounded by the kill grace, and the engine hangs up after its own bound.
    """
    future = asyncio.ensure_future(stopping)
    cancelled = False
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError

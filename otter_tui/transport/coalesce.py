"""One socket write per event-loop turn for an SSH connection, not one per packet.

asyncssh writes every packet to its socket on its own, and after key exchange it puts an empty
``SSH_MSG_IGNORE`` before every packet (its countermeasure to attacks on CBC-mode ciphers, sent
whatever the cipher), so each SFTP request or channel message is two ``send`` calls. On
loopback each ``send`` also pays for the receiving side's kernel work, which made
``socket.send`` 30-60% of a configuration run's client CPU (bench W2: 44 sends per server, the
floor's 34). Holding what one turn of the event loop writes and sending it as one buffer halves
the calls; the bytes on the wire, their order and every check on them (host key, MACs) stay
the same: only the number of system calls changes.

Installed by the SSH client's ``connection_made`` (:class:`CoalescingClient`), before asyncssh
writes anything: the version line and the key exchange are batched the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncssh


class CoalescingTransport:
    """A write-through stand-in for the connection's socket transport that batches writes.

    Writes made in one turn of the loop are joined and handed to the real transport in a
    callback scheduled for the next turn; anything that ends or drains the stream (close,
    abort, write_eof) first hands over what is held, so nothing written is ever dropped or
    reordered.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def writelines(self, lines: Any) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        """Hand what is held to the real transport (one ``send`` when its buffer is empty)."""
        if not self._held:
            return
        data = b"".join(self._held)
        self._held.clear()
        if not self._transport.is_closing():
            with contextlib.suppress(ConnectionError):  # as asyncssh's own write does
                self._transport.write(data)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        # asyncssh aborts right after writing its disconnect message: send that first, as the
        # unwrapped transport (which writes at once) would have.
        self.flush()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        # Everything else (get_extra_info, is_closing, pause_reading, ...) is the real one's.
        return getattr(self._transport, name)


class CoalescingClient(asyncssh.SSHClient):
    """An SSH client whose connection batches its writes from its very first one."""

    def connection_made(self, conn: asyncssh.SSHClientConnection) -> None:
        coalesce_writes(conn)


def coalesce_writes(conn: asyncssh.SSHClientConnection) -> None:
    """Batch the writes of a connection (see the module docstring).

    Only a connection over its own socket is wrapped (a jump host's tunnel is a channel of
    another connection, already one write per packet there). If asyncssh ever stops keeping
    its transport where this looks, nothing is wrapped and the connection works as before.
    """
    transport = getattr(conn, "_transport", None)
    if not isinstance(transport, asyncio.Transport):
        return
    if transport.get_extra_info("socket") is None:
        return
    conn._transport = CoalescingTransport(transport, asyncio.get_running_loop())  # type: ignore[assignment]

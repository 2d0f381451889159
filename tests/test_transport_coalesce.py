"""Writes batched per event-loop turn (otter_tui/transport/coalesce.py): same bytes, fewer sends."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otter_tui.transport.base import Command
from otter_tui.transport.coalesce import CoalescingTransport
from tests.fixtures_ssh import MakeTransport


class Received(asyncio.Protocol):
    """The far end of a socket pair: what arrived, and when the stream ended."""

    def __init__(self) -> None:
        self.data = b""
        self.ended = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self.data += data

    def eof_received(self) -> None:
        self.ended.set_result(None)

    def connection_lost(self, exc: BaseException | None) -> None:
        if not self.ended.done():
            self.ended.set_result(None)


class CountingSocket(socket.socket):
    """A real socket that counts its ``send`` calls (asyncio's transport writes with ``send``)."""

    sends = 0

    def send(self, data: bytes, flags: int = 0) -> int:  # type: ignore[override]
        CountingSocket.sends += 1
        return super().send(data, flags)


@pytest.fixture
async def pair() -> AsyncIterator[tuple[CoalescingTransport, Received]]:
    loop = asyncio.get_running_loop()
    near, far = socket.socketpair()
    counted = CountingSocket(near.family, near.type, fileno=near.detach())
    CountingSocket.sends = 0
    transport, _ = await loop.create_connection(asyncio.Protocol, sock=counted)
    _, received = await loop.create_connection(Received, sock=far)
    wrapped = CoalescingTransport(transport, loop)
    yield wrapped, received
    transport.abort()


async def test_one_turn_of_writes_is_one_send_in_order(
    pair: tuple[CoalescingTransport, Received],
) -> None:
    wrapped, received = pair
    for part in (b"ignore", b"packet", b"next"):
        wrapped.write(part)
    assert CountingSocket.sends == 0 and wrapped.get_write_buffer_size() == 16
    await asyncio.sleep(0)  # one turn: the held bytes go out together
    assert CountingSocket.sends == 1
    wrapped.write(b"-later")
    wrapped.close()  # held bytes first, then the end of the stream
    await asyncio.wait_for(received.ended, 5)
    assert received.data == b"ignorepacketnext-later"


async def test_abort_sends_what_was_written_first(
    pair: tuple[CoalescingTransport, Received],
) -> None:
    wrapped, received = pair
    wrapped.write(b"disconnect message")  # asyncssh writes its goodbye, then aborts
    wrapped.abort()
    await asyncio.wait_for(received.ended, 5)
    assert received.data == b"disconnect message"


async def test_a_real_connection_is_batched_and_still_correct(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    transport = ssh_transport()
    target = tmp_path / "f.conf"
    results = await asyncio.gather(
        *(transport.run(Command.argv("echo", str(i))) for i in range(5)),
        transport.write_file(str(target), b"x" * 100_000, 0o640),
    )
    assert [r.stdout for r in results[:5] if r is not None] == [f"{i}\n" for i in range(5)]
    assert await transport.read_file(str(target)) == b"x" * 100_000
    conn = await transport._connection()
    assert isinstance(conn._transport, CoalescingTransport)

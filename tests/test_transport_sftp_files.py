"""SFTP file writes and reads with their requests sent together (otter_tui/transport/sftp_files.py).

The write sends its data, the mode (fchmod on the open handle) and the close at once; the read
sends its read and close at once. These check the result is exactly what one request at a time
gave: the wanted mode whatever the server's umask, whole files of any size, no temp left over.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.sftp_files import ONE_REQUEST_READ
from otter_tui.transport.ssh import SshTransport
from tests.fixtures_ssh import MakeTransport, require_sshd


@pytest.fixture(scope="module")
def strict_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    """One sshd started under umask 077, so its SFTP server creates files 0600 by default."""
    require_sshd()
    previous = os.umask(0o077)
    try:
        fleet = SshdFleet(tmp_path_factory.mktemp("strict-sshd"), 1).start()
    finally:
        os.umask(previous)
    yield fleet
    fleet.stop()


@pytest.fixture
async def strict(strict_fleet: SshdFleet) -> AsyncIterator[SshTransport]:
    transport = strict_fleet.transport(0)
    yield transport
    await transport.close()


def mode_of(path: Path) -> int:
    return path.stat().st_mode & 0o7777


async def test_the_wanted_mode_is_exact_under_a_restrictive_umask(
    strict: SshTransport, tmp_path: Path
) -> None:
    default = tmp_path / "default.conf"
    await strict.write_file(str(default), b"no mode given")
    assert mode_of(default) == 0o600  # the umask is in force on this server
    for name, mode in (("app.conf", 0o644), ("run.sh", 0o755), ("shared", 0o2775)):
        target = tmp_path / name
        await strict.write_file(str(target), b"x" * 300, mode)
        assert mode_of(target) == mode, name
        await strict.write_file(str(target), b"rewritten")  # mode None keeps it
        assert mode_of(target) == mode and target.read_bytes() == b"rewritten"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "app.conf",
        "default.conf",
        "run.sh",
        "shared",
    ]


@pytest.mark.parametrize(
    "size", [0, 1, ONE_REQUEST_READ - 1, ONE_REQUEST_READ, ONE_REQUEST_READ + 1, 300_000]
)
async def test_files_of_every_size_round_trip(
    ssh_transport: MakeTransport, tmp_path: Path, size: int
) -> None:
    transport = ssh_transport()
    target = tmp_path / "data.bin"
    data = bytes(i % 251 for i in range(size))
    await transport.write_file(str(target), data, 0o640)
    assert target.read_bytes() == data and mode_of(target) == 0o640
    assert await transport.read_file(str(target), size) == data
    assert await transport.read_file(str(target)) == data
    # A stale hint (the file changed since the look) never truncates or pads what is read.
    assert await transport.read_file(str(target), max(0, size - 1)) == data
    assert await transport.read_file(str(target), size + 1) == data
    assert [p.name for p in tmp_path.iterdir()] == ["data.bin"]


async def test_a_session_stays_usable_after_many_batched_requests(
    ssh_transport: MakeTransport, tmp_path: Path
) -> None:
    transport = ssh_transport()
    for i in range(50):  # every batch answered in order, on the one session
        path = tmp_path / f"f{i}"
        await transport.write_file(str(path), f"{i}\n".encode(), 0o600)
        assert await transport.read_file(str(path), 2 + (i >= 10)) == f"{i}\n".encode()
    assert len(list(tmp_path.iterdir())) == 50

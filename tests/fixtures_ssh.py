"""Real sshd fixtures: a session-wide fleet on 127.0.0.1 and transports to its servers.

Without /usr/sbin/sshd the SSH tests skip on a developer machine, but fail in CI (``CI`` set):
a CI that silently skips every claim about SSH would be green for the wrong reason.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from otter_tui.testing.sshd import SSHD, SshdFleet
from otter_tui.transport.ssh import SshTransport

FLEET_SIZE = 4

MakeTransport = Callable[..., SshTransport]


def require_sshd() -> None:
    """Skip when sshd is absent, unless running in CI, where the fleet start then fails loudly."""
    if not SSHD.exists() and not os.environ.get("CI"):
        pytest.skip(f"{SSHD} not installed (apt-get install openssh-server); set CI=1 to fail")


@pytest.fixture(scope="session")
def ssh_fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    """Four servers for the whole session; tests must not rekey or stop them."""
    require_sshd()
    with SshdFleet(tmp_path_factory.mktemp("fleet"), FLEET_SIZE) as fleet:
        yield fleet


@pytest.fixture
def lone_sshd(tmp_path: Path) -> Iterator[SshdFleet]:
    """A one-server fleet of the test's own, for tests that change host keys."""
    require_sshd()
    with SshdFleet(tmp_path / "lone", 1) as fleet:
        yield fleet


@pytest.fixture
async def ssh_transport(ssh_fleet: SshdFleet) -> AsyncIterator[MakeTransport]:
    """``make(index=0, **SshOptions overrides)``: a transport to a fleet server, closed after."""
    made: list[SshTransport] = []

    def make(index: int = 0, **overrides: Any) -> SshTransport:
        made.append(ssh_fleet.transport(index, **overrides))
        return made[-1]

    yield make
    for transport in made:
        await transport.close()


def pgrep(pattern: str) -> list[int]:
    """PIDs whose command line matches ``pattern`` (zombies have none, so they never match)."""
    found = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True, check=False)
    return [int(pid) for pid in found.stdout.split()]


async def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until true or ``timeout``; for effects on another process."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


def unique_sleep() -> str:
    """A ``sleep N`` command line no other test (or person) is running."""
    return f"sleep {random.randint(100_000, 999_999)}"

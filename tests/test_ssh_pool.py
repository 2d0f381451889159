"""The warm connection pool against real sshd servers.

Which connection a run used is read on the server: ``$PPID`` of a command is the sshd process
that serves its connection, so two runs on one connection print the same number, and killing
that process breaks the connection as a crash or a network cut would.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from typing import Any

import pytest

from otter_tui.errors import HostKeyError, TransportError
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.base import Command
from otter_tui.transport.pool import ConnectionPool, PooledTransport, PoolKey
from otter_tui.transport.ssh import SshTransport
from tests.fixtures_ssh import wait_until

IDLE = 60.0


@dataclass
class Monotonic:
    """Monotonic seconds that move only when the test moves them."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def borrow(pool: ConnectionPool, fleet: SshdFleet, index: int = 0, **over: Any) -> PooledTransport:
    """A run's transport to ``fleet.servers[index]``; ``over``: user or SshOptions fields."""
    server = fleet.servers[index]
    user = over.pop("user", server.user)
    options = fleet.ssh_options(**over)
    key = PoolKey.of(server.name, server.host, server.port, user, options)
    return PooledTransport(
        pool, key, lambda: SshTransport(server.name, server.host, server.port, user, options)
    )


async def sshd_pid(transport: PooledTransport) -> int:
    """The server-side process of the connection the transport holds."""
    result = await transport.run(Command.shell("echo $PPID"))
    assert result.ok, result.stderr
    return int(result.stdout)


async def one_run(pool: ConnectionPool, fleet: SshdFleet, index: int = 0, **over: Any) -> int:
    """Borrow, run one command, give back; the sshd process that served it."""
    transport = borrow(pool, fleet, index, **over)
    try:
        await transport.connect()
        return await sshd_pid(transport)
    finally:
        await transport.close()


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_a_second_run_reuses_the_connection_and_runs_do_not_share_one(
    ssh_fleet: SshdFleet,
) -> None:
    pool = ConnectionPool(8, IDLE)
    first = await one_run(pool, ssh_fleet)
    assert await one_run(pool, ssh_fleet) == first
    assert (pool.opened, pool.reused, len(pool)) == (1, 1, 1)
    a, b = borrow(pool, ssh_fleet), borrow(pool, ssh_fleet)
    await a.connect()
    await b.connect()  # the idle one is lent to a; b, running at the same time, gets its own
    assert {await sshd_pid(a), await sshd_pid(b)} == {first, await sshd_pid(b)}
    assert await sshd_pid(a) != await sshd_pid(b)
    await a.close()
    await b.close()
    assert (pool.opened, len(pool)) == (2, 2)
    late = borrow(pool, ssh_fleet)
    await late.connect()
    await pool.close()
    assert len(pool) == 0
    assert await wait_until(lambda: gone(first))
    await late.close()  # lent while the pool closed: closed on return, not kept
    assert len(pool) == 0


async def test_idle_connections_close_after_the_idle_time(ssh_fleet: SshdFleet) -> None:
    clock = Monotonic()
    pool = ConnectionPool(8, IDLE, clock=clock)
    pid = await one_run(pool, ssh_fleet)
    clock.now += IDLE - 1
    assert await pool.reap() == 0 and len(pool) == 1
    clock.now += 1
    assert await pool.reap() == 1 and len(pool) == 0
    assert await wait_until(lambda: gone(pid))
    assert await one_run(pool, ssh_fleet) != pid
    assert pool.opened == 2
    await pool.close()


async def test_the_reaper_closes_idle_connections_on_its_own(ssh_fleet: SshdFleet) -> None:
    pool = ConnectionPool(8, 0.2)
    pid = await one_run(pool, ssh_fleet)
    assert await wait_until(lambda: len(pool) == 0)
    assert await wait_until(lambda: gone(pid))
    await pool.close()


async def test_the_pool_keeps_at_most_its_size_least_recently_used_closed_first(
    ssh_fleet: SshdFleet,
) -> None:
    pool = ConnectionPool(2, IDLE)
    pids = [await one_run(pool, ssh_fleet, i) for i in range(3)]
    assert len(pool) == 2
    assert [key.name for key in pool.idle_keys()] == [s.name for s in ssh_fleet.servers[1:3]]
    assert await wait_until(lambda: gone(pids[0]))
    await pool.close()
    assert ConnectionPool(0, IDLE).size == 0
    none_kept = ConnectionPool(0, IDLE)
    pid = await one_run(none_kept, ssh_fleet)
    assert len(none_kept) == 0 and await wait_until(lambda: gone(pid))


async def test_discarding_a_server_closes_its_idle_and_lent_connections(
    ssh_fleet: SshdFleet,
) -> None:
    pool = ConnectionPool(8, IDLE)
    idle = await one_run(pool, ssh_fleet, 0)
    other = await one_run(pool, ssh_fleet, 1)
    lent = borrow(pool, ssh_fleet, 0)
    await lent.connect()
    await lent.close()  # back: idle again, the same connection
    lent = borrow(pool, ssh_fleet, 0)
    assert await sshd_pid(lent) == idle
    assert await pool.discard(ssh_fleet.servers[0].name) == 0  # it is lent, so marked
    await lent.close()
    assert [key.name for key in pool.idle_keys()] == [ssh_fleet.servers[1].name]
    assert await wait_until(lambda: gone(idle))
    assert not gone(other)
    await pool.close()


async def test_a_different_user_or_credential_never_gets_the_warm_connection(
    ssh_fleet: SshdFleet, tmp_path: Any
) -> None:
    pool = ConnectionPool(8, IDLE)
    await one_run(pool, ssh_fleet)
    with pytest.raises(TransportError, match=r"login as nobody-else .* refused"):
        await one_run(pool, ssh_fleet, user="nobody-else")
    other_key = tmp_path / "id_other"
    other_key.write_text("")
    with pytest.raises(TransportError, match="client key"):
        await one_run(pool, ssh_fleet, client_keys=(other_key,))
    assert (pool.opened, pool.reused, len(pool)) == (3, 0, 1)
    await pool.close()


async def test_a_new_connection_checks_the_host_key_again(lone_sshd: SshdFleet) -> None:
    clock = Monotonic()
    pool = ConnectionPool(8, IDLE, clock=clock)
    await one_run(pool, lone_sshd)
    lone_sshd.rekey(0)
    clock.now += IDLE
    await pool.reap()
    with pytest.raises(HostKeyError, match="host key CHANGED"):
        await one_run(pool, lone_sshd)
    assert (pool.opened, len(pool)) == (2, 0)
    await pool.close()


@pytest.mark.parametrize("noticed", [True, False], ids=["noticed", "unnoticed"])
async def test_a_killed_connection_is_replaced_without_failing_the_run(
    ssh_fleet: SshdFleet, noticed: bool
) -> None:
    """Noticed: the loop saw the connection close while it was idle. Unnoticed: it died just
    before it was lent (the loop has not run since), so the first channel open fails."""
    pool = ConnectionPool(8, IDLE)
    pid = await one_run(pool, ssh_fleet, 2)
    os.kill(pid, signal.SIGKILL)
    if noticed:
        assert await wait_until(lambda: gone(pid))
    else:
        deadline = time.monotonic() + 10
        while not gone(pid) and time.monotonic() < deadline:
            time.sleep(0.005)  # no await: the loop must not see the connection close
    transport = borrow(pool, ssh_fleet, 2)
    try:
        await transport.connect()
        new_pid = await sshd_pid(transport)
    finally:
        await transport.close()
    assert new_pid != pid and not gone(new_pid)
    assert pool.reused == 1 and len(pool) == 1
    await pool.close()

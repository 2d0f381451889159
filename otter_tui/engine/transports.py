"""Build a server's transport from its record and the SSH settings.

One factory for the whole engine, so every server run of every job gets the same trust rules:
the user's known_hosts plus the app's own, agent forwarding off, passwords and key passphrases
only from the keyring. Given a pool (console, daemon), SSH runs borrow warm connections from it.

SSH on first use: ``transport.ssh`` (asyncssh and cryptography, about a quarter of a second of
CPU) is imported when the first SSH server's transport is made, so a job on local servers only,
or one that runs on no server, starts without it.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from otter_tui.config import Settings
from otter_tui.engine.targets import ServerFacts
from otter_tui.heap import collector_paused
from otter_tui.transport.base import Transport
from otter_tui.transport.local import LocalTransport

if TYPE_CHECKING:
    from otter_tui.transport.pool import ConnectionPool
    from otter_tui.transport.ssh import SshTransport
    from otter_tui.transport.ssh_options import SshOptions

TransportFactory = Callable[[ServerFacts], Transport]

POOL_KEEPALIVE_SECONDS = 30.0
"""Keepalive of pooled connections: one the network dropped while idle is noticed and closed."""


def ssh_options(settings: Settings) -> SshOptions:
    from otter_tui.transport.ssh_options import SshOptions

    ssh = settings.ssh
    return SshOptions(
        known_hosts=(Path(ssh.known_hosts).expanduser(), settings.app_known_hosts),
        client_keys=tuple(Path(k).expanduser() for k in ssh.client_keys),
        use_agent=ssh.use_agent,
        connect_timeout=ssh.connect_timeout,
        max_concurrent_connects=ssh.max_concurrent_connects,
        secret_lookup=keyring_lookup,
        ssh_config=Path(ssh.ssh_config).expanduser() if ssh.ssh_config else None,
        ciphers=ssh.ciphers,
    )


def keyring_lookup(kind: str, subject: str) -> str | None:
    """The keyring lookup, imported when a password or passphrase is first needed: keyring
    (and the entry points it scans) is most of a key-based run's start-up it does not use."""
    from otter_tui.transport.credentials import keyring_lookup as lookup

    return lookup(kind, subject)


def default_transports(settings: Settings, pool: ConnectionPool | None = None) -> TransportFactory:
    """Fresh connections per run, or (``pool`` given) connections borrowed from it.

    The SSH options are read from ``settings`` when the first SSH server's transport is made
    (with its module), so a job on local servers only builds none of them.
    """
    if pool is not None:
        options = ssh_options(settings)
        return _pooled(
            pool, dataclasses.replace(options, keepalive_interval=POOL_KEEPALIVE_SECONDS)
        )
    first_use = functools.cache(lambda: ssh_options(settings))

    def make(server: ServerFacts) -> Transport:
        if server.transport == "local":
            return LocalTransport(server.name)
        user = server.user or None
        return _ssh()(server.name, server.host, server.port, user, first_use())

    return make


def _pooled(pool: ConnectionPool, options: SshOptions) -> TransportFactory:
    from otter_tui.transport.pool import PooledTransport, PoolKey

    def make(server: ServerFacts) -> Transport:
        if server.transport == "local":
            return LocalTransport(server.name)
        name, host, port, user = server.name, server.host, server.port, server.user or None
        key = PoolKey.of(name, host, port, user, options)
        return PooledTransport(pool, key, lambda: _ssh()(name, host, port, user, options))

    return make


@functools.cache
def _ssh() -> type[SshTransport]:
    """The SSH transport class, imported on first use (see "SSH on first use" above)."""
    with collector_paused():
        from otter_tui.transport.ssh import SshTransport

    return SshTransport

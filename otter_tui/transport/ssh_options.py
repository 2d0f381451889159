"""What every SSH transport of a fleet shares: options, the handshake gate, parsed client keys.

Split from ``ssh.py`` (one server's connection), which re-uses these for every server.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from otter_tui.transport.ciphers import cipher_order
from otter_tui.transport.local import DEFAULT_OUTPUT_CAP, KILL_GRACE

if TYPE_CHECKING:
    import asyncssh

SecretLookup = Callable[[str, str], "str | None"]
"""``(kind, subject) -> secret or None``: ``("password", server name)`` or
``("passphrase", key file path)``. Called only when the secret is needed, in a worker thread."""


@dataclass(frozen=True)
class SshOptions:
    """How to reach and trust servers; shared by every transport of a fleet."""

    known_hosts: tuple[Path, ...] = (Path("~/.ssh/known_hosts"),)
    """Files of trusted host keys (the user's and the app's own); missing files are fine."""
    client_keys: tuple[Path, ...] = ()
    """Private key files; empty means asyncssh's defaults (``~/.ssh/id_*``, ``IdentityFile``)."""
    use_agent: bool = True
    """Offer keys from the ssh-agent at ``SSH_AUTH_SOCK``."""
    connect_timeout: float = 10.0
    """Seconds for TCP connect, key exchange and login together (after a connect slot is free)."""
    max_concurrent_connects: int = 64
    """Handshakes in flight at once in this process (see :func:`connect_slots`)."""
    secret_lookup: SecretLookup | None = field(default=None, compare=False)
    """Where a password or key passphrase comes from (normally the keyring)."""
    ssh_config: Path | None = Path("~/.ssh/config")
    """An ssh_config file for host, port, user and ProxyJump; None or missing: not used."""
    kill_grace: float = KILL_GRACE
    keepalive_interval: float = 0.0
    """Seconds between SSH keepalives (0: none). Pooled connections use them so one the network
    silently dropped is noticed and closed while idle, not handed to the next run."""
    """Seconds a cancelled command gets between SIGTERM and SIGKILL."""
    output_cap: int = DEFAULT_OUTPUT_CAP
    """Characters of each stream a ``CommandResult`` keeps."""
    ciphers: tuple[str, ...] = ()
    """The operator's cipher order (``ssh.ciphers``); empty: see :func:`offered_ciphers`."""

    @property
    def agent_forwarding(self) -> bool:
        """Always False: a server we change must not be able to use the operator's agent."""
        return False


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[int, asyncio.Semaphore]] = (
    weakref.WeakKeyDictionary()
)


def connect_slots(limit: int) -> asyncio.Semaphore:
    """The running loop's gate on SSH handshakes, shared by every transport with this limit.

    Key exchange and login cost CPU on both ends; hundreds at once on a small machine all
    finish late and time out together, so handshakes queue here and sessions do not.
    """
    per_loop = _SLOTS.setdefault(asyncio.get_running_loop(), {})
    if limit not in per_loop:
        per_loop[limit] = asyncio.Semaphore(max(1, limit))
    return per_loop[limit]


@dataclass(frozen=True)
class Endpoint:
    """Where a transport really connects, after ssh_config: for messages and host-key trust."""

    host: str
    port: int
    user: str
    jumps: tuple[str, ...]
    """``[user@]host[:port]`` hops from ProxyJump, in order."""
    config_ciphers: bool = False
    """ssh_config sets ``Ciphers`` for this host: asyncssh applies them, we add no order."""


def offered_ciphers(options: SshOptions, where: Endpoint) -> tuple[str, ...]:
    """The ``encryption_algs`` to pass: the operator's order from config.toml first, then
    ssh_config's ``Ciphers`` (empty: asyncssh reads them), else the CPU's cheapest order."""
    if options.ciphers or not where.config_ciphers:
        return cipher_order(options.ciphers)
    return ()


def config_paths(options: SshOptions) -> list[str] | None:
    """The ssh_config file as asyncssh takes it, or None when there is none to read."""
    path = options.ssh_config
    if path is None or not path.expanduser().is_file():
        return None
    return [str(path.expanduser())]


def resolve_endpoint(
    options: SshOptions, host: str, port: int | None, user: str | None
) -> Endpoint:
    """Where a connection really goes after ssh_config (reads the file; no network), and
    whether that file sets ``Ciphers`` for the host (asyncssh's defaults are what it leaves)."""
    import asyncssh
    from asyncssh.encryption import get_default_encryption_algs

    resolved = asyncssh.SSHClientConnectionOptions(
        config=config_paths(options),
        host=host,
        port=port if port is not None else (),
        username=user if user is not None else (),
        client_keys=None,
        agent_path=None,
    )
    tunnel = resolved.tunnel
    jumps = tuple(tunnel.split(",")) if isinstance(tunnel, str) else ()
    own_ciphers = list(resolved.encryption_algs) != get_default_encryption_algs()
    return Endpoint(resolved.host, resolved.port, resolved.username, jumps, own_ciphers)


def plain_keypairs(path: Path) -> Sequence[asyncssh.SSHKeyPair]:
    """A key file that needs no passphrase, parsed once per (path, mtime, size) for the whole
    process: a fan-out opens hundreds of connections with the same key, and parsing it for each
    one cost the event loop more than the key exchange's own client side. A key with a
    passphrase is never cached (it is asked for per connection, as before)."""
    info = path.stat()
    return _parse_plain_keypairs(str(path), info.st_mtime_ns, info.st_size)


@functools.lru_cache(maxsize=16)
def _parse_plain_keypairs(path: str, _mtime: int, _size: int) -> Sequence[asyncssh.SSHKeyPair]:
    import asyncssh  # only a process that connects over SSH pays for it (engine/transports.py)

    return tuple(asyncssh.load_keypairs([path]))


def parse_hop(hop: str) -> tuple[str | None, str, int | None]:
    """``[user@]host[:port]`` from ProxyJump into its parts."""
    user, _, rest = hop.rpartition("@")
    host, _, port = rest.partition(":")
    return (user or None, host, int(port) if port else None)

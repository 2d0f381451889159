"""Trusting a server's SSH host key: the explicit step after "unknown host key".

The SSH transport refuses any key not recorded in the user's known_hosts or the app's own
(``settings.app_known_hosts``). ``trust`` fetches the key the server presents now (key exchange
only: nothing is authenticated or run), shows its fingerprint and records it in the app's file.
A key that differs from one already recorded for that host is a changed key: it is refused
unless the operator asks to replace it, and the app's old entry is then removed. The user's own
known_hosts is only read, never edited.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import asyncssh

from otter_tui.errors import HostKeyError, TransportError, UsageError
from otter_tui.services.context import ServiceContext
from otter_tui.services.inventory import get_server
from otter_tui.store.models import TransportKind
from otter_tui.transport.known_hosts import (
    fetch_host_key,
    fingerprint,
    load_known_hosts,
    parse_key,
    recorded_keys,
    trust_host_key,
)
from otter_tui.transport.ssh import SshTransport
from otter_tui.transport.ssh_options import Endpoint, SshOptions

KeyFetcher = Callable[[str, int, float], Awaitable[tuple[str, str]]]
"""``(host, port, timeout) -> (key line, fingerprint)``; tests may pass their own."""


@dataclass(frozen=True)
class TrustResult:
    """What ``trust`` found and did, for the CLI (and later the TUI) to show."""

    server: str
    host: str
    port: int
    algorithm: str
    fingerprint: str
    """``SHA256:...`` as OpenSSH shows it."""
    outcome: str
    """``trusted`` (newly recorded), ``already trusted`` or ``replaced``."""
    replaced: tuple[str, ...]
    """Fingerprints of the different keys that were recorded for this host before."""
    file: Path
    """The app's known_hosts, where the key is recorded."""
    stale: tuple[Path, ...] = ()
    """Other files (the user's known_hosts) that still record a replaced key: not edited."""

    def as_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "host": self.host,
            "port": self.port,
            "algorithm": self.algorithm,
            "fingerprint": self.fingerprint,
            "outcome": self.outcome,
            "replaced": list(self.replaced),
            "file": str(self.file),
            "stale": [str(p) for p in self.stale],
        }


@dataclass(frozen=True)
class _Target:
    name: str
    endpoint: Endpoint


class TrustService:
    """Fetch, show and record host keys of servers in the inventory."""

    def __init__(self, ctx: ServiceContext, fetch: KeyFetcher = fetch_host_key) -> None:
        self.ctx = ctx
        self._fetch = fetch

    @property
    def known_hosts_files(self) -> tuple[Path, ...]:
        """Every file the SSH transport trusts: the user's known_hosts, then the app's own."""
        ssh = self.ctx.settings.ssh
        return (Path(ssh.known_hosts).expanduser(), self.ctx.settings.app_known_hosts)

    async def trust(self, name: str, *, replace: bool = False) -> TrustResult:
        """Record the key server ``name`` presents; a changed key needs ``replace``."""
        target = await asyncio.to_thread(self._target, name)
        where = target.endpoint
        timeout = self.ctx.settings.ssh.connect_timeout
        try:
            line, shown = await self._fetch(where.host, where.port, timeout)
        except TransportError as exc:
            raise TransportError(f"{name}: {exc}") from None
        return await asyncio.to_thread(self._record, target, line, shown, replace)

    def _target(self, name: str) -> _Target:
        """The server's resolved address; checks the permission before any network traffic."""
        with self.ctx.db.session() as s:
            self.ctx.require(s, "inventory.edit")
            server = get_server(s, name)
            if server.transport is not TransportKind.SSH:
                raise UsageError(f"server '{name}' uses the local transport: it has no host key")
            host, port, user = server.host, server.port, server.user
        endpoint = self.resolve_endpoint(name, host, port, user)
        if endpoint.jumps:
            raise UsageError(
                f"server '{name}' is reached through ProxyJump ({', '.join(endpoint.jumps)}): "
                "trusting through a jump host is not supported; add its key to "
                f"{self.ctx.settings.app_known_hosts} with ssh-keyscan from the jump host"
            )
        return _Target(name, endpoint)

    def resolve_endpoint(self, name: str, host: str, port: int, user: str) -> Endpoint:
        """Host and port after ~/.ssh/config, exactly as the SSH transport will dial them."""
        config = self.ctx.settings.ssh.ssh_config
        options = SshOptions(ssh_config=Path(config).expanduser() if config else None)
        try:
            return SshTransport(name, host, port, user or None, options).endpoint()
        except (OSError, ValueError) as exc:
            raise UsageError(f"{name}: cannot use ssh_config {config}: {exc}") from None

    def _record(self, target: _Target, line: str, shown: str, replace: bool) -> TrustResult:
        key = parse_key(line)
        host, port = target.endpoint.host, target.endpoint.port
        known = load_known_hosts(self.known_hosts_files)
        recorded = recorded_keys(known, host, port)
        others = tuple(fingerprint(k) for k in recorded if k != key)
        if key in recorded:
            outcome = "already trusted"
        elif others and not replace:
            raise HostKeyError(
                f"{target.name}: host key CHANGED for {host}:{port}: it now presents "
                f"{key.get_algorithm()} {shown}, not the recorded {', '.join(others)}; "
                f"not trusted (if the server was really reinstalled, run "
                f"`otter-tui servers trust {target.name} --replace`)"
            )
        else:
            self._write(target, line, replace)
            outcome = "replaced" if others else "trusted"
        return TrustResult(
            target.name,
            host,
            port,
            key.get_algorithm(),
            shown,
            outcome,
            others if outcome == "replaced" else (),
            self.ctx.settings.app_known_hosts,
            self._stale(host, port, key) if outcome == "replaced" else (),
        )

    def _stale(self, host: str, port: int, key: asyncssh.SSHKey) -> tuple[Path, ...]:
        """Files other than the app's that still record another key for ``host:port``."""
        app = self.ctx.settings.app_known_hosts
        return tuple(
            path
            for path in self.known_hosts_files
            if path != app
            and any(k != key for k in recorded_keys(load_known_hosts([path]), host, port))
        )

    def _write(self, target: _Target, line: str, replace: bool) -> None:
        """Record the key in the app's file, with an audit event, in one transaction."""
        host, port = target.endpoint.host, target.endpoint.port
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            trust_host_key(self.ctx.settings.app_known_hosts, host, port, line, replace=replace)
            self.ctx.audit(s, "server.trust", "server", target.name, host=host, port=port, key=line)

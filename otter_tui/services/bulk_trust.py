"""Trusting a whole fleet's host keys at once: from an existing known_hosts, or by fetching.

``scan`` fetches the key every SSH server presents, in parallel, and classifies each against
every trusted file: ``new`` (nothing recorded), ``already trusted``, or ``CHANGED`` (another
key recorded). ``trust`` then records the new ones in one go. A CHANGED key is only ever
reported, never replaced: that stays the single-server ``servers trust NAME --replace``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

import asyncssh
from sqlalchemy import select

from otter_tui.errors import TransportError, UsageError
from otter_tui.services.context import ServiceContext
from otter_tui.services.trust import KeyFetcher, TrustService
from otter_tui.store.models import Server, TransportKind
from otter_tui.transport.known_hosts import (
    fetch_host_key,
    fingerprint,
    key_line,
    load_known_hosts,
    parse_key,
    recorded_keys,
    trust_host_keys,
)

NEW, TRUSTED, ALREADY, CHANGED = "new", "trusted", "already trusted", "CHANGED (refused)"
UNREACHABLE, ABSENT, SKIPPED = "unreachable", "not in file", "skipped"


@dataclass(frozen=True)
class KeyRow:
    """One server's line of the bulk-trust table."""

    server: str
    host: str
    port: int
    fingerprint: str
    outcome: str
    detail: str = ""
    keys: tuple[str, ...] = ()
    """Key lines to record when the outcome is ``new``."""

    def as_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "host": self.host,
            "port": self.port,
            "fingerprint": self.fingerprint,
            "outcome": self.outcome,
            "detail": self.detail,
        }


class BulkTrustService:
    """``servers trust --all`` and ``servers trust --from-known-hosts``."""

    def __init__(self, ctx: ServiceContext, fetch: KeyFetcher = fetch_host_key) -> None:
        self.ctx = ctx
        self._single = TrustService(ctx, fetch)
        self._fetch = fetch

    async def scan(self) -> list[KeyRow]:
        """Every SSH server's presented key, fetched in parallel, classified; nothing written."""
        targets = await asyncio.to_thread(self._targets)
        limit = asyncio.Semaphore(max(1, self.ctx.settings.ssh.max_concurrent_connects))
        known = await asyncio.to_thread(load_known_hosts, self._single.known_hosts_files)

        async def one(row: KeyRow) -> KeyRow:
            if row.outcome == SKIPPED:
                return row
            async with limit:
                try:
                    line, _ = await self._fetch(row.host, row.port, self._timeout)
                except TransportError as exc:
                    return replace(row, outcome=UNREACHABLE, detail=str(exc))
            return _classify(row, known, [line])

        return list(await asyncio.gather(*(one(t) for t in targets)))

    def from_known_hosts(self, path: Path) -> list[KeyRow]:
        """Classify every SSH server against the keys ``path`` records (hashed entries too)."""
        if not path.expanduser().is_file():
            raise UsageError(f"known_hosts file {path} not found")
        source = load_known_hosts([path])
        known = load_known_hosts(self._single.known_hosts_files)
        rows = []
        for row in self._targets():
            found = [key_line(k) for k in recorded_keys(source, row.host, row.port)]
            if row.outcome == SKIPPED:
                rows.append(row)
            elif not found:
                rows.append(replace(row, outcome=ABSENT))
            else:
                rows.append(_classify(row, known, found))
        return rows

    def trust(self, rows: list[KeyRow]) -> list[KeyRow]:
        """Record every ``new`` row's keys in the app's known_hosts, audited, in one go."""
        new = [r for r in rows if r.outcome == NEW]
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            entries = [(r.host, r.port, k) for r in new for k in r.keys]
            trust_host_keys(self.ctx.settings.app_known_hosts, entries)
            for r in new:
                self.ctx.audit(
                    s, "server.trust", "server", r.server, host=r.host, port=r.port, key=r.keys[0]
                )
        return [replace(r, outcome=TRUSTED) if r.outcome == NEW else r for r in rows]

    @property
    def _timeout(self) -> float:
        return self.ctx.settings.ssh.connect_timeout

    def _targets(self) -> list[KeyRow]:
        """Every SSH server at its resolved address; ProxyJump ones are skipped."""
        with self.ctx.db.session() as s:
            self.ctx.require(s, "inventory.edit")
            query = select(Server.name, Server.host, Server.port, Server.user).where(
                Server.transport == TransportKind.SSH
            )
            servers = list(s.execute(query.order_by(Server.name)))
        rows = []
        for name, host, port, user in servers:
            where = self._single.resolve_endpoint(name, host, port, user)
            row = KeyRow(name, where.host, where.port, "", NEW)
            if where.jumps:
                row = replace(row, outcome=SKIPPED, detail="reached through ProxyJump")
            rows.append(row)
        return rows


def _classify(row: KeyRow, known: asyncssh.SSHKnownHosts, lines: list[str]) -> KeyRow:
    """``new``, ``already trusted`` or ``CHANGED`` for the keys ``lines`` a server has."""
    keys = [parse_key(line) for line in lines]
    recorded = recorded_keys(known, row.host, row.port)
    shown = fingerprint(keys[0])
    if any(k in recorded for k in keys):
        return replace(row, fingerprint=shown, outcome=ALREADY)
    if recorded:
        old = ", ".join(fingerprint(k) for k in recorded)
        return replace(row, fingerprint=shown, outcome=CHANGED, detail=f"recorded: {old}")
    return replace(row, fingerprint=shown, outcome=NEW, keys=tuple(lines))

"""Syncing an imported source (Ansible, ssh_config, our own export) into the inventory.

A server is matched by name: importing again updates it, never duplicates it. The source is
authoritative for what it describes: host, port, user, transport and, when it has groups, the
server's roles, environments and variables. Role, environment and global variables it names are
set; others are left alone. ``prune`` removes servers the source lacks (their job history stays).
Everything is validated before anything is written, and written in one transaction with one
audit event: a bad line or value means nothing is imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from otter_tui.errors import UsageError
from otter_tui.inventory_import.source import SecretValue, Source, SourceError, SourceServer
from otter_tui.services.context import ServiceContext, check_name
from otter_tui.services.inventory import check_port, parse_transport
from otter_tui.services.inventory_apply import Change, apply_source
from otter_tui.store.models import TransportKind
from otter_tui.transport.credentials import SERVICE, set_secret, ssh_secret_name, usable_keyring

SecretStore = Callable[[str, str, str], None]
"""``(service, name, value)``: where secrets go with ``secrets_to_keyring`` (the keyring)."""


@dataclass(frozen=True)
class SyncReport:
    """What an import did (or, for a dry run, would do), one row per server and group."""

    source: str
    changes: tuple[Change, ...]
    applied: bool
    warnings: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    """Keyring names the source's secrets were (or would be) stored under."""

    def counts(self) -> dict[str, int]:
        """Servers per status: added, changed, unchanged, removed / would-remove, kept."""
        out: dict[str, int] = {}
        for change in self.changes:
            if change.kind == "server":
                out[change.status] = out.get(change.status, 0) + 1
        return out

    def summary(self) -> str:
        """One line of counts: ``servers: 3 added, 1 changed, 10 unchanged``."""
        counts = self.counts()
        order = ("added", "changed", "unchanged", "would-remove", "removed", "kept")
        parts = [f"{counts[s]} {s}" for s in order if counts.get(s)]
        text = f"servers: {', '.join(parts) or 'none'}"
        if self.secrets:
            verb = "went" if self.applied else "would go"
            text += f"; {len(self.secrets)} secret(s) {verb} to the keyring"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "source": self.source,
            "applied": self.applied,
            "counts": self.counts(),
            "changes": [c.as_dict() for c in self.changes],
            "warnings": list(self.warnings),
            "secrets_to_keyring": list(self.secrets),
        }


class InventorySyncService:
    """Import a :class:`Source` into the inventory: dry run, apply, prune."""

    def __init__(self, ctx: ServiceContext, store_secret: SecretStore = set_secret) -> None:
        self.ctx = ctx
        self._store_secret = store_secret

    def sync(
        self,
        source: Source,
        *,
        dry_run: bool = False,
        prune: bool = False,
        secrets_to_keyring: bool = False,
    ) -> SyncReport:
        """Validate ``source`` in full, then (unless ``dry_run``) write it in one transaction."""
        validate(source)
        names = _secret_names(source.secrets, secrets_to_keyring)
        if names and not dry_run and self._store_secret is set_secret:
            usable_keyring()  # a headless machine fails here, before anything is written
        if dry_run:
            with self.ctx.db.session() as s:
                self.ctx.require(s, "inventory.edit")
                changes = apply_source(s, source, prune=prune, write=False)
        else:
            changes = self._write(source, prune)
            for secret, name in zip(source.secrets, names, strict=True):
                self._store_secret(SERVICE, name, secret.value)
        warnings = tuple(source.warnings)
        return SyncReport(source.label, tuple(changes), not dry_run, warnings, tuple(names))

    def _write(self, source: Source, prune: bool) -> list[Change]:
        with self.ctx.db.transaction() as s:
            self.ctx.require(s, "inventory.edit")
            changes = apply_source(s, source, prune=prune, write=True)
            counts: dict[str, Any] = {}
            for change in changes:
                key = f"{change.kind}s_{change.status}".replace("-", "_")
                counts[key] = counts.get(key, 0) + 1
            self.ctx.audit(s, "inventory.import", "inventory", source.label, **counts)
        return changes


def validate(source: Source) -> None:
    """Every name and value the store would refuse, refused now with the source's file:line."""
    for server in source.servers:
        with _at(server.where):
            _server_fields(server)
            _variable_names(server.variables)
    for kind, groups in (("role", source.roles), ("environment", source.environments)):
        for group in groups:
            with _at(group.where):
                check_name(kind, group.name)
                _variable_names(group.variables)
    with _at(source.label):
        _variable_names(source.global_vars)


@contextmanager
def _at(where: str) -> Iterator[None]:
    """Re-raise the inventory service's validation errors with the source's location."""
    try:
        yield
    except SourceError:
        raise
    except UsageError as exc:
        raise SourceError(where, str(exc)) from None


def _server_fields(server: SourceServer) -> None:
    check_name("server", server.name)
    check_port(server.port)
    if parse_transport(server.transport) is TransportKind.SSH and not server.host:
        raise UsageError(f"server '{server.name}': an ssh server needs a host")


def _variable_names(variables: dict[str, str]) -> None:
    for name in variables:
        check_name("variable", name)


def _secret_names(secrets: list[SecretValue], to_keyring: bool) -> list[str]:
    """Keyring names for ``secrets``; without ``to_keyring`` any secret refuses the import."""
    if secrets and not to_keyring:
        first, more = secrets[0], len(secrets) - 1
        owner = f"{first.scope} '{first.owner}'" if first.owner else "all hosts"
        also = f" (and {more} more)" if more else ""
        raise SourceError(
            first.where,
            f"secret-looking variable '{first.name}' of {owner}{also} is never stored in the "
            "database; remove it from the source, or pass --secrets-to-keyring to move it to "
            "the keyring",
        )
    return [_keyring_name(s) for s in secrets]


def _keyring_name(secret: SecretValue) -> str:
    """A login password becomes the server's SSH password (the transport reads it there)."""
    if secret.scope == "server" and secret.name == "ansible_password":
        return ssh_secret_name("password", secret.owner)
    return f"variable:{secret.scope}:{secret.owner}:{secret.name}"

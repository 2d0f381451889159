"""Host keys: fetching a server's key, recording trust, and looking up what is recorded.

asyncssh has no trust-on-first-use, and a user's ssh_config can switch checking off
(``UserKnownHostsFile none``). So trust is ours: an operator sees the SHA256 fingerprint,
explicitly trusts it (``otter-tui servers trust NAME``), and the key is appended to the app's own
known_hosts file. A key that differs from a recorded one is never trusted implicitly.

Matching follows asyncssh (and so what the SSH transport enforces): an entry ``[host]:port`` is
looked up first, and for a non-standard port an entry for the bare host counts when there is no
port-specific one.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import os
import secrets
import socket
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TextIO

import asyncssh

from otter_tui.errors import HostKeyError, TransportError

DEFAULT_SSH_PORT = 22


def known_hosts_pattern(host: str, port: int) -> str:
    """The host field of a known_hosts line: ``host`` for port 22, ``[host]:port`` otherwise."""
    return host if port == DEFAULT_SSH_PORT else f"[{host}]:{port}"


def fingerprint(key: asyncssh.SSHKey) -> str:
    """The ``SHA256:...`` fingerprint OpenSSH shows for ``key``."""
    return key.get_fingerprint("sha256")


def key_line(key: asyncssh.SSHKey) -> str:
    """The key as known_hosts stores it: ``ssh-ed25519 AAAA...`` (no host, no comment)."""
    algorithm, blob = key.export_public_key("openssh").decode("ascii").split()[:2]
    return f"{algorithm} {blob}"


def parse_key(line: str) -> asyncssh.SSHKey:
    """A public key from ``ssh-ed25519 AAAA...``; anything else is a ``HostKeyError``."""
    try:
        return asyncssh.import_public_key(line)
    except (asyncssh.KeyImportError, ValueError) as exc:
        raise HostKeyError(f"not a public host key: {line[:60]!r} ({exc})") from None


def load_known_hosts(paths: Iterable[Path]) -> asyncssh.SSHKnownHosts:
    """Every entry of the existing files among ``paths``, merged; missing files are skipped.

    Parsed results are cached by (path, mtime, size), so a fleet of transports sharing the same
    files parses them once, and a trust recorded meanwhile is seen on the next connection.
    """
    stamps = []
    for path in paths:
        expanded = path.expanduser()
        try:
            info = expanded.stat()
        except OSError:
            continue
        stamps.append((str(expanded), info.st_mtime_ns, info.st_size))
    return _parse_known_hosts(tuple(stamps))


@functools.lru_cache(maxsize=32)
def _parse_known_hosts(stamps: tuple[tuple[str, int, int], ...]) -> asyncssh.SSHKnownHosts:
    known = asyncssh.SSHKnownHosts()
    for path, _mtime, _size in stamps:
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        _load_lenient(known, text)
    return known


def _load_lenient(known: asyncssh.SSHKnownHosts, text: str) -> None:
    """Load ``text``; one malformed line skips that line, not the whole file (as OpenSSH does)."""
    try:
        known.load(text)
    except ValueError:
        for line in text.splitlines():
            try:
                known.load(line)
            except ValueError:
                continue


def recorded_keys(
    known: asyncssh.SSHKnownHosts, host: str, port: int, addr: str = ""
) -> Sequence[asyncssh.SSHKey]:
    """The host keys recorded for ``host``/``addr`` at ``port`` (matching: see module doc)."""
    return known.match(host, addr, None if port == DEFAULT_SSH_PORT else port)[0]


class HostKeyVerdict:
    """Why a server's host key was refused: unknown (trust it) or CHANGED (never trust inline).

    Filled in during the handshake by the SSH client's ``validate_host_public_key``, which
    asyncssh calls only for a key not already trusted, so every key seen here is refused.
    """

    def __init__(self, known: asyncssh.SSHKnownHosts) -> None:
        self.known = known
        self.refused: asyncssh.SSHKey | None = None
        self.changed = False
        """A different key is recorded for this host."""
        self.addr = ""
        """The address the refused key was presented from."""

    def refuse(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        """Record ``key`` and whether another one is recorded; always False (not trusted)."""
        self.refused, self.addr = key, addr
        self.changed = bool(recorded_keys(self.known, host, port, addr))
        return False

    def error(
        self, name: str, host: str, port: int, files: Sequence[Path], exc: Exception
    ) -> HostKeyError:
        """The one-line error for server ``name``, with the fingerprint and what to do."""
        if self.refused is None:  # e.g. a revoked key or a bad certificate
            return HostKeyError(f"{name}: host key of {host}:{port} refused: {exc}")
        shown = f"{self.refused.get_algorithm()} {fingerprint(self.refused)}"
        if self.changed:
            return HostKeyError(
                f"{name}: host key CHANGED for {host}:{port}: it now presents {shown}, not the "
                f"key recorded in {', '.join(map(str, self._recording(files, host, port)))}; "
                "refusing to connect (possible "
                "man-in-the-middle; if the server was really reinstalled, check the new key and "
                f"run `otter-tui servers trust {name} --replace`)"
            )
        return HostKeyError(
            f"{name}: unknown host key for {host}:{port} ({shown}); if that fingerprint is "
            f"right, trust it with `otter-tui servers trust {name}`"
        )

    def _recording(self, files: Sequence[Path], host: str, port: int) -> Sequence[Path]:
        """The files among ``files`` that record a key for this host (to edit or replace)."""
        found = [f for f in files if recorded_keys(load_known_hosts([f]), host, port, self.addr)]
        return found or files


def describe_connect_failure(host: str, port: int, exc: BaseException) -> str:
    """One line saying why a TCP/SSH connection to ``host:port`` failed, for any error type."""
    where = f"{host}:{port}"
    if isinstance(exc, ConnectionRefusedError):
        return f"cannot connect to {where}: connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve host {host!r}: {exc.strerror or exc}"
    if isinstance(exc, TimeoutError):
        return f"cannot connect to {where}: timed out"
    if isinstance(exc, asyncssh.DisconnectError):
        return f"SSH connection to {where} failed: {exc.reason}"
    if isinstance(exc, OSError):
        return f"cannot connect to {where}: {(exc.strerror or str(exc)).lower()}"
    return f"cannot connect to {where}: {exc}"


async def fetch_host_key(host: str, port: int, timeout: float) -> tuple[str, str]:
    """The key ``host:port`` presents, as ``(key_line, "SHA256:...")``, without trusting it.

    Only the key exchange runs; no authentication is attempted and nothing is executed.
    """
    try:
        async with asyncio.timeout(timeout):
            key = await asyncssh.get_server_host_key(host, port, config=None)
    except (OSError, TimeoutError, asyncssh.Error) as exc:
        raise TransportError(describe_connect_failure(host, port, exc)) from None
    if key is None:
        raise TransportError(f"{host}:{port} presented no host key")
    return key_line(key), fingerprint(key)


def trust_host_key(
    path: Path, host: str, port: int, key: str | asyncssh.SSHKey, *, replace: bool = False
) -> bool:
    """Record ``key`` for ``host:port`` in the known_hosts file at ``path``.

    Creates the file (0600) and its parents (0700). Returns False when the key was already
    recorded. When a *different* key is recorded for that host, refuses with ``HostKeyError``
    unless ``replace`` is set, in which case the old entries for exactly that host are removed.
    """
    new_key = parse_key(key) if isinstance(key, str) else key
    path = path.expanduser()
    with _locked(path) as (handle, text, known):
        recorded = recorded_keys(known, host, port)
        if new_key in recorded:
            return False
        line = f"{known_hosts_pattern(host, port)} {key_line(new_key)}\n"
        if recorded and not replace:
            raise HostKeyError(_conflict_message(path, host, port, recorded, new_key))
        if recorded:
            _rewrite_without(path, text, known_hosts_pattern(host, port), line)
        else:
            handle.write(line if not text or text.endswith("\n") else "\n" + line)
    return True


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[tuple[TextIO, str, asyncssh.SSHKnownHosts]]:
    """``path`` opened for appending under an exclusive lock, with its text and parsed entries.

    Creates the file (0600) and its parents (0700).
    """
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        known = asyncssh.SSHKnownHosts()
        _load_lenient(known, text)
        yield handle, text, known


def _conflict_message(
    path: Path, host: str, port: int, recorded: Sequence[asyncssh.SSHKey], new: asyncssh.SSHKey
) -> str:
    old = ", ".join(fingerprint(k) for k in recorded)
    return (
        f"{path} already records a different host key for {host}:{port} ({old}); "
        f"not trusting {fingerprint(new)} unless you replace it on purpose"
    )


def _rewrite_without(path: Path, text: str, pattern: str, line: str) -> None:
    """Atomically rewrite ``path`` without lines naming exactly ``pattern``, plus ``line``."""
    kept = [row for row in text.splitlines(keepends=True) if not _names(row, pattern)]
    if kept and not kept[-1].endswith("\n"):
        kept[-1] += "\n"
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("".join(kept) + line)
    os.replace(temp, path)


def _names(row: str, pattern: str) -> bool:
    fields = row.split()
    return bool(fields) and not row.startswith(("#", "@")) and pattern in fields[0].split(",")


def trust_host_keys(path: Path, entries: Sequence[tuple[str, int, str]]) -> int:
    """Record many ``(host, port, key line)`` at once (one lock, one parse); conflicts refused.

    Used by bulk trust, whose caller has already checked every key against every trusted file;
    this re-checks under the lock so a concurrent trust cannot be overwritten. Returns how many
    lines were added.
    """
    path = path.expanduser()
    with _locked(path) as (handle, text, known):
        lines = []
        for host, port, key in entries:
            new_key = parse_key(key)
            recorded = recorded_keys(known, host, port)
            if new_key in recorded:
                continue
            if recorded:
                raise HostKeyError(_conflict_message(path, host, port, recorded, new_key))
            lines.append(f"{known_hosts_pattern(host, port)} {key_line(new_key)}\n")
        if lines:
            prefix = "" if not text or text.endswith("\n") else "\n"
            handle.write(prefix + "".join(lines))
    return len(lines)

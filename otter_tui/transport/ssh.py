"""Commands and files on a server over SSH (asyncssh), with host keys always verified.

One connection per transport carries every command and the SFTP session. Safety does not
depend on the user's ssh_config: it may set host, port, user and ProxyJump, but known_hosts,
agent forwarding and X11 are always passed explicitly, so ``UserKnownHostsFile none`` or
``ForwardAgent yes`` there cannot weaken a connection. Jump hosts are dialled here, not by
asyncssh, so they are verified against the same known_hosts files.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import shlex
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

import asyncssh

from otter_tui.errors import HostKeyError, OtterError, TransportError
from otter_tui.transport.base import Command, CommandResult, FileStat, LineSink
from otter_tui.transport.coalesce import CoalescingClient
from otter_tui.transport.known_hosts import (
    DEFAULT_SSH_PORT,
    HostKeyVerdict,
    describe_connect_failure,
    load_known_hosts,
)
from otter_tui.transport.sftp_files import sftp_read, sftp_stat, sftp_write
from otter_tui.transport.ssh_options import (
    Endpoint,
    SshOptions,
    config_paths,
    connect_slots,
    offered_ciphers,
    parse_hop,
    plain_keypairs,
    resolve_endpoint,
)
from otter_tui.transport.ssh_remote import RemoteRun, outlast_cancels

T = TypeVar("T")

_WRAPPER = 'echo "$$"; exec sh -c "$1"'
"""Prints the shell's PID, which is its process group (sshd starts each session with setsid),
then becomes the command. Cancelling signals that whole group over a second channel: an SSH
"signal" request reaches only the session's first process (and old OpenSSH ignores it)."""

COMMAND_WINDOW = 256 * 1024
"""SSH receive window of a command's channel (asyncssh's default is 2 MiB).

While log backpressure holds a command, its output waits in this window and in a stream buffer
of the same size, per command: 512 KiB rather than 4 MiB of unread output per server, and after a
cancel that much less to read before the channel can close. Still ample for speed: 256 KiB per
round trip is ~25 MB/s on a 10 ms link, far beyond what the log store takes per server."""


class _Client(CoalescingClient):
    """Records the verdict on the host key and asks for a password only when one is needed."""

    def __init__(self, known: asyncssh.SSHKnownHosts, transport: SshTransport) -> None:
        self.verdict = HostKeyVerdict(known)
        self._transport = transport
        self._password_tried = False
        self.lookup_error: OtterError | None = None

    def validate_host_public_key(
        self, host: str, addr: str, port: int, key: asyncssh.SSHKey
    ) -> bool:
        return self.verdict.refuse(host, addr, port, key)

    async def password_auth_requested(self) -> str | None:
        if self._password_tried:
            return None
        self._password_tried = True
        try:
            return await self._transport.secret("password", self._transport.name)
        except OtterError as exc:
            self.lookup_error = exc
            return None


class SshTransport:
    """A connection to one server over SSH; see the module docstring for the safety rules.

    ``port`` and ``user`` None mean "from ssh_config, else 22 and the local user". Paths for
    files are as SFTP sees them: relative ones are relative to the login directory.
    """

    def __init__(
        self,
        name: str,
        host: str,
        port: int | None = None,
        user: str | None = None,
        options: SshOptions | None = None,
    ) -> None:
        self.name = name
        self.host = host
        self.port = port
        self.user = user
        self.options = options or SshOptions()
        self._conn: asyncssh.SSHClientConnection | None = None
        self._hops: list[asyncssh.SSHClientConnection] = []
        self._sftp: asyncssh.SFTPClient | None = None
        self._lock = asyncio.Lock()
        self.reused = False
        """Lent again by the pool: until a channel opens on it, the connection may have died
        unnoticed, so a failure to open one reconnects (verified again) once instead of failing."""
        self.channels = 0
        """SSH channels opened so far for commands and SFTP (not for ending a cancelled one):
        each costs the server a fork, and a command a shell too, so tests hold operations to a
        budget of them."""

    def endpoint(self) -> Endpoint:
        """Host, port, user and jumps after applying ssh_config (reads the file; no network)."""
        return resolve_endpoint(self.options, self.host, self.port, self.user)

    def _config_paths(self) -> list[str] | None:
        return config_paths(self.options)

    async def connect(self) -> None:
        """Open (or reuse) the connection; a one-line ``TransportError`` when that fails."""
        await self._connection()

    def is_open(self) -> bool:
        """Connected and not (yet known to be) closed."""
        return self._conn is not None and not self._conn.is_closed()

    async def _connection(self) -> asyncssh.SSHClientConnection:
        async with self._lock:
            if self._conn is None or self._conn.is_closed():
                await self._drop()
                self._conn = await self._open()
            return self._conn

    def _plain_endpoint(self) -> Endpoint | None:
        """Without an ssh_config file the endpoint is what the server record says: no file to
        read, so no trip to a worker thread for each of a fan-out's connections."""
        if self._config_paths() is not None:
            return None
        port = self.port if self.port is not None else DEFAULT_SSH_PORT
        return Endpoint(self.host, port, self.user or getpass.getuser(), ())

    async def _open(self) -> asyncssh.SSHClientConnection:
        try:
            plain = self._plain_endpoint()
            endpoint = plain if plain is not None else await asyncio.to_thread(self.endpoint)
        except (OSError, ValueError, asyncssh.Error) as exc:
            raise TransportError(f"{self.name}: cannot use ssh_config: {exc}") from None
        keys = await self._client_keys()
        tunnel: asyncssh.SSHClientConnection | None = None
        for hop in endpoint.jumps:
            user, host, port = parse_hop(hop)
            configured = self._config_paths() is not None  # its Ciphers, if any, apply
            hop_endpoint = Endpoint(host, port or DEFAULT_SSH_PORT, user or "", (), configured)
            tunnel = await self._dial(host, port, user, tunnel, keys, hop_endpoint)
            self._hops.append(tunnel)
        return await self._dial(self.host, self.port, self.user, tunnel, keys, endpoint)

    async def _dial(
        self,
        host: str,
        port: int | None,
        user: str | None,
        tunnel: asyncssh.SSHClientConnection | None,
        keys: Sequence[asyncssh.SSHKeyPair],
        where: Endpoint,
    ) -> asyncssh.SSHClientConnection:
        """One verified SSH connection; ``where`` is the resolved address, for messages."""
        # Parsed once per file version for the whole process (cached), so read on the loop: a
        # worker-thread trip per connection cost more than the cached lookup it waited for.
        known = load_known_hosts(self.options.known_hosts)
        clients: list[_Client] = []

        def client_factory() -> _Client:
            clients.append(_Client(known, self))
            return clients[-1]

        try:
            async with (
                connect_slots(self.options.max_concurrent_connects),
                asyncio.timeout(self.options.connect_timeout),
            ):
                return await asyncssh.connect(
                    host,
                    port if port is not None else (),
                    username=user if user is not None else (),
                    config=self._config_paths(),
                    tunnel=tunnel,
                    known_hosts=known,
                    client_factory=client_factory,
                    client_keys=keys or (),
                    agent_path=() if self.options.use_agent else None,
                    agent_forwarding=False,
                    x11_forwarding=False,
                    keepalive_interval=self.options.keepalive_interval,
                    encryption_algs=offered_ciphers(self.options, where),
                )
        except asyncssh.HostKeyNotVerifiable as exc:
            raise self._host_key_error(clients, where, exc) from None
        except asyncssh.PermissionDenied:
            raise self._login_error(clients, where) from None
        except (OSError, TimeoutError, asyncssh.Error) as exc:
            failure = describe_connect_failure(where.host, where.port, exc)
            raise TransportError(f"{self.name}: {failure}") from None

    def _host_key_error(
        self, clients: list[_Client], where: Endpoint, exc: Exception
    ) -> HostKeyError:
        if not clients:
            return HostKeyError(f"{self.name}: host key of {where.host}:{where.port}: {exc}")
        files = self.options.known_hosts
        return clients[-1].verdict.error(self.name, where.host, where.port, files, exc)

    def _login_error(self, clients: list[_Client], where: Endpoint) -> OtterError:
        lookup_error = clients[-1].lookup_error if clients else None
        if lookup_error is not None:
            return lookup_error
        login = f"login as {where.user}" if where.user else "login"
        return TransportError(
            f"{self.name}: {login} to {where.host}:{where.port} refused "
            "(no key or password was accepted)"
        )

    async def secret(self, kind: str, subject: str) -> str | None:
        """A password or passphrase from the injected lookup, read off the event loop."""
        lookup = self.options.secret_lookup
        if lookup is None:
            return None
        return await asyncio.to_thread(lookup, kind, subject)

    async def _client_keys(self) -> list[asyncssh.SSHKeyPair]:
        keys: list[asyncssh.SSHKeyPair] = []
        for path in self.options.client_keys:
            keys.extend(await self._load_key(path.expanduser()))
        return keys

    async def _load_key(self, path: Path) -> Sequence[asyncssh.SSHKeyPair]:
        """Load a key; ask for its passphrase only if it will not load without one."""
        try:
            return plain_keypairs(path)
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            first_error: Exception = exc
        except OSError as exc:
            msg = f"{self.name}: cannot read client key {path}: {exc.strerror}"
            raise TransportError(msg) from None
        passphrase = await self.secret("passphrase", str(path))
        if passphrase is None:
            raise TransportError(f"{self.name}: cannot load client key {path}: {first_error}")
        try:
            return asyncssh.load_keypairs([str(path)], passphrase)
        except (asyncssh.KeyImportError, asyncssh.KeyEncryptionError) as exc:
            raise TransportError(f"{self.name}: cannot load client key {path}: {exc}") from None

    async def run(self, command: Command, on_line: LineSink | None = None) -> CommandResult:
        """Run ``command`` under ``sh -c``; cancelling it ends its process group on the server."""
        conn = await self._connection()
        self.channels += 1
        opening = asyncio.ensure_future(
            conn.create_process(
                f"exec sh -c {shlex.quote(_WRAPPER)} otter {shlex.quote(command.line)}",
                encoding=None,
                stdin=asyncssh.DEVNULL,
                window=COMMAND_WINDOW,
            )
        )
        try:
            process = await asyncio.shield(opening)
        except (OSError, asyncssh.Error) as exc:
            if not self._stale():
                raise self._lost(exc) from None
            return await self.run(command, on_line)  # the command never started: run it anew
        except asyncio.CancelledError:
            await outlast_cancels(self._abort(conn, opening))
            raise
        self.reused = False
        return await RemoteRun(self, conn, process, on_line).finish(command)

    def _stale(self) -> bool:
        """After a failed channel open: True (once) if the pool lent a connection that had died
        unnoticed; it is dropped so the next use opens, and verifies, a new one."""
        if not self.reused:
            return False
        self.reused = False
        if self._conn is not None:
            self._conn.close()
            self._conn = None  # _connection() drops the rest (SFTP, jumps) and dials again
        return True

    async def _abort(
        self,
        conn: asyncssh.SSHClientConnection,
        opening: asyncio.Future[asyncssh.SSHClientProcess[bytes]],
    ) -> None:
        """Cancelled while the channel opened: the command may already run, so end it too."""
        with contextlib.suppress(OSError, TimeoutError, asyncssh.Error):
            process = await asyncio.wait_for(opening, self.options.kill_grace)
            await RemoteRun(self, conn, process, None).stop()

    def _lost(self, exc: BaseException) -> TransportError:
        reason = exc.reason if isinstance(exc, asyncssh.Error) else str(exc)
        return TransportError(f"{self.name}: SSH connection failed: {reason or type(exc).__name__}")

    async def stat(self, path: str) -> FileStat | None:
        """``lstat`` (and, for a link, ``readlink``) over SFTP; None when nothing is there.

        Requests on the one SFTP session of this connection: no exec channel, so no fork and
        shell on the server for each look, which is what made an ensure cost six channels.
        """
        return await self._on_sftp("stat", path, lambda sftp: sftp_stat(sftp, path))

    async def read_file(self, path: str, size_hint: int | None = None) -> bytes | None:
        """The file's bytes over SFTP, or None when it does not exist (see :func:`sftp_read`)."""
        return await self._on_sftp("read", path, lambda sftp: sftp_read(sftp, path, size_hint))

    async def write_file(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write over SFTP to a temp name beside ``path``, then ``posix-rename`` it into place.

        ``mode`` None keeps an existing file's permissions; a new file gets the server's default.
        The temp file starts 0600 whenever the final mode is known.
        """
        await self._on_sftp("write", path, lambda sftp: sftp_write(sftp, path, data, mode))

    async def _on_sftp(
        self, action: str, path: str, call: Callable[[asyncssh.SFTPClient], Awaitable[T]]
    ) -> T:
        """One SFTP request. On a connection the pool lent that turns out dead it is sent again
        once on a new connection: repeating is safe (a write goes to a temp name first)."""
        while True:
            sftp = await self._sftp_client()
            try:
                with self._sftp_errors(action, path):
                    result = await call(sftp)
            except TransportError:
                if self.is_open() or not self._stale():
                    raise
                continue
            self.reused = False
            return result

    @contextlib.contextmanager
    def _sftp_errors(self, action: str, path: str) -> Iterator[None]:
        """A refused request is a one-line ``TransportError``; a broken connection says so."""
        try:
            yield
        except asyncssh.SFTPError as exc:
            raise TransportError(f"{self.name}: cannot {action} {path}: {exc.reason}") from None
        except (OSError, asyncssh.Error) as exc:
            raise self._lost(exc) from None

    async def _sftp_client(self) -> asyncssh.SFTPClient:
        while True:
            conn = await self._connection()
            async with self._lock:
                if self._sftp is not None:
                    return self._sftp
                self.channels += 1
                try:
                    self._sftp = await conn.start_sftp_client()
                    return self._sftp
                except (OSError, asyncssh.Error) as exc:
                    if not self._stale():
                        raise TransportError(
                            f"{self.name}: SFTP is not available ({_reason(exc)}); otter-tui "
                            "needs the server's sftp subsystem to read and write files"
                        ) from None

    async def close(self) -> None:
        """Close SFTP, the connection and any jump connections; safe to call twice."""
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        if self._sftp is not None:
            self._sftp.exit()
            self._sftp = None
        for conn in [self._conn, *reversed(self._hops)]:
            if conn is not None:
                conn.close()
                with contextlib.suppress(OSError, asyncssh.Error):
                    await conn.wait_closed()
        self._conn, self._hops = None, []


def _reason(exc: BaseException) -> str:
    return exc.reason if isinstance(exc, asyncssh.Error) else str(exc) or type(exc).__name__

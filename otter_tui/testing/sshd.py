"""A fleet of real OpenSSH servers on 127.0.0.1, one port per simulated server.

Claims about SSH are only worth something against a real ``sshd``, so tests and benchmarks
start their own: each ``sshd -D`` listens on up to 16 ports (OpenSSH's limit of listen
sockets), so 500 servers cost 32 processes. All share one host key unless :meth:`rekey` gives
a server its own; one client key logs in everywhere. Everything lives in ``workdir`` and every
process is stopped by PID.

    with SshdFleet(tmp_path, 4) as fleet:
        transport = fleet.transport(0)          # an SshTransport for fleet.servers[0]
        ...
"""

from __future__ import annotations

import contextlib
import getpass
import itertools
import os
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from otter_tui.testing.processes import terminate as _terminate
from otter_tui.transport.known_hosts import known_hosts_pattern
from otter_tui.transport.ssh import SshTransport
from otter_tui.transport.ssh_options import SshOptions

SSHD = Path("/usr/sbin/sshd")
PORTS_PER_SSHD = 16
HOST = "127.0.0.1"
START_TIMEOUT = 15.0
STOP_GRACE = 5.0
_PORT_RANGE = (20000, 32000)
"""Below Linux's ephemeral range, so outgoing connections never take a port we picked."""

_CONFIG = """\
HostKey {host_key}
PidFile {pid_file}
AuthorizedKeysFile {authorized_keys}
AuthenticationMethods publickey
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
MaxStartups 1000:30:1000
MaxSessions 1000
LoginGraceTime 30
UseDNS no
PrintMotd no
PrintLastLog no
X11Forwarding no
AllowAgentForwarding no
PermitUserEnvironment no
SetEnv SHLVL=1
Subsystem sftp internal-sftp
LogLevel ERROR
"""
"""SHLVL=1 keeps bash from sourcing ~/.bashrc for sshd-started commands (a cheaper login)."""


class SshdUnavailable(RuntimeError):
    """OpenSSH's server or ssh-keygen is not installed, or sshd would not start."""


@dataclass(frozen=True)
class FleetServer:
    """One simulated server: a port of a local sshd."""

    name: str
    host: str
    port: int
    user: str


@dataclass
class _Daemon:
    ident: int
    ports: list[int]
    host_key: Path
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)


class SshdFleet:
    """``count`` servers on 127.0.0.1: :meth:`start` (or ``with``) them, :meth:`stop` them."""

    def __init__(self, workdir: Path, count: int, sshd_options: str = "") -> None:
        if count < 1:
            raise ValueError("a fleet needs at least one server")
        self.workdir = workdir
        self.count = count
        self.sshd_options = sshd_options
        """Extra sshd_config lines for every sshd (e.g. a ``Ciphers`` line a test needs)."""
        self.servers: list[FleetServer] = []
        self.known_hosts = workdir / "known_hosts"
        """``[127.0.0.1]:PORT`` lines for every server, with the key it had at start."""
        self.client_key = workdir / "id_ed25519"
        self.authorized_keys = workdir / "authorized_keys"
        self.user = getpass.getuser()
        self._daemons: list[_Daemon] = []
        self._idents = itertools.count()

    def __enter__(self) -> SshdFleet:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> SshdFleet:
        """Generate keys, start ceil(count/16) sshd processes, and wait until every port listens."""
        _require_openssh()
        self.workdir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):
            Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)  # privsep dir
        host_key = self.workdir / "ssh_host_ed25519_key"
        _keygen([host_key, self.client_key])
        self.authorized_keys.write_text(_public_line(self.client_key) + "\n")
        ports = _free_ports(self.count)
        for chunk in _chunks(ports, PORTS_PER_SSHD):
            self._daemons.append(_Daemon(next(self._idents), chunk, host_key))
        try:
            self._launch(self._daemons)
        except BaseException:
            self.stop()
            raise
        self.servers = [
            FleetServer(f"srv{i + 1:03d}", HOST, port, self.user) for i, port in enumerate(ports)
        ]
        self._write_known_hosts()
        return self

    def _write_known_hosts(self) -> None:
        line = _public_line(self._daemons[0].host_key, with_comment=False)
        rows = (f"{known_hosts_pattern(s.host, s.port)} {line}\n" for s in self.servers)
        self.known_hosts.write_text("".join(rows))
        self.known_hosts.chmod(0o600)

    def stop(self) -> None:
        """SIGTERM every sshd and its sessions by PID; SIGKILL what is left after a grace."""
        daemons = [d for d in self._daemons if d.process is not None]
        _terminate([d.process for d in daemons if d.process is not None], grace=STOP_GRACE)
        for daemon in daemons:
            daemon.process = None

    def rekey(self, index: int) -> str:
        """Give server ``index`` a fresh host key (known_hosts keeps the old one); return it.

        The server moves to an sshd of its own; the others keep their ports and sessions.
        """
        port = self.servers[index].port
        daemon = next(d for d in self._daemons if port in d.ports)
        key = self.workdir / f"ssh_host_ed25519_key.{index}.{next(self._idents)}"
        _keygen([key])
        daemon.ports.remove(port)
        restart = [daemon] if daemon.ports else []
        _terminate(
            [daemon.process] if daemon.process is not None else [], sessions=False, grace=STOP_GRACE
        )
        if not daemon.ports:
            self._daemons.remove(daemon)
        alone = _Daemon(next(self._idents), [port], key)
        self._daemons.append(alone)
        self._launch([*restart, alone])
        return self.host_key_line(index)

    def host_key_line(self, index: int) -> str:
        """``ssh-ed25519 AAAA...``: the key server ``index`` presents now."""
        port = self.servers[index].port
        daemon = next(d for d in self._daemons if port in d.ports)
        return _public_line(daemon.host_key, with_comment=False)

    def ssh_options(self, **overrides: Any) -> SshOptions:
        """Options that trust this fleet's known_hosts and log in with its client key only."""
        settings: dict[str, Any] = {
            "known_hosts": (self.known_hosts,),
            "client_keys": (self.client_key,),
            "use_agent": False,
            "ssh_config": None,
            **overrides,
        }
        return SshOptions(**settings)

    def transport(self, index: int, **overrides: Any) -> SshTransport:
        """An (unconnected) transport for ``servers[index]``; ``overrides`` go to SshOptions."""
        server = self.servers[index]
        options = self.ssh_options(**overrides)
        return SshTransport(server.name, server.host, server.port, server.user, options)

    def _launch(self, daemons: list[_Daemon]) -> None:
        for daemon in daemons:
            daemon.process = self._spawn(daemon)
        _wait_listening(daemons, self.workdir)

    def _spawn(self, daemon: _Daemon) -> subprocess.Popen[bytes]:
        config = self.workdir / f"sshd-{daemon.ident}.conf"
        listen = "".join(f"ListenAddress {HOST}:{port}\n" for port in daemon.ports)
        config.write_text(
            listen
            + (self.sshd_options.strip() + "\n" if self.sshd_options else "")
            + _CONFIG.format(
                host_key=daemon.host_key,
                pid_file=self.workdir / f"sshd-{daemon.ident}.pid",
                authorized_keys=self.authorized_keys,
            )
        )
        log = (self.workdir / f"sshd-{daemon.ident}.log").open("wb")
        with log:
            return subprocess.Popen(
                [str(SSHD), "-D", "-e", "-f", str(config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )


def _require_openssh() -> None:
    if not SSHD.exists():
        raise SshdUnavailable(
            f"OpenSSH server not found at {SSHD}; install it with `apt-get install openssh-server`"
        )
    if shutil.which("ssh-keygen") is None:
        raise SshdUnavailable(
            "ssh-keygen not found; install it with `apt-get install openssh-client`"
        )


def _keygen(paths: Iterable[Path]) -> None:
    """Create unencrypted ed25519 key pairs at ``paths`` (in parallel: each takes a few ms)."""
    runs = []
    for path in paths:
        for stale in (path, path.with_name(path.name + ".pub")):
            stale.unlink(missing_ok=True)
        argv = ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "otter-fleet", "-f", str(path)]
        runs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL))
    for run in runs:
        if run.wait() != 0:
            raise SshdUnavailable(f"ssh-keygen failed with status {run.returncode}")


def _public_line(private_key: Path, with_comment: bool = True) -> str:
    text = private_key.with_name(private_key.name + ".pub").read_text().strip()
    return text if with_comment else " ".join(text.split()[:2])


def _free_ports(count: int) -> list[int]:
    """``count`` distinct ports that were free on 127.0.0.1 a moment ago (bind-tested)."""
    held: list[socket.socket] = []
    candidates = list(range(*_PORT_RANGE))
    random.shuffle(candidates)
    try:
        for port in candidates:
            if len(held) == count:
                break
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.bind((HOST, port))
            except OSError:
                sock.close()
                continue
            held.append(sock)
        return [sock.getsockname()[1] for sock in held]
    finally:
        for sock in held:
            sock.close()


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _wait_listening(daemons: list[_Daemon], workdir: Path) -> None:
    """Poll (bounded) until each daemon listens on all its ports; fail fast if one dies."""
    deadline = time.monotonic() + START_TIMEOUT
    waiting = list(daemons)
    while waiting:
        listening = _listening_ports()
        for daemon in list(waiting):
            assert daemon.process is not None
            if daemon.process.poll() is not None or _bind_failed(workdir, daemon):
                raise SshdUnavailable(_failure(workdir, daemon))
            if _ready(daemon, listening):
                waiting.remove(daemon)
        if waiting and time.monotonic() > deadline:
            raise SshdUnavailable(
                f"sshd not listening after {START_TIMEOUT}s: " + _failure(workdir, waiting[0])
            )
        if waiting:
            time.sleep(0.01)


def _ready(daemon: _Daemon, listening: dict[int, str] | None) -> bool:
    """All ports listen, and (where /proc shows it) on sockets this very sshd holds."""
    if listening is None:
        return all(_accepts(port) for port in daemon.ports)
    if not all(port in listening for port in daemon.ports):
        return False
    assert daemon.process is not None
    owned = _socket_inodes(daemon.process.pid)
    return owned is None or all(listening[port] in owned for port in daemon.ports)


def _listening_ports() -> dict[int, str] | None:
    """LISTEN ports and their socket inodes per /proc/net/tcp (no connection made)."""
    try:
        rows = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    ports = {}
    for row in rows:
        fields = row.split()
        if len(fields) > 9 and fields[3] == "0A":
            ports[int(fields[1].rsplit(":", 1)[1], 16)] = fields[9]
    return ports


def _socket_inodes(pid: int) -> set[str] | None:
    """Inodes of the sockets ``pid`` holds, or None when its fds cannot be read."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return None
    return {link[8:-1] for link in links if link.startswith("socket:[")}


def _accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def _bind_failed(workdir: Path, daemon: _Daemon) -> bool:
    """sshd carries on when one of its ports is taken; its log is how we notice."""
    with contextlib.suppress(OSError):
        return "Bind to port" in (workdir / f"sshd-{daemon.ident}.log").read_text()
    return False


def _failure(workdir: Path, daemon: _Daemon) -> str:
    log = workdir / f"sshd-{daemon.ident}.log"
    tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
    return f"sshd for ports {daemon.ports} failed: {' | '.join(tail) or 'no log output'}"

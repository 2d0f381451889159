"""A real PostgreSQL cluster of the suite's own: initdb in a temporary directory, ``postgres`` on
a free port of 127.0.0.1, stopped by PID.

Claims about PostgreSQL are only worth something against a real server, so tests and benchmarks
start their own from Debian's ``postgresql`` package (``./dev`` installs it). PostgreSQL refuses
to run as root, so when we are root the cluster runs as ``nobody`` in a directory it owns. The
cluster trusts local connections (it only listens on 127.0.0.1 and lives as long as the suite) and
trades durability for speed (``fsync=off``): a test database is thrown away anyway.

    with PostgresCluster() as cluster:
        url = cluster.create_database("t1")     # postgresql+psycopg://otter@127.0.0.1:PORT/t1
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

HOST = "127.0.0.1"
SUPERUSER = "otter"
START_TIMEOUT = 30.0
STOP_GRACE = 10.0
UNPRIVILEGED = "nobody"
_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "64MB",
    "listen_addresses": HOST,
}


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server programs are not installed, or the cluster would not start."""


def bin_dir() -> Path:
    """The newest ``/usr/lib/postgresql/N/bin`` (Debian's layout), else where PATH has initdb."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name)
    )
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (apt-get install postgresql, or run ./dev test)"
        )
    return Path(initdb).resolve().parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    """One ``postgres`` process with its own data directory; databases made on demand."""

    def __init__(self, workdir: Path | None = None) -> None:
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="otter-pg-"))
        self.data = self.workdir / "data"
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._account = _run_as()

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid

    def url(self, database: str = "postgres", *, driver: bool = True) -> str:
        scheme = "postgresql+psycopg" if driver else "postgresql"
        return f"{scheme}://{SUPERUSER}@{HOST}:{self.port}/{database}"

    def start(self) -> PostgresCluster:
        """initdb (once) and start the server; returns when it accepts connections."""
        if not (self.data / "PG_VERSION").exists():
            self._initdb()
        options = [arg for key, value in _SETTINGS.items() for arg in ("-c", f"{key}={value}")]
        command = [str(bin_dir() / "postgres"), "-D", str(self.data), "-p", str(self.port)]
        log = (self.workdir / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [*command, "-k", str(self.workdir), *options],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._account,
        )
        log.close()
        self._wait_ready()
        return self

    def _initdb(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if "user" in self._account:
            os.chown(self.workdir, self._account["user"], self._account["group"])
            os.chmod(self.workdir, 0o700)
        command = [str(bin_dir() / "initdb"), "-D", str(self.data), "-U", SUPERUSER]
        result = subprocess.run(
            [*command, "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C"],
            capture_output=True,
            check=False,
            **self._account,
        )
        if result.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {result.stderr.decode(errors='replace')}")

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise PostgresUnavailable(f"postgres exited at start: {self.log_tail()}")
            try:
                psycopg.connect(self.url(driver=False), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise PostgresUnavailable(
                        f"postgres did not start: {self.log_tail()}"
                    ) from None
                time.sleep(0.05)

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "postgres.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Fast shutdown (SIGINT: sessions ended, clean checkpoint), then SIGKILL if it hangs."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(STOP_GRACE)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def execute(self, sql: str, database: str = "postgres") -> None:
        """Run one statement outside a transaction (CREATE/DROP DATABASE need that)."""
        import psycopg

        with psycopg.connect(self.url(database, driver=False), autocommit=True) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (a copy of ``template`` when given); returns its SQLAlchemy URL."""
        source = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{source}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_as() -> dict[str, Any]:
    """``subprocess`` arguments that drop root to an unprivileged account (postgres refuses it)."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(UNPRIVILEGED)
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

"""The loopback fleet and the product set up on it: sshd processes, config, database, inventory.

:class:`BenchFleet` starts the largest fleet the run needs once (ceil(N/16) sshd processes on
127.0.0.1), writes ``inventory.json`` (every server: transport ssh, host, port, user) and imports
it into a fresh product database through the inventory service, with one role per size
(``n1``, ``n100``, ``n500``, ``n1000``), so a job at size N targets role ``nN``. Every server is
also in role ``bench``, which the configuration plan applies to.
"""

from __future__ import annotations

import json
import resource
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import tomli_w

from otter_tui.runtime import Runtime, open_runtime
from otter_tui.testing.sshd import SshdFleet

BENCH_DIR = Path(__file__).resolve().parent
PLANS_DIR = BENCH_DIR / "plans"
RESULTS_DIR = BENCH_DIR / "results"
PLAN_KEYS = {
    "fanout": "bench_plans.FanOut",
    "ensure": "bench_plans.EnsureFile",
    "lines": "bench_plans.PrintLines",
    "stream": "bench_plans.StreamLines",
}
LOCAL_SERVER = "local01"
"""A local-transport server, for the console's streaming job."""


def raise_open_files(wanted: int = 65_536) -> int:
    """Raise this process's open-file limit (children inherit it); return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(wanted, hard) if hard != resource.RLIM_INFINITY else wanted
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@dataclass(frozen=True)
class FleetInfo:
    """What a measuring child process needs to know, passed to it as JSON."""

    config: str
    known_hosts: str
    client_key: str
    files_dir: str
    servers: list[tuple[str, str, int, str]]
    """``(name, host, port, user)`` in order; size N is the first N."""
    max_concurrent_connects: int
    connect_timeout: float
    """The product's ``ssh.connect_timeout``: the floor gives a handshake the same time."""


class BenchFleet:
    """Start with ``with BenchFleet(workdir, size, sizes)``; stops every sshd by PID on exit."""

    def __init__(self, workdir: Path, size: int, sizes: tuple[int, ...]) -> None:
        self.workdir = workdir
        self.sizes = sizes
        self.sshd = SshdFleet(workdir / "fleet", size)
        self.config = workdir / "config.toml"
        self.files_dir = workdir / "files"

    def __enter__(self) -> BenchFleet:
        self.sshd.start()
        try:
            self._write_inventory()
            self._write_config()
            self._import()
        except BaseException:
            self.sshd.stop()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.sshd.stop()

    def info(self) -> FleetInfo:
        runtime = self.runtime()
        try:
            ssh = runtime.settings.ssh
        finally:
            runtime.close()
        return FleetInfo(
            config=str(self.config),
            known_hosts=str(self.sshd.known_hosts),
            client_key=str(self.sshd.client_key),
            files_dir=str(self.files_dir),
            servers=[(s.name, s.host, s.port, s.user) for s in self.sshd.servers],
            max_concurrent_connects=ssh.max_concurrent_connects,
            connect_timeout=ssh.connect_timeout,
        )

    def runtime(self) -> Runtime:
        return open_runtime(self.config, seed=False, sync_plans=False)

    def reset_files(self) -> None:
        """Remove every server's managed file, so W2 finds it absent."""
        shutil.rmtree(self.files_dir, ignore_errors=True)
        self.files_dir.mkdir(parents=True)

    def _write_inventory(self) -> None:
        rows = [
            {"name": s.name, "transport": "ssh", "host": s.host, "port": s.port, "user": s.user}
            for s in self.sshd.servers
        ]
        (self.workdir / "inventory.json").write_text(json.dumps(rows, indent=1))

    def _write_config(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        document = {
            "paths": {"data_dir": str(self.workdir / "data"), "plans_dir": str(PLANS_DIR)},
            "ssh": {
                "known_hosts": str(self.sshd.known_hosts),
                "client_keys": [str(self.sshd.client_key)],
                "use_agent": False,
                "ssh_config": "",
            },
        }
        self.config.write_text(tomli_w.dumps(document))

    def _import(self) -> None:
        """The inventory file into the product, through its services (as an operator would)."""
        runtime = open_runtime(self.config, seed=False, sync_plans=True)
        try:
            inventory = runtime.inventory
            for role in ("bench", *(f"n{size}" for size in self.sizes)):
                inventory.add_role(role)
            rows = json.loads((self.workdir / "inventory.json").read_text())
            for index, row in enumerate(rows):
                roles = ["bench", *(f"n{n}" for n in self.sizes if index < n)]
                inventory.add_server(
                    row["name"], row["host"], port=row["port"], user=row["user"], roles=roles
                )
            inventory.add_server(LOCAL_SERVER, transport="local")
            runtime.variables.set("global", None, "bench_root", str(self.files_dir))
            for key in PLAN_KEYS.values():
                runtime.plans.set_enabled(key, True)
        finally:
            runtime.close()

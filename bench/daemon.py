"""The daemon's resident memory with a large inventory and many schedules.

A fresh database gets ``servers`` ssh servers and ``schedules`` enabled (yearly) schedules, both
bulk-inserted after one of each is made through the services; then ``otter-tui daemon`` runs
for ``seconds`` (scheduler and worker, nothing due) and its resident memory is read from /proc.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench.console import write_config
from bench.fleet import PLAN_KEYS
from bench.scheduler import create_schedules
from otter_tui.runtime import open_runtime
from otter_tui.store.models import Server, TransportKind

STOP_GRACE = 15.0


def prepare(workdir: Path, servers: int, schedules: int) -> Path:
    data = workdir / "daemon-data"
    config = write_config(workdir / "daemon.toml", data / "otter.db", data)
    runtime = open_runtime(config, seed=False, sync_plans=True)
    try:
        runtime.plans.set_enabled(PLAN_KEYS["fanout"], True)
        runtime.inventory.add_server("host-0", "10.0.0.1")
        now = datetime.now(UTC)
        rows = [_server(i, now) for i in range(1, servers)]
        with runtime.db.engine.begin() as conn:
            conn.execute(insert(Server), rows)
        create_schedules(runtime, schedules, 0, now)
    finally:
        runtime.close()
    return config


def _server(i: int, now: datetime) -> dict[str, Any]:
    return {
        "name": f"host-{i}",
        "host": f"10.0.{i // 250}.{i % 250 + 1}",
        "port": 22,
        "user": "deploy",
        "transport": TransportKind.SSH,
        "active": True,
        "description": "",
        "created_at": now,
    }


def daemon_memory(config: Path, seconds: float, log: Path) -> dict[str, Any]:
    """Run the daemon for ``seconds``; its peak and final resident memory in MB."""
    console = Path(sys.executable).with_name("otter-tui")
    argv = [str(console), "--config", str(config), "daemon", "--log-level", "warning"]
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.5)
        status = _status(process.pid)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    if not status:
        tail = log.read_text(errors="replace").strip().splitlines()[-2:]
        return {"ok": False, "error": f"the daemon exited early: {' | '.join(tail)}"}
    return {"ok": True, "peak_mb": status["VmHWM"] / 1024, "rss_mb": status["VmRSS"] / 1024}


def _status(pid: int) -> dict[str, int]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            values[key] = int(rest.split()[0])
    return values

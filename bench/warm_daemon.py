"""Warm connections from a real daemon: ``otter-tui daemon`` as its own process runs W1 twice.

The bench process creates a W1 job on the fleet database, as the console or ``run --detach``
would, and reads the job's state every few milliseconds until it ends; the daemon (a process of
its own, scheduler off, ``daemon.poll_seconds`` = :data:`POLL` so its claim loop is not what is
timed) claims and runs it. The first job opens every connection, the second finds them kept.
Wall: job created to final state seen; CPU: the daemon's user + system time over that span.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path
from typing import IO, Any

import tomli_w
from sqlalchemy import select

from otter_tui.runtime import Runtime
from otter_tui.store.models import Job
from otter_tui.store.states import JobState

POLL = 0.02
"""The daemon's claim poll in this measurement (seconds); SQLite has no wake-up to wait on."""
READY_SECONDS = 30.0


def daemon_warm(info: dict[str, Any], n: int, workdir: Path) -> dict[str, Any]:
    from bench.product import _verify, create_job
    from otter_tui.runtime import open_runtime

    config = daemon_config(Path(info["config"]), workdir)
    process, ready = start_daemon(config, workdir / "warm-daemon.log")
    runtime = open_runtime(config, seed=False, sync_plans=False)
    result: dict[str, Any] = {"ok": True, "error": ""}
    try:
        if not ready.wait(READY_SECONDS):
            return {"ok": False, "error": "the daemon did not start"}
        spec = {"workload": "w1", "n": n}
        for label in ("cold", "warm"):
            cpu, started = _cpu(process.pid), time.perf_counter()
            view = create_job(runtime, spec)
            while not _state(runtime, view.id).finished:
                time.sleep(0.005)
            result[label] = time.perf_counter() - started
            result[f"{label}_cpu"] = _cpu(process.pid) - cpu
            check = _verify(runtime, view.id, spec)
            if not check["ok"]:
                result.update(ok=False, error=f"{label}: {check['error']}")
    finally:
        runtime.close()
        stop_daemon(process)
    return result


def _state(runtime: Runtime, job_id: int) -> JobState:
    """The job's state alone: one indexed read, so the waiting does not take the 2 cores' CPU
    from the daemon it waits for (a full job view reads every server run)."""
    with runtime.db.session() as s:
        return JobState(s.scalars(select(Job.state).where(Job.id == job_id)).one())


def daemon_config(base: Path, workdir: Path) -> Path:
    document = tomllib.loads(base.read_text())
    document["daemon"] = {**document.get("daemon", {}), "poll_seconds": POLL}
    path = workdir / "warm-daemon.toml"
    path.write_text(tomli_w.dumps(document))
    return path


def start_daemon(config: Path, log: Path) -> tuple[subprocess.Popen[bytes], threading.Event]:
    console = Path(sys.executable).with_name("otter-tui")
    argv = [str(console), "--config", str(config), "daemon", "--no-scheduler"]
    process = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    ready = threading.Event()
    assert process.stdout is not None
    threading.Thread(target=_drain, args=(process.stdout, log, ready), daemon=True).start()
    return process, ready


def _drain(stream: IO[bytes], log: Path, ready: threading.Event) -> None:
    """Keep the daemon's stdout read (a full pipe would stall it); note when it has started."""
    with log.open("wb") as out:
        for line in stream:
            out.write(line)
            if b"daemon.started" in line:
                ready.set()


def _cpu(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (every thread), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stop_daemon(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

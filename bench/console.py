"""The console: start-up to first frame with a long history, and key latency while streaming.

First frame: the real ``otter-tui`` console script under a pseudo-terminal, with
``OTTER_TUI_EXIT_AFTER_FIRST_FRAME`` set (the app quits right after its first paint); the clock
runs from spawning the process to its exit. The floor is a bare Textual app
(``bench/bare_app.py``) spawned the same way; the same start on an empty database is a row of its
own.

Key latency: in-process (``App.run_test``, headless), the engine runs a job on a local-transport
server that prints ``rate`` lines a second; every 100 ms the pilot presses ``1`` (switch to the
servers section) and the time from the press to the app's action is recorded.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import tomli_w
from sqlalchemy import insert

from bench.fleet import PLAN_KEYS, PLANS_DIR, RESULTS_DIR
from otter_tui.runtime import open_runtime
from otter_tui.store.db import MIGRATIONS
from otter_tui.store.models import Job, JobState, LogEntry, PlanKind, RunState, ServerRun

HISTORY_JOBS = 100_000
HISTORY_LINES = 1_000_000
CHUNK = 20_000


def history_db(jobs: int = HISTORY_JOBS, lines: int = HISTORY_LINES) -> Path:
    """A migrated SQLite file with ``jobs`` finished jobs and ``lines`` log lines, built once.

    Cached in bench/results under a name that changes with the migrations, so a schema change
    builds a new one.
    """
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    path = RESULTS_DIR / f"history-{jobs}-{lines}-{digest.hexdigest()[:10]}.db"
    if not path.exists():
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        building = path.with_suffix(".building")
        for stale in RESULTS_DIR.glob(building.name + "*"):
            stale.unlink()
        _build(building, jobs, lines)
        building.rename(path)
    return path


def _build(path: Path, jobs: int, lines: int) -> None:
    config = write_config(path.parent / "build-config.toml", path, path.parent / "build-data")
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        with runtime.db.engine.begin() as conn:
            start = datetime(2026, 1, 1, tzinfo=UTC)
            for first in range(0, jobs, CHUNK):
                ids = range(first + 1, min(jobs, first + CHUNK) + 1)
                conn.execute(insert(Job), [_job(i, start) for i in ids])
                conn.execute(insert(ServerRun), [_run(i, start) for i in ids])
            per_job = max(1, lines // jobs)
            for first in range(0, lines, CHUNK * 5):
                rows = [
                    _line(n, per_job, start) for n in range(first, min(lines, first + CHUNK * 5))
                ]
                conn.execute(insert(LogEntry), rows)
    finally:
        runtime.close()


def _job(i: int, start: datetime) -> dict[str, Any]:
    at = start + timedelta(minutes=i)
    return {
        "id": i,
        "kind": PlanKind.ORCHESTRATION,
        "plan_key": PLAN_KEYS["fanout"],
        "plan_name": "Bench fan-out",
        "targets": {"servers": [f"srv{i % 500 + 1:03d}"]},
        "variables": {},
        "sensitive_names": [],
        "queue_name": "default",
        "state": JobState.SUCCEEDED if i % 10 else JobState.FAILED,
        "requested_by": "bench",
        "created_at": at,
        "run_at": at,
        "started_at": at,
        "finished_at": at + timedelta(seconds=3),
        "summary": {"server_runs": 1},
    }


def _run(i: int, start: datetime) -> dict[str, Any]:
    at = start + timedelta(minutes=i)
    return {
        "id": i,
        "job_id": i,
        "server_name": f"srv{i % 500 + 1:03d}",
        "state": RunState.SUCCEEDED,
        "started_at": at,
        "finished_at": at + timedelta(seconds=3),
    }


def _line(n: int, per_job: int, start: datetime) -> dict[str, Any]:
    job = n // per_job + 1
    return {
        "job_id": job,
        "server_run_id": job,
        "seq": n % per_job + 1,
        "at": start + timedelta(minutes=job, milliseconds=n % per_job),
        "level": "info",
        "stream": "stdout",
        "text": f"line {n % per_job + 1} of job {job}: the quick brown fox jumps over the dog",
    }


def write_config(path: Path, database: Path, data_dir: Path) -> Path:
    document = {
        "paths": {"data_dir": str(data_dir), "plans_dir": str(PLANS_DIR)},
        "database": {"url": f"sqlite:///{database}"},
        "ssh": {"use_agent": False, "ssh_config": "", "known_hosts": str(data_dir / "none")},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(document))
    return path


def first_frame(config: Path | None, timeout: float = 60, *, until: str = "frame") -> float:
    """Seconds from spawning ``otter-tui --config CONFIG`` under a pty to its exit after a paint.

    ``config`` None: the bare Textual app of ``bench/bare_app.py`` instead (the floor).
    ``until="section"``: after the first section's paint (the runtime opened behind the first
    frame, see ``screens/opening.py``) rather than after the very first frame.
    """
    if config is None:
        argv = [sys.executable, "-m", "bench.bare_app"]
    else:
        argv = [str(Path(sys.executable).with_name("otter-tui")), "--config", str(config)]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 160, 0, 0))
    env = {**os.environ, "OTTER_TUI_EXIT_AFTER_FIRST_FRAME": until, "TERM": "xterm-256color"}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent)
    started = time.perf_counter()
    process = subprocess.Popen(
        argv,
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        start_new_session=True,
    )
    os.close(slave)
    output = bytearray()
    reader = threading.Thread(target=_drain, args=(master, output), daemon=True)
    reader.start()
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise RuntimeError(f"the console did not exit within {timeout:.0f}s") from None
    elapsed = time.perf_counter() - started
    reader.join(timeout=2)
    os.close(master)
    if status != 0:
        tail = bytes(output[-300:]).decode(errors="replace")
        raise RuntimeError(f"the console exited with {status}: {tail!r}")
    return elapsed


def _drain(fd: int, into: bytearray) -> None:
    with contextlib.suppress(OSError):
        while chunk := os.read(fd, 65536):
            into.extend(chunk)

"""One big job across daemons: a job on 300 servers of the loopback sshd fleet, run by 1 and by 3
``otter-tui daemon`` processes on one PostgreSQL, beside 1 daemon on a SQLite file (sliced, and
not sliced: the baseline), all measured in the same run.

    .venv/bin/python -m bench.slicing                      # 300 servers, slices of 100
    .venv/bin/python -m bench.slicing --servers 60 --slice-size 20 --lines 5

Each scenario gets a fresh copy of one database (inventory imported once through the services;
copied to PostgreSQL with the product's ``db copy``), starts its daemons through the real CLI and
waits until each says ``daemon.started``; then one job is created through the job service
(every server prints ``--lines`` numbered lines) and the clock runs from its creation to its
end. Printed per scenario: wall time, server runs (and how many distinct servers: each done
once), their states, lines stored, and how many slices each daemon ran. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import tomli_w
from sqlalchemy import func, select

from bench.fleet import PLAN_KEYS, BenchFleet, raise_open_files
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.copy import copy_database
from otter_tui.store.db import open_database
from otter_tui.store.models import JobSlice, LogEntry, ServerRun
from otter_tui.targeting import TargetSpec
from otter_tui.testing.postgres import PostgresCluster

FINISHED = {"succeeded", "warning", "failed", "cancelled", "interrupted"}
START_TIMEOUT = 60.0
JOB_TIMEOUT = 600.0


@dataclass(frozen=True)
class Scenario:
    store: str
    daemons: int
    slice_size: int

    @property
    def label(self) -> str:
        sliced = f"slices of {self.slice_size}" if self.slice_size else "not sliced"
        return f"{self.store}, {self.daemons} daemon(s), {sliced}"


@dataclass(frozen=True)
class Figures:
    seconds: float
    state: str
    runs: int
    servers: int
    states: dict[str, int]
    lines: int
    slices_by_worker: dict[str, int]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.slicing")
    parser.add_argument("--servers", type=int, default=300)
    parser.add_argument("--slice-size", type=int, default=100)
    parser.add_argument("--lines", type=int, default=20, help="lines each server prints")
    args = parser.parse_args(argv)
    raise_open_files()
    size = args.slice_size
    scenarios = [
        Scenario("sqlite", 1, 0),
        Scenario("sqlite", 1, size),
        Scenario("postgresql", 1, size),
        Scenario("postgresql", 3, size),
    ]
    with tempfile.TemporaryDirectory(prefix="otter-slicing-") as tmp:
        work = Path(tmp)
        with (
            BenchFleet(work / "bench", args.servers, (args.servers,)) as fleet,
            PostgresCluster() as cluster,
        ):
            print(f"{args.servers} servers, {args.lines} lines each; load {load()}")
            for n, scenario in enumerate(scenarios):
                url = database_for(scenario, fleet, cluster, work / f"s{n}")
                config = write_config(fleet, work / f"s{n}", url, scenario)
                figures = measure(config, scenario.daemons, args.servers, args.lines)
                report(scenario, figures)
    print(f"load average after: {load()}")


def database_for(scenario: Scenario, fleet: BenchFleet, cluster: PostgresCluster, at: Path) -> str:
    """A fresh copy of the fleet's database: a SQLite file, or a new PostgreSQL database."""
    source = fleet.workdir / "data" / "otter.db"
    if scenario.store == "sqlite":
        at.mkdir(parents=True)
        src, dst = sqlite3.connect(source), sqlite3.connect(at / "otter.db")
        try:
            src.backup(dst)
        finally:
            src.close()
            dst.close()
        return f"sqlite:///{at / 'otter.db'}"
    name = at.name
    url = cluster.create_database(name)
    db = open_database(f"sqlite:///{source}")
    try:
        copy_database(db, url)
    finally:
        db.dispose()
    return url


def write_config(fleet: BenchFleet, at: Path, url: str, scenario: Scenario) -> Path:
    at.mkdir(parents=True, exist_ok=True)
    document = tomllib.loads(fleet.config.read_text())
    document["database"] = {"url": url}
    document["paths"]["data_dir"] = str(at / "data")
    document["daemon"] = {"poll_seconds": 0.5, "shutdown_grace_seconds": 5}
    document["jobs"] = {"slice_size": scenario.slice_size or 100_000}
    config = at / "config.toml"
    config.write_text(tomli_w.dumps(document))
    return config


def measure(config: Path, daemons: int, servers: int, lines: int) -> Figures:
    procs = [start_daemon(config) for _ in range(daemons)]
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        variables = {"count": str(lines)}
        request = JobRequest(PLAN_KEYS["lines"], TargetSpec(roles=(f"n{servers}",)), variables)
        started = time.monotonic()
        job = runtime.jobs.create(request)
        while (state := runtime.jobs.show(job.id).state) not in FINISHED:
            if time.monotonic() - started > JOB_TIMEOUT:
                raise SystemExit(f"job {job.id} still {state} after {JOB_TIMEOUT:.0f}s")
            time.sleep(0.05)
        seconds = time.monotonic() - started
        return collect(runtime, job.id, seconds, state)
    finally:
        runtime.close()
        for proc in procs:
            stop_daemon(proc)


def collect(runtime: Runtime, job_id: int, seconds: float, state: str) -> Figures:
    with runtime.db.session() as s:
        runs = list(
            s.execute(
                select(ServerRun.server_name, ServerRun.state).where(ServerRun.job_id == job_id)
            )
        )
        lines = s.scalar(
            select(func.count()).select_from(LogEntry).where(LogEntry.job_id == job_id)
        )
        by_worker = select(JobSlice.worker, func.count()).where(JobSlice.job_id == job_id)
        slices = {str(w): n for w, n in s.execute(by_worker.group_by(JobSlice.worker))}
    states: dict[str, int] = {}
    for _, run_state in runs:
        states[run_state.value] = states.get(run_state.value, 0) + 1
    servers = len({name for name, _ in runs})
    return Figures(seconds, state, len(runs), servers, states, int(lines or 0), slices)


def start_daemon(config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("OTTER_TUI_CONFIG", None)
    command = [sys.executable, "-m", "otter_tui", "--config", str(config), "daemon"]
    proc = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    deadline = time.monotonic() + START_TIMEOUT
    assert proc.stdout is not None
    for line in proc.stdout:
        if "event=daemon.started" in line:
            break
        if time.monotonic() > deadline:
            break
    else:
        raise SystemExit(f"a daemon exited before it started (code {proc.wait()})")
    # Keep reading its output so it never blocks on a full pipe.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    return proc


def stop_daemon(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def report(scenario: Scenario, f: Figures) -> None:
    states = ", ".join(f"{n} {s}" for s, n in sorted(f.states.items()))
    slices = ", ".join(f"{n} on {w}" for w, n in sorted(f.slices_by_worker.items())) or "-"
    print(
        f"{scenario.label:<42} {f.seconds:7.2f} s  job {f.state}; {f.runs} runs on {f.servers} "
        f"servers ({states}); {f.lines} lines stored; slices: {slices}; load {load()}"
    )


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()

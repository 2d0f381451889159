"""``otter-tui daemon`` as a real process on a temp config: it claims jobs the CLI creates, logs
one logfmt line per event, reloads on SIGHUP, serves only its queues, and on SIGTERM lets running
jobs finish within the grace, marks the rest ``interrupted`` and exits 0 - all without Textual.

Each daemon is started through the real CLI entry in a fresh interpreter that, when the daemon
has exited, reports every UI module it ever imported.
"""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w

from otter_tui.cli import run
from otter_tui.config import load_settings
from otter_tui.runtime import open_runtime
from otter_tui.services.queues import QueueService
from otter_tui.services.schedules import ScheduleFields, ScheduleService
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import ACTOR, make_runtime

LAUNCH = """
import faulthandler, signal, sys
faulthandler.register(signal.SIGUSR1, all_threads=True)
from otter_tui.cli import run
code = run(sys.argv[1:])
ui = sorted(m for m in sys.modules if m.split(".")[0] in ("textual", "rich", "screens"))
print("ui_modules=" + (",".join(ui) or "none"), file=sys.stderr)
sys.exit(code)
"""

PLAN = '''
from otter_tui.plan import Command, Int, OrchestrationPlan, RunContext


class Sleepy(OrchestrationPlan):
    """Sleeps on the local transport: a real process the daemon must stop."""

    name = "Sleepy"
    eligible_queues = ("a", "b")
    variables = {"seconds": Int(default=60)}

    async def run(self, ctx: RunContext) -> None:
        ctx.log("going to sleep")
        await ctx.shell(Command.argv("sleep", str(ctx.vars["seconds"])))
        ctx.log("woke up")
'''

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z level=[a-z]+ event=[a-z._]+( |$)")
PAIR = re.compile(r'([a-z_][a-z0-9_.]*)=("(?:[^"\\]|\\.)*"|\S*)')
SETTINGS = {
    "paths": {"data_dir": "data", "plans_dir": "plans"},
    "daemon": {"shutdown_grace_seconds": 3, "poll_seconds": 0.2},
    "engine": {"cancel_grace_seconds": 1, "lease_seconds": 5},
    "scheduler": {"lease_seconds": 3},
}


def fields(line: str) -> dict[str, str]:
    """A logfmt line's pairs, values unquoted."""
    return {
        k: v[1:-1].replace('\\"', '"') if v.startswith('"') else v for k, v in PAIR.findall(line)
    }


class DaemonProcess:
    """A daemon subprocess whose stdout lines are collected as they come."""

    def __init__(self, config: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("OTTER_TUI_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "--config", str(config), "daemon", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._start_reader()

    def _start_reader(self) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        self._err: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err_reader = threading.Thread(target=self._read_err, daemon=True)
        self._err_reader.start()
        self.stderr = ""

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._new.put(line.rstrip("\n"))

    def _read_err(self) -> None:
        """Drain stderr as it comes, so a chatty child never blocks on a full pipe."""
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self._err.append(line)

    def stacks(self, settle: float = 1.0) -> str:
        """Every thread's stack in the child right now (faulthandler on SIGUSR1), with what it
        wrote to stderr before: what a test prints when the child stopped answering."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGUSR1)
            time.sleep(settle)
        return "".join(self._err)

    def wait_for(self, event: str, timeout: float = 20.0, **match: str) -> dict[str, str]:
        """The fields of the first line (seen before or from now on) with this event and fields."""
        deadline = time.monotonic() + timeout
        seen = 0
        while True:
            for line in self.lines[seen:]:
                got = fields(line)
                if got.get("event") == event and all(got.get(k) == v for k, v in match.items()):
                    return got
            seen = len(self.lines)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event} {match} within {timeout}s:\n" + self.text())
            try:
                self.lines.append(self._new.get(timeout=min(remaining, 0.5)))
            except queue.Empty:
                if self.proc.poll() is not None and self._new.empty():
                    raise AssertionError(
                        f"daemon exited waiting for {event}:\n{self.text()}"
                    ) from None

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def finish(self, timeout: float) -> int:
        """Wait for the exit; collect the remaining lines and stderr; the exit code."""
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        self._err_reader.join(timeout=5)
        while not self._new.empty():
            self.lines.append(self._new.get())
        self.stderr = "".join(self._err)
        return code

    def collect(self) -> None:
        """Take in the lines printed so far, without waiting."""
        while not self._new.empty():
            self.lines.append(self._new.get())

    def events(self, name: str) -> list[dict[str, str]]:
        return [f for f in map(fields, self.lines) if f.get("event") == name]

    def text(self) -> str:
        return "\n".join(self.lines)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Demo inventory on a SQLite file in tmp, queues ``a`` (concurrency 1) and ``b``, and the
    Sleepy plan, enabled."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "sleepy.py").write_text(PLAN)
    path = tmp_path / "config.toml"
    path.write_bytes(tomli_w.dumps(SETTINGS).encode())
    rt = make_runtime(tmp_path)
    QueueService(rt.ctx).add("a", concurrency=1)
    QueueService(rt.ctx).add("b")
    rt.plans.set_enabled("sleepy.Sleepy", True)
    rt.close()
    return path


@pytest.fixture
def daemons() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for daemon in started:
        daemon.kill()


def start(daemons: list[DaemonProcess], config: Path, *args: str) -> DaemonProcess:
    daemon = DaemonProcess(config, *args)
    daemons.append(daemon)
    daemon.wait_for("daemon.started")
    return daemon


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    code = run(["--config", str(config), *args], actor=ACTOR)
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    return out


def create(config: Path, capsys: pytest.CaptureFixture[str], seconds: int, *args: str) -> str:
    """``run sleepy.Sleepy --detach`` on demo-db1; the new job's id."""
    out = cli(
        config,
        capsys,
        "run",
        "sleepy.Sleepy",
        "--servers",
        "demo-db1",
        "--var",
        f"seconds={seconds}",
        "--detach",
        *args,
    )
    assert out.endswith(": queued\n"), out
    return out.split()[1]


def job(config: Path, capsys: pytest.CaptureFixture[str], job_id: str) -> dict[str, object]:
    shown = json.loads(cli(config, capsys, "jobs", "show", job_id, "--json"))
    assert isinstance(shown, dict)
    return shown


def assert_clean_exit(daemon: DaemonProcess, code: int) -> None:
    assert code == 0, daemon.stderr
    assert "ui_modules=none" in daemon.stderr, daemon.stderr
    assert "Traceback" not in daemon.stderr
    bad = [line for line in daemon.lines if not LINE.match(line)]
    assert bad == [], "lines not in the log format"
    assert daemon.events("daemon.stopped"), daemon.text()


def test_the_daemon_claims_a_job_the_cli_created_and_logs_each_step(
    config: Path, capsys: pytest.CaptureFixture[str], daemons: list[DaemonProcess]
) -> None:
    daemon = start(daemons, config, "--no-scheduler")
    started = daemon.wait_for("daemon.started")
    assert started["queues"] == "a,b,default"
    assert started["scheduler"] == "off"
    job_id = create(config, capsys, 0)
    claimed = daemon.wait_for("job.claimed", job=job_id)
    assert (claimed["plan"], claimed["queue"]) == ("sleepy.Sleepy", "default")
    assert claimed["worker"] == started["worker"]
    daemon.wait_for("job.started", job=job_id, plan="sleepy.Sleepy")
    daemon.wait_for("run.state", job=job_id, server="demo-db1", state="running")
    finished = daemon.wait_for("job.finished", job=job_id)
    assert (finished["state"], finished["level"], finished["runs"]) == ("succeeded", "info", "1")
    assert job(config, capsys, job_id)["state"] == "succeeded"
    daemon.send(signal.SIGTERM)
    assert_clean_exit(daemon, daemon.finish(timeout=15))
    assert daemon.events("daemon.stopping")[0]["reason"] == "SIGTERM"


def test_sigterm_lets_a_short_job_finish_interrupts_a_long_one_and_exits_0(
    config: Path, capsys: pytest.CaptureFixture[str], daemons: list[DaemonProcess]
) -> None:
    daemon = start(daemons, config, "--no-scheduler")
    short, long = create(config, capsys, 1), create(config, capsys, 60)
    daemon.wait_for("run.state", job=short, state="running")
    daemon.wait_for("run.state", job=long, state="running")
    daemon.send(signal.SIGTERM)
    signalled = time.monotonic()
    code = daemon.finish(timeout=20)
    took = time.monotonic() - signalled
    grace, cancel_grace = 3, 1
    assert took < grace + cancel_grace + 4, f"took {took:.1f}s"
    assert took >= grace - 0.5, "the daemon must give running jobs their grace"
    assert_clean_exit(daemon, code)
    stopping = daemon.events("daemon.stopping")[0]
    assert (stopping["grace"], stopping["running"]) == ("3", f"{short},{long}")
    assert daemon.events("daemon.stopped")[0]["interrupted"] == long
    ends = {e["job"]: e["state"] for e in daemon.events("job.finished")}
    assert ends == {short: "succeeded", long: "interrupted"}
    assert job(config, capsys, short)["state"] == "succeeded"
    interrupted = job(config, capsys, long)
    assert interrupted["state"] == "interrupted"
    assert "stopped before the job finished" in str(interrupted["error"])
    logs = cli(config, capsys, "jobs", "logs", long)
    assert "[demo-db1] going to sleep" in logs
    assert "woke up" not in logs


def test_sighup_reloads_config_and_plans_and_a_bad_file_keeps_the_old_settings(
    config: Path, capsys: pytest.CaptureFixture[str], daemons: list[DaemonProcess]
) -> None:
    daemon = start(daemons, config, "--no-scheduler")
    newer = {**SETTINGS, "daemon": {"shutdown_grace_seconds": 4, "poll_seconds": 0.2}}
    newer["engine"] = {**SETTINGS["engine"], "max_parallel": 7}
    cli(config, capsys, "queues", "add", "late")  # (the CLI syncs plans too: add the file after)
    config.write_bytes(tomli_w.dumps(newer).encode())
    (config.parent / "plans" / "extra.py").write_text(PLAN.replace("Sleepy", "Extra"))
    daemon.send(signal.SIGHUP)
    reloaded = daemon.wait_for("config.reloaded")
    assert reloaded["changed"] == "engine.max_parallel,daemon.shutdown_grace_seconds"
    assert reloaded["restart_needed"] == "engine.max_parallel"
    assert daemon.wait_for("plans.synced")["created"] == "extra.Extra"
    assert daemon.wait_for("queues.served")["queues"] == "a,b,default,late"

    config.write_text("[daemon]\nshutdown_grace_seconds = 'soon'\n")
    daemon.send(signal.SIGHUP)
    failed = daemon.wait_for("config.reload_failed")
    assert failed["level"] == "error"
    assert "daemon.shutdown_grace_seconds" in failed["error"]

    daemon.send(signal.SIGINT)
    assert_clean_exit(daemon, daemon.finish(timeout=15))
    assert len(daemon.events("config.reload_failed")) == 1
    assert len(daemon.events("config.reloaded")) == 1
    stopping = daemon.events("daemon.stopping")[0]
    assert (stopping["reason"], stopping["grace"]) == ("SIGINT", "4")


def test_a_daemon_serves_only_its_queues_each_within_its_concurrency(
    config: Path, capsys: pytest.CaptureFixture[str], daemons: list[DaemonProcess]
) -> None:
    in_b = create(config, capsys, 0, "--queue", "b")
    first, second = (create(config, capsys, 1, "--queue", "a") for _ in range(2))
    daemon = start(daemons, config, "--no-scheduler", "--queues", "a")
    assert daemon.wait_for("daemon.started")["queues"] == "a"
    daemon.wait_for("job.finished", job=second)
    daemon.send(signal.SIGTERM)
    assert_clean_exit(daemon, daemon.finish(timeout=15))
    assert job(config, capsys, in_b)["state"] == "queued"
    assert {e["job"] for e in daemon.events("job.claimed")} == {first, second}
    one, two = job(config, capsys, first), job(config, capsys, second)
    assert (one["state"], two["state"]) == ("succeeded", "succeeded")
    assert str(two["started_at"]) >= str(one["finished_at"]), "queue a runs one job at a time"


def test_an_unknown_queue_is_refused_before_the_daemon_starts(config: Path) -> None:
    daemon = DaemonProcess(config, "--no-scheduler", "--queues", "a,nope")
    code = daemon.finish(timeout=20)
    assert code == 2
    assert daemon.lines == []
    assert daemon.stderr.splitlines()[0] == (
        "otter-tui: error: unknown job queue 'nope' (known: a, b, default)"
    )


def test_the_scheduler_leads_creates_a_due_job_the_worker_runs_and_steps_down(
    config: Path, capsys: pytest.CaptureFixture[str], daemons: list[DaemonProcess]
) -> None:
    daemon = start(daemons, config)
    assert daemon.wait_for("daemon.started")["scheduler"] == "on"
    daemon.wait_for("scheduler.leader", state="acquired")
    rt = open_runtime(settings=load_settings(config), actor=ACTOR)
    try:
        ScheduleService(rt.ctx, rt.plans).add(
            "soon",
            ScheduleFields(
                plan="sleepy.Sleepy",
                at=datetime.now(UTC) + timedelta(seconds=1),
                targets=TargetSpec(servers=("demo-db1",)),
                variables={"seconds": "0"},
            ),
        )
    finally:
        rt.close()
    created = daemon.wait_for("job.created")
    finished = daemon.wait_for("job.finished", job=created["job"])
    assert (finished["state"], finished["plan"]) == ("succeeded", "sleepy.Sleepy")
    daemon.send(signal.SIGTERM)
    assert_clean_exit(daemon, daemon.finish(timeout=15))
    assert daemon.events("scheduler.leader")[-1]["state"] == "released"

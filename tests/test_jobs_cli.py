"""The "done when" of the engine, from the command line against real sshd servers: ``run
--follow`` streams prefixed per-server lines live and exits by result; ``drift check``, ``drift
remediate``, ``drift check`` goes drifted -> current."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest

from otter_tui import cli
from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.errors import NotFoundError
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import Job, JobState
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, engine_runtime, run_now
from tests.fixtures_core import admit_os_account

OTTER = str(Path(sys.executable).with_name("otter-tui"))


@pytest.fixture
def fleet_rt(tmp_path: Path, ssh_fleet: SshdFleet, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    rt = engine_runtime(tmp_path, ssh_fleet)
    for name in add_fleet(rt, ssh_fleet, range(3)):
        root = tmp_path / "roots" / name
        root.mkdir(parents=True)
        rt.variables.set("server", name, "root", str(root))
    return rt


def otter(tmp_path: Path, *args: str) -> int:
    return cli.run(["--config", str(tmp_path / "config.toml"), *args], actor="alice")


def table_rows(out: str) -> dict[str, list[str]]:
    """Rows of the printed tables, by first column (log lines, which start with '[', left out)."""
    return {r.split()[0]: r.split()[1:] for r in out.splitlines() if r and r[0] != "["}


def test_run_follow_prefixes_lines_and_exits_by_result(
    fleet_rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert otter(tmp_path, "run", "engine_plans.Echo", "--roles", "fleet", "--var", "lines=2") == 0
    out = capsys.readouterr().out.splitlines()
    for name in ("srv001", "srv002", "srv003"):
        assert [x for x in out if x.startswith(f"[{name}] ")][-3:] == [
            f"[{name}] 1",
            f"[{name}] 2",
            f"[{name}] done on {name}",
        ]
    assert out[-1].startswith("job ") and out[-1].endswith(" succeeded")

    fleet_rt.variables.set("server", "srv002", "fail", "1")
    assert otter(tmp_path, "run", "engine_plans.Echo", "--roles", "fleet") == 1
    out = capsys.readouterr().out.splitlines()
    assert "[srv002] boom" in out and out[-1].endswith(" failed")
    fleet_rt.close()


def test_the_last_line_reads_the_job_without_its_server_runs(fleet_rt: Runtime) -> None:
    """``brief`` (the last line of ``run``, the poll of ``jobs logs --follow``) says what
    ``show`` says of the job itself, a failed one's error included; only the runs are left out."""
    ok = fleet_rt.jobs.create(JobRequest("engine_plans.Echo", TargetSpec(roles=("fleet",))))
    assert run_now(fleet_rt, ok.id) == "succeeded"
    failed = fleet_rt.jobs.create(JobRequest("engine_plans.Echo", TargetSpec(roles=("fleet",))))
    with fleet_rt.ctx.db.transaction() as s:  # as the engine records a job that cannot start
        job = s.get(Job, failed.id)
        assert job is not None
        job.state, job.error = JobState.FAILED, "could not start: its plan file is gone"
    for job_id in (ok.id, failed.id):
        whole = fleet_rt.jobs.show(job_id)
        assert whole.server_runs or job_id == failed.id
        assert fleet_rt.jobs.brief(job_id) == replace(whole, server_runs=(), approvals=())
    assert fleet_rt.jobs.brief(failed.id).error == "could not start: its plan file is gone"
    with pytest.raises(NotFoundError):
        fleet_rt.jobs.brief(failed.id + 1)
    fleet_rt.close()


def test_run_streams_while_the_job_runs(fleet_rt: Runtime, tmp_path: Path) -> None:
    admit_os_account(fleet_rt)
    fleet_rt.variables.set("server", "srv001", "delay", "2")
    argv = [OTTER, "--config", str(tmp_path / "config.toml"), "run", "engine_plans.Staggered"]
    child = subprocess.Popen(
        [*argv, "--servers", "srv001"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == "[srv001] start":
            seen = time.monotonic()
            break
    rest = child.stdout.read()
    assert child.wait(timeout=30) == 0
    assert time.monotonic() - seen > 1.0  # printed as it happened, not at the end
    assert "[srv001] done on srv001" in rest
    fleet_rt.close()


def test_drift_check_remediate_check_on_sshd(
    fleet_rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert otter(tmp_path, "drift", "check", "--roles", "fleet") == 0
    rows = table_rows(capsys.readouterr().out)
    assert [rows[f"srv00{i}"][0] for i in (1, 2, 3)] == ["drifted"] * 3
    assert rows["role"] == ["fleet", "drifted"]

    assert otter(tmp_path, "drift", "remediate", "--roles", "fleet", "--simulate") == 0
    assert "would change:" in capsys.readouterr().out
    assert not (tmp_path / "roots" / "srv001" / "motd").exists()

    assert otter(tmp_path, "drift", "remediate", "--roles", "fleet") == 0
    assert otter(tmp_path, "drift", "check", "--roles", "fleet") == 0
    rows = table_rows(capsys.readouterr().out)
    assert [rows[f"srv00{i}"][0] for i in (1, 2, 3)] == ["current"] * 3
    assert rows["role"] == ["fleet", "current"]
    assert otter(tmp_path, "drift", "show", "srv001") == 0
    assert capsys.readouterr().out.count("desired") == 3
    fleet_rt.close()


def test_a_check_of_some_servers_shows_them_and_the_groups_it_named(
    fleet_rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert otter(tmp_path, "drift", "check", "--servers", "srv002") == 0
    rows = table_rows(capsys.readouterr().out)
    assert rows["srv002"][0] == "drifted"
    assert not {"srv001", "srv003", "role"} & set(rows)  # not the whole fleet's table
    assert otter(tmp_path, "drift", "show") == 0
    rows = table_rows(capsys.readouterr().out)
    assert [rows[f"srv00{i}"][0] for i in (1, 2, 3)] == ["never", "drifted", "never"]
    assert rows["role"] == ["fleet", "drifted"]
    fleet_rt.close()


async def test_jobs_logs_follow_tails_a_job_run_by_a_worker(
    fleet_rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet_rt.variables.set("server", "srv001", "delay", "1")
    assert otter(tmp_path, "run", "engine_plans.Staggered", "--servers", "srv001", "--detach") == 0
    job_id = capsys.readouterr().out.split()[1]
    engine = Engine(fleet_rt.ctx, EventBus(), plans=fleet_rt.plans)
    worker = Worker(engine, poll_seconds=0.05, prune_every=None)
    await engine.start()
    await worker.start()
    try:
        code = await asyncio.to_thread(otter, tmp_path, "jobs", "logs", "--follow", job_id)
    finally:
        await worker.stop(5)
        await engine.close()
    out = capsys.readouterr().out.splitlines()
    assert code == 0
    assert out[-4:] == [
        "[srv001] start",
        "[srv001] done on srv001",
        "[job] job succeeded: 1 succeeded; 1 changed, 0 unknown, 0 warning(s)",
        f"job {job_id} succeeded",
    ]
    fleet_rt.close()


def test_jobs_logs_prints_every_line_of_a_long_log(
    fleet_rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("run", "engine_plans.Echo", "--servers", "srv001", "--var", "lines=25000", "--quiet")
    assert otter(tmp_path, *argv) == 0
    job_id = capsys.readouterr().out.split()[1]
    assert otter(tmp_path, "jobs", "logs", job_id, "--server", "srv001") == 0
    out = capsys.readouterr().out.splitlines()
    assert [x for x in out if x[9:].isdigit()] == [f"[srv001] {n}" for n in range(1, 25_001)]
    fleet_rt.close()

"""One big job across three real ``otter-tui daemon`` processes on one PostgreSQL (and on one
SQLite file), over a real sshd fleet: the job is split into slices, several daemons run them,
every server run is done exactly once with its whole log in order, and the job ends once; a
cancel reaches the slices of every daemon; a daemon killed with ``kill -9`` leaves its slice
``interrupted`` (never re-run) while the others finish theirs, and the job then ends
``interrupted``.

The fleet (30 servers) and the daemons are shared by the module; the kill test comes last.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator

import pytest
import tomli_w
from sqlalchemy import select

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import JobSlice, ServerRun
from otter_tui.targeting import TargetSpec
from otter_tui.testing.postgres import PostgresCluster
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet
from tests.fixtures_core import make_runtime
from tests.fixtures_postgres import TEMPLATE
from tests.fixtures_ssh import pgrep, require_sshd
from tests.test_daemon_process import SETTINGS, DaemonProcess

SERVERS = 30
SIZE = 10
GUARD = 90.0
PLAN = '''
from otter_tui.plan import Command, Int, OrchestrationPlan, Text


class Fleet(OrchestrationPlan):
    """Prints ``lines`` numbered lines on the server, then sleeps ``seconds`` there."""

    name = "Fleet"
    variables = {"lines": Int(default=3), "seconds": Text(default="0")}

    async def run(self, ctx):
        await ctx.shell(Command.shell(f"seq 1 {ctx.vars['lines']}; sleep {ctx.vars['seconds']}"))
        ctx.log(f"done on {ctx.server.name}")
'''
FLEET_PLAN = "fleet.Fleet"


@pytest.fixture(scope="module", params=["postgresql", "sqlite"])
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, list[DaemonProcess]]]:
    """30 sshd servers in role ``fleet``, the Fleet plan enabled, three daemons on PostgreSQL
    (woken by NOTIFY) or on one SQLite file (polling every second)."""
    require_sshd()
    name = "otter_slicing"
    pg: PostgresCluster | None = None
    url: str | None = None
    if request.param == "postgresql":
        pg = request.getfixturevalue("pg_cluster")
        url = pg.create_database(name, template=TEMPLATE)
    root = tmp_path_factory.mktemp("slicing")
    (root / "plans").mkdir()
    (root / "plans" / "fleet.py").write_text(PLAN)
    with SshdFleet(root / "fleet", SERVERS) as fleet:
        rt = make_runtime(root, url=url, seed=False)
        add_fleet(rt, fleet, range(SERVERS))
        rt.plans.set_enabled(FLEET_PLAN, True)
        ssh = {
            "known_hosts": str(fleet.known_hosts),
            "client_keys": [str(fleet.client_key)],
            "use_agent": False,
            "ssh_config": "",
        }
        daemon = {**SETTINGS["daemon"], "poll_seconds": 1.0}
        settings = {**SETTINGS, "daemon": daemon, "jobs": {"slice_size": SIZE}, "ssh": ssh}
        if url is not None:
            settings["database"] = {"url": url}
        (root / "config.toml").write_bytes(tomli_w.dumps(settings).encode())
        daemons = [DaemonProcess(root / "config.toml") for _ in range(3)]
        try:
            for daemon in daemons:
                daemon.wait_for("daemon.started")
            yield rt, daemons
        finally:
            for daemon in daemons:
                daemon.kill()
            rt.close()
            if pg is not None:
                pg.drop_database(name)


def postgres(rt: Runtime) -> bool:
    return rt.settings.database_url.startswith("postgresql")


def big_job(rt: Runtime, lines: int, seconds: int | str) -> int:
    variables = {"lines": str(lines), "seconds": str(seconds)}
    request = JobRequest(FLEET_PLAN, TargetSpec(roles=("fleet",)), variables)
    return rt.jobs.create(request).id


def wait_for(rt: Runtime, job_id: int, states: set[str]) -> str:
    deadline = time.monotonic() + GUARD
    while (state := rt.jobs.show(job_id).state) not in states:
        assert time.monotonic() < deadline, f"job {job_id} is {state}"
        time.sleep(0.1)
    return state


def slices_of(rt: Runtime, job_id: int) -> list[tuple[int, str, str | None]]:
    with rt.db.session() as s:
        query = select(JobSlice.number, JobSlice.state, JobSlice.worker)
        rows = s.execute(query.where(JobSlice.job_id == job_id).order_by(JobSlice.number))
        return [(n, state.value, worker) for n, state, worker in rows]


def runs_of(rt: Runtime, job_id: int) -> list[tuple[str, str, int | None]]:
    with rt.db.session() as s:
        query = select(ServerRun.server_name, ServerRun.state, ServerRun.slice_number)
        return [
            (n, st.value, sl) for n, st, sl in s.execute(query.where(ServerRun.job_id == job_id))
        ]


def run_errors(rt: Runtime, job_id: int) -> list[tuple[str, str, str]]:
    """Each server run's name, state and error: what a failed assertion shows."""
    with rt.db.session() as s:
        query = select(ServerRun.server_name, ServerRun.state, ServerRun.error)
        rows = s.execute(query.where(ServerRun.job_id == job_id))
        return [(n, st.value, error) for n, st, error in rows]


def wait_running(rt: Runtime, job_id: int, slices: int) -> list[tuple[int, str, str | None]]:
    """Wait until ``slices`` slices run (their runs started); the slices."""
    deadline = time.monotonic() + GUARD
    while True:
        running = [r for r in runs_of(rt, job_id) if r[1] == "running"]
        if len({number for _, _, number in running}) >= slices:
            return slices_of(rt, job_id)
        assert time.monotonic() < deadline, runs_of(rt, job_id)
        time.sleep(0.1)


def test_one_big_job_runs_once_across_three_daemons(
    cluster: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, _ = cluster
    job_id = big_job(rt, lines=5, seconds=1)
    assert wait_for(rt, job_id, {"succeeded", "failed", "cancelled", "interrupted"}) == "succeeded"

    runs = runs_of(rt, job_id)
    assert len(runs) == SERVERS and len({name for name, _, _ in runs}) == SERVERS, "each once"
    assert {state for _, state, _ in runs} == {"succeeded"}
    slices = slices_of(rt, job_id)
    assert [(n, state) for n, state, _ in slices] == [(1, "done"), (2, "done"), (3, "done")]
    if postgres(rt):  # woken by NOTIFY at once; on SQLite a daemon may poll too late
        assert len({worker for _, _, worker in slices}) >= 2, f"several daemons took: {slices}"
    lines = rt.jobs.logs(job_id, limit=100_000)
    for name, _, _ in runs:
        mine = [line.text for line in lines if line.server == name]
        assert mine == ["run: seq 1 5; sleep 1", "1", "2", "3", "4", "5", f"done on {name}"]
    assert [line.seq for line in lines] == list(range(1, len(lines) + 1)), "no gap: none skipped"
    assert "30 succeeded" in lines[-1].text
    assert rt.jobs.show(job_id).summary["server_runs"] == SERVERS


def test_a_cancel_reaches_every_daemons_slices(
    cluster: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, _ = cluster
    seconds = random.randint(100_000, 999_999)
    job_id = big_job(rt, lines=1, seconds=seconds)
    running = wait_running(rt, job_id, 2)
    if postgres(rt):
        assert len({worker for _, state, worker in running if state == "running"}) >= 2
    rt.jobs.cancel(job_id)
    assert wait_for(rt, job_id, {"cancelled", "succeeded", "failed"}) == "cancelled"
    assert {state for _, state, _ in runs_of(rt, job_id)} == {"cancelled"}, run_errors(rt, job_id)
    assert {state for _, state, _ in slices_of(rt, job_id)} == {"done"}
    deadline = time.monotonic() + 20
    while pgrep(f"sleep {seconds}"):
        assert time.monotonic() < deadline, "the remote sleeps were ended"
        time.sleep(0.1)


def test_a_killed_daemons_slice_is_interrupted_and_never_rerun(
    cluster: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, daemons = cluster
    job_id = big_job(rt, lines=1, seconds=8)
    slices = wait_running(rt, job_id, 3)
    number, _, victim_worker = slices[1]
    victim = next(d for d in daemons if d.wait_for("daemon.started")["worker"] == victim_worker)
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(timeout=10)

    state = wait_for(rt, job_id, {"interrupted", "succeeded", "failed"})
    slices = slices_of(rt, job_id)
    assert state == "interrupted", (slices, runs_of(rt, job_id), rt.jobs.show(job_id).error)
    # A daemon may hold two of the three slices (it takes a second one after leaving it to the
    # others for one poll): every slice the killed daemon held is interrupted, the rest done.
    held = {n for n, _, worker in slices if worker == victim_worker}
    assert number in held and len(held) < len(slices), slices
    assert {state for n, state, _ in slices if n in held} == {"interrupted"}
    assert {state for n, state, _ in slices if n not in held} == {"done"}
    runs = runs_of(rt, job_id)
    assert {state for _, state, n in runs if n in held} == {"interrupted"}
    assert {state for _, state, n in runs if n not in held} == {"succeeded"}
    killed = {name for name, _, n in runs if n in held}
    done_lines = [x for x in rt.jobs.logs(job_id, limit=100_000) if x.text.startswith("done on")]
    assert not [x for x in done_lines if x.server in killed], "never re-run"
    view = rt.jobs.show(job_id)
    assert view.error == f"worker {victim_worker} stopped before its slice finished"

"""Three real ``otter-tui daemon`` processes on one PostgreSQL: each job is claimed by exactly one
of them, one scheduler leader creates each firing once, a singleton never runs twice at once,
an approval given in another process releases the job to exactly one daemon, and a daemon killed
with ``kill -9`` is noticed by the others within a lease period: its job is marked
``interrupted``, never re-run, while the others carry on.

The daemons are shared by the module (starting three interpreters is most of the cost); the
kill test comes last.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tomli_w
from sqlalchemy import func, select

from otter_tui.runtime import Runtime
from otter_tui.services.approvals import ApprovalService
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.services.schedules import ScheduleFields, ScheduleService
from otter_tui.store.models import Job, ServerRun
from otter_tui.targeting import TargetSpec
from otter_tui.testing.postgres import PostgresCluster
from tests.fixtures_core import make_runtime
from tests.fixtures_postgres import TEMPLATE
from tests.test_daemon_process import PLAN, SETTINGS, DaemonProcess

SLEEPY = "sleepy.Sleepy"
DAEMONS = 3
GUARD = 60.0
"""Seconds a test waits for the daemons before failing (a hang guard)."""


@pytest.fixture(scope="module")
def shared(
    pg_cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Runtime, list[DaemonProcess]]]:
    """A PostgreSQL database, the Sleepy plan enabled, and three daemons serving ``default``."""
    name = "otter_daemons"
    url = pg_cluster.create_database(name, template=TEMPLATE)
    root = tmp_path_factory.mktemp("daemons")
    (root / "plans").mkdir()
    (root / "plans" / "sleepy.py").write_text(PLAN)
    rt = make_runtime(root, url=url)
    settings = {**SETTINGS, "database": {"url": url}}
    (root / "config.toml").write_bytes(tomli_w.dumps(settings).encode())
    rt.plans.set_enabled(SLEEPY, True)
    daemons = [DaemonProcess(root / "config.toml") for _ in range(DAEMONS)]
    try:
        for daemon in daemons:
            daemon.wait_for("daemon.started")
        yield rt, daemons
    finally:
        for daemon in daemons:
            daemon.kill()
        rt.close()
        pg_cluster.drop_database(name)


def sleepy(rt: Runtime, seconds: int = 0, **fields: object) -> JobView:
    request = JobRequest(
        SLEEPY, TargetSpec(servers=("demo-db1",)), {"seconds": str(seconds)}, **fields
    )
    return rt.jobs.create(request)  # type: ignore[arg-type]


def wait_states(rt: Runtime, ids: list[int], states: set[str]) -> dict[int, JobView]:
    deadline = time.monotonic() + GUARD
    while True:
        views = {i: rt.jobs.show(i) for i in ids}
        if all(v.state in states for v in views.values()):
            return views
        if time.monotonic() > deadline:
            raise AssertionError({i: v.state for i, v in views.items()})
        time.sleep(0.05)


def claims_of(daemons: list[DaemonProcess], job_id: int) -> list[str]:
    """The workers whose log says they claimed ``job_id`` (read what each has printed so far)."""
    for daemon in daemons:
        daemon.collect()
    return [
        e["worker"] for d in daemons for e in d.events("job.claimed") if e["job"] == str(job_id)
    ]


def worker_of(rt: Runtime, ids: list[int]) -> dict[int, str | None]:
    with rt.db.session() as s:
        return {i: w for i, w in s.execute(select(Job.id, Job.worker).where(Job.id.in_(ids)))}


def workers(daemons: list[DaemonProcess]) -> list[str]:
    return [d.wait_for("daemon.started")["worker"] for d in daemons]


def test_each_job_is_claimed_by_exactly_one_daemon(
    shared: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, daemons = shared
    ids = [sleepy(rt, 1).id for _ in range(30)]
    views = wait_states(rt, ids, {"succeeded"})
    assert len(views) == 30
    with rt.db.session() as s:
        per_job = select(ServerRun.job_id, func.count()).where(ServerRun.job_id.in_(ids))
        runs = {job: n for job, n in s.execute(per_job.group_by(ServerRun.job_id))}
    assert runs == {i: 1 for i in ids}
    assert {i: len(claims_of(daemons, i)) for i in ids} == {i: 1 for i in ids}
    # A daemon runs at most 4 jobs of a queue at once: 30 one-second jobs need all three.
    assert set(worker_of(rt, ids).values()) == set(workers(daemons))


def test_a_singleton_never_runs_twice_at_once_across_daemons(
    shared: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, daemons = shared
    rt.plans.override(SLEEPY, "is_singleton", "true")
    try:
        soon = datetime.now(UTC) + timedelta(seconds=1)
        first, second = (sleepy(rt, 1, run_at=soon) for _ in range(2))
        assert (first.state, second.state) == ("scheduled", "scheduled")
        views = wait_states(rt, [first.id, second.id], {"succeeded"})
    finally:
        rt.plans.clear_override(SLEEPY, "is_singleton")
    # Run times are taken by the process running it, after its claim committed.
    one, two = sorted(
        (v.server_runs[0] for v in views.values()), key=lambda r: r.started_at or soon
    )
    assert one.finished_at is not None and two.started_at is not None
    assert two.started_at >= one.finished_at
    assert len(claims_of(daemons, first.id)) == len(claims_of(daemons, second.id)) == 1


def test_an_approval_in_another_process_releases_the_job_to_one_daemon(
    shared: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, daemons = shared
    rt.users.add("bob", permissions=("jobs.approve",))
    job = sleepy(rt, 0, approval_required=True)
    assert job.state == "pending_approval"
    later = sleepy(rt, 0)
    wait_states(rt, [later.id], {"succeeded"})  # the daemons claimed past the waiting job
    assert rt.jobs.show(job.id).state == "pending_approval" and claims_of(daemons, job.id) == []
    ApprovalService(rt.ctx.as_user("bob"), rt.plans).approve(job.id, "fine")
    wait_states(rt, [job.id], {"succeeded"})
    assert len(claims_of(daemons, job.id)) == 1


def test_one_leader_creates_each_firing_once(
    shared: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, daemons = shared
    service = ScheduleService(rt.ctx, rt.plans)
    at = datetime.now(UTC) + timedelta(seconds=2)
    for n in range(5):
        fields = ScheduleFields(
            plan=SLEEPY,
            at=at,
            targets=TargetSpec(servers=("demo-db1",)),
            variables={"seconds": "0"},
        )
        service.add(f"once-{n}", fields)
    deadline = time.monotonic() + GUARD
    while len(created := [e for d in daemons for e in d.events("job.created")]) < 5:
        assert time.monotonic() < deadline, created
        for daemon in daemons:
            daemon.collect()
        time.sleep(0.05)
    leaders = [
        d for d in daemons if any(e["state"] == "acquired" for e in d.events("scheduler.leader"))
    ]
    assert len(leaders) == 1, "one leader, which never changed hands"
    assert len({e["job"] for e in created}) == 5 and len(created) == 5
    assert len(leaders[0].events("job.created")) == 5, "the leader created every firing"
    ids = [int(e["job"]) for e in created]
    wait_states(rt, ids, {"succeeded"})
    with rt.db.session() as s:
        per_schedule = select(Job.schedule_id, func.count()).where(Job.id.in_(ids))
        assert sorted(n for _, n in s.execute(per_schedule.group_by(Job.schedule_id))) == [1] * 5


def test_a_daemon_killed_with_sigkill_is_noticed_and_its_job_interrupted_never_rerun(
    shared: tuple[Runtime, list[DaemonProcess]],
) -> None:
    rt, daemons = shared
    seconds = random.randint(100_000, 999_999)  # a sleep no one else runs: found and ended below
    job = sleepy(rt, seconds)
    wait_states(rt, [job.id], {"running"})
    victim_worker = worker_of(rt, [job.id])[job.id]
    victim = next(d for d in daemons if d.wait_for("daemon.started")["worker"] == victim_worker)
    # The claim commits, then its line is printed: seeing "running" is not seeing that line yet,
    # and a kill in between would leave no line to find below.
    victim.wait_for("job.claimed", job=str(job.id))
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.proc.wait(timeout=10)

    view = wait_states(rt, [job.id], {"interrupted"})[job.id]
    # Both times are stamped by the daemons (the lease's end by the victim's last renewal, the end
    # by the one that noticed), so a slow test process does not blur them.
    with rt.db.session() as s:
        row = s.get(Job, job.id)
        assert row is not None and row.lease_expires_at and row.finished_at
        late = (row.finished_at - row.lease_expires_at).total_seconds()
    assert 0 <= late <= SETTINGS["engine"]["lease_seconds"], f"noticed {late:.1f}s after expiry"
    assert view.error == f"worker {victim_worker} stopped before the job finished"
    survivors = [d for d in daemons if d is not victim]
    after = [sleepy(rt, 0).id for _ in range(4)]
    wait_states(rt, after, {"succeeded"})
    assert claims_of(daemons, job.id) == [victim_worker], "never re-run"
    assert set(worker_of(rt, after).values()) <= set(workers(survivors))
    end_processes(["sleep", str(seconds)])


def end_processes(argv: list[str]) -> None:
    """The dead daemon's local command outlives it: end it by PID (found by its exact argv)."""
    wanted = ("\0".join(argv) + "\0").encode()
    for proc in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if proc.name.isdigit() and (proc / "cmdline").read_bytes() == wanted:
                os.kill(int(proc.name), signal.SIGKILL)

"""PostgreSQL restarts under a running job: a real ``otter-tui daemon`` runs a job on four real
sshd servers, each printing a line every 0.1 s for several seconds, and the test stops the server
(``pg_ctl``'s fast shutdown: SIGINT to the postmaster, every session ended) mid-job and starts it
again on the same port a moment later.

What an operator is promised (docs/deploy.md, "When PostgreSQL restarts"): the daemon says once,
in one line and without a traceback, that the database went away, and once that it is back; the
job carries on writing; every line it printed is stored, in order, and its final state too.

The cluster is the test's own (the suite's shared one must not go away under other tests).
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.exc import DBAPIError

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import LogEntry
from otter_tui.store.outage import is_unavailable
from otter_tui.targeting import TargetSpec
from otter_tui.testing.postgres import PostgresCluster
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, engine_runtime
from tests.test_daemon_process import DaemonProcess

LINES = 50
"""Lines each server prints, one every 0.1 s: about 5 s of output, restart included."""
OUTAGE = 1.5
"""Seconds the database stays down."""
GUARD = 60.0

TICKER = f'''
from otter_tui.plan import Command, OrchestrationPlan


class Ticker(OrchestrationPlan):
    """Prints a numbered line every 0.1 s on its server."""

    name = "Ticker"

    async def run(self, ctx):
        ticks = "for i in $(seq 1 {LINES}); do echo tick $i; sleep 0.1; done"
        await ctx.shell(Command.shell(ticks))
        ctx.log(f"done on {{ctx.server.name}}")
'''


@pytest.fixture
def cluster() -> Iterator[PostgresCluster]:
    with PostgresCluster() as started:
        yield started


@pytest.fixture
def world(
    tmp_path: Path, cluster: PostgresCluster, ssh_fleet: SshdFleet
) -> Iterator[tuple[Runtime, list[str]]]:
    """A migrated database on the test's cluster, the fleet's four servers, Ticker enabled."""
    url = cluster.create_database("otter")
    root = tmp_path / "otter"
    (root / "plans").mkdir(parents=True)
    (root / "plans" / "ticker.py").write_text(TICKER)
    rt = engine_runtime(root, ssh_fleet, url=url, engine={"lease_seconds": 30})
    rt.plans.set_enabled("ticker.Ticker", True)
    names = add_fleet(rt, ssh_fleet, range(len(ssh_fleet.servers)))
    yield rt, names
    rt.close()


def stored_lines(rt: Runtime, job_id: int) -> int:
    with rt.db.session() as s:
        return s.scalar(select(func.count()).where(LogEntry.job_id == job_id)) or 0


def wait(what: str, done: object) -> None:
    deadline = time.monotonic() + GUARD
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"not {what} within {GUARD}s"
        time.sleep(0.1)


def test_a_job_outlives_a_postgresql_restart_and_loses_nothing(
    world: tuple[Runtime, list[str]], cluster: PostgresCluster
) -> None:
    rt, names = world
    assert rt.settings.source is not None
    daemon = DaemonProcess(rt.settings.source)
    try:
        daemon.wait_for("daemon.started")
        job = rt.jobs.create(JobRequest("ticker.Ticker", TargetSpec(roles=("fleet",)), {}))
        wait("ticking", lambda: stored_lines(rt, job.id) >= 2 * len(names))
        assert rt.jobs.show(job.id).state == "running"
        assert stored_lines(rt, job.id) < len(names) * LINES / 2  # well before its end
        rt.db.engine.dispose()
        cluster.stop()
        time.sleep(OUTAGE)  # the outage itself: real time, with the job printing on
        cluster.start()
        wait("finished", lambda: rt.jobs.show(job.id).state not in ("queued", "running"))
        daemon.send(signal.SIGTERM)
        assert daemon.finish(timeout=GUARD) == 0
    finally:
        daemon.kill()
    view = rt.jobs.show(job.id)
    assert view.state == "succeeded", daemon.text()
    for name in names:
        got = [x.text for x in rt.jobs.logs(job.id, limit=100_000) if x.server == name]
        assert [t for t in got if t.startswith("tick")] == [
            f"tick {i}" for i in range(1, LINES + 1)
        ]
        assert got[-1] == f"done on {name}"
    seqs = [x.seq for x in rt.jobs.logs(job.id, limit=100_000)]
    assert seqs == list(range(1, len(seqs) + 1))
    out = daemon.text() + daemon.stderr
    assert "Traceback" not in out, out
    lost = [line for line in daemon.lines if "database connection lost" in line]
    back = [line for line in daemon.lines if "database reachable again" in line]
    assert (len(lost), len(back)) == (1, 1), out


def test_only_a_server_that_went_away_is_waited_for(cluster: PostgresCluster) -> None:
    """A refused connection or an ended session is an outage; a rejected statement is not."""
    engine = create_engine(cluster.url())
    with pytest.raises(DBAPIError) as rejected, engine.connect() as conn:
        conn.execute(text("SELECT * FROM no_such_table"))
    assert not is_unavailable(rejected.value)
    with pytest.raises(DBAPIError) as ended, engine.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))
    assert is_unavailable(ended.value)
    engine.dispose()
    port = cluster.port
    cluster.stop()
    try:
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(f"postgresql://otter@127.0.0.1:{port}/postgres", connect_timeout=2)
        assert is_unavailable(refused.value)
    finally:
        cluster.start()

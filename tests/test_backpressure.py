"""Log backpressure: a command printing faster than the store keeps up is held back, not buffered.

A real LogWriter with a deliberately slow insert and a small high-water mark, fed by a JobLog
from the real local and SSH transports: every line is stored in order, the lines waiting in
memory stay under the mark (plus one line per output stream), and a command held by
backpressure can still be cancelled, ending its process on the server.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.logs import JobLog, LogPressure, LogWriter
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.base import Command, Stream, Transport
from otter_tui.transport.local import LocalTransport
from tests.engine_support import add_fleet, add_local, create, engine_runtime, log_text, run_now
from tests.fixtures_core import db_file
from tests.fixtures_ssh import MakeTransport, pgrep, wait_until

BATCH = 100
HIGH = 1_000
STREAMS = 2
"""Each stream may emit one line past the mark before its pump waits."""


@dataclass
class Pipeline:
    rt: Runtime
    db: Path
    job_id: int
    joblog: JobLog
    writer: LogWriter
    pressure: LogPressure
    pending_seen: list[int]
    holds: list[int]

    def sink(self, stream: Stream, line: str) -> Awaitable[None] | None:
        """What the executor hands a transport: emit, and pass the backpressure back."""
        waiting = self.joblog.emit(line, stream=stream)
        if waiting is not None:
            self.holds.append(self.pressure.pending)
        return waiting

    def stored(self) -> list[tuple[int, str]]:
        conn = sqlite3.connect(self.db)
        try:
            return conn.execute(
                "SELECT seq, text FROM log_entries WHERE job_id = ? ORDER BY seq", (self.job_id,)
            ).fetchall()
        finally:
            conn.close()


@pytest.fixture
async def pipeline(tmp_path: Path) -> AsyncIterator[Pipeline]:
    """A JobLog and a LogWriter whose every insert takes at least 10 ms (a slow disk)."""
    rt = engine_runtime(tmp_path)
    add_local(rt, "here")
    job_id = create(rt, "Echo", TargetSpec(servers=("here",))).id
    bus = EventBus()
    dbthread = DbThread()
    pressure = LogPressure(HIGH)
    writer = LogWriter(rt.db, bus, dbthread, pressure=pressure)
    fast_insert = writer._insert

    def slow_insert(rows: list[dict[str, Any]]) -> None:
        time.sleep(0.01)
        fast_insert(rows)

    writer._insert = slow_insert  # type: ignore[method-assign]
    pending_seen: list[int] = []
    writer.observers.append(lambda lines: pending_seen.append(pressure.pending))
    writer.start()
    joblog = JobLog(job_id, bus, rt.ctx.now, batch_ms=20, batch_lines=BATCH, pressure=pressure)
    joblog.start()
    yield Pipeline(rt, db_file(tmp_path), job_id, joblog, writer, pressure, pending_seen, [])
    await joblog.close()
    await writer.close()
    dbthread.close()
    rt.close()


async def transport_of(kind: str, ssh_transport: Callable[..., Any]) -> Transport:
    if kind == "local":
        return LocalTransport("here", kill_grace=1.0)
    transport: Transport = ssh_transport(kill_grace=1.0)
    await transport.connect()
    return transport


@pytest.fixture
def ssh_or_nothing(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """The SSH transport maker, requested only by the SSH cases (so local runs without sshd)."""
    if "ssh" not in request.node.name:
        return lambda **_: None
    maker: MakeTransport = request.getfixturevalue("ssh_transport")
    return maker


@pytest.mark.parametrize("kind", ["local", "ssh"])
async def test_50k_lines_stored_in_order_with_bounded_memory(
    kind: str, pipeline: Pipeline, ssh_or_nothing: Callable[..., Any]
) -> None:
    transport = await transport_of(kind, ssh_or_nothing)

    result = await transport.run(Command.shell("seq 1 50000"), pipeline.sink)

    assert result.ok
    await pipeline.joblog.close()
    await pipeline.writer.drain()
    rows = pipeline.stored()
    assert [seq for seq, _ in rows] == list(range(1, 50_001))
    assert [text for _, text in rows] == [str(n) for n in range(1, 50_001)]
    assert pipeline.holds, "the slow store never held the command back"
    assert pipeline.pressure.peak <= HIGH + STREAMS
    assert max(pipeline.pending_seen) <= HIGH + BATCH
    assert pipeline.pressure.pending == 0 and not pipeline.pressure.holding


@pytest.mark.parametrize("kind", ["local", "ssh"])
async def test_cancel_while_held_ends_the_command(
    kind: str, pipeline: Pipeline, ssh_or_nothing: Callable[..., Any]
) -> None:
    transport = await transport_of(kind, ssh_or_nothing)
    marker = f"otter-bp-{random.randint(100_000, 999_999)}"
    task = asyncio.create_task(transport.run(Command.argv("yes", marker), pipeline.sink))
    assert await wait_until(lambda: len(pipeline.holds) >= 3)  # held back, more than once
    assert pgrep(marker)
    assert pipeline.pressure.peak <= HIGH + STREAMS  # `yes` never stops: only the hold bounds it

    started = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert time.monotonic() - started < 5  # the stop did not wait for the store to catch up
    assert await wait_until(lambda: not pgrep(marker))
    await pipeline.joblog.close()
    await pipeline.writer.drain()
    rows = pipeline.stored()
    assert [seq for seq, _ in rows] == list(range(1, len(rows) + 1))  # nothing lost or reordered
    assert {text for _, text in rows} <= {marker}


def test_time_limits_end_a_command_held_by_backpressure(
    tmp_path: Path, ssh_fleet: SshdFleet, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real engine, a slow store and a 1,000-line mark: ``Stubborn`` runs ``yes`` (held back
    almost at once), ignores the soft limit by starting another, and the hard limit kills it."""
    fast_insert = LogWriter._insert

    def slow_insert(self: LogWriter, rows: list[dict[str, Any]]) -> None:
        time.sleep(0.01)
        fast_insert(self, rows)

    monkeypatch.setattr(LogWriter, "_insert", slow_insert)
    rt = engine_runtime(tmp_path, ssh_fleet, engine={"log_batch_lines": 100})
    [name] = add_fleet(rt, ssh_fleet, [2])
    marker = f"otter-bp-{random.randint(100_000, 999_999)}"
    job = create(rt, "Stubborn", TargetSpec(servers=(name,)), seconds=f"0; yes {marker}")

    assert run_now(rt, job.id) == "failed"

    [run] = rt.jobs.show(job.id).server_runs
    assert run.state == "failed" and "time limit (2s) reached; killed" in run.error
    lines = log_text(rt, job.id, name)
    assert "ignoring the request to stop" in lines and marker in lines
    assert asyncio.run(wait_until(lambda: not pgrep(marker), timeout=5))
    rt.close()

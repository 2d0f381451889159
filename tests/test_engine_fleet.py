"""Fan-out against real sshd servers: many servers at once, and failures that stay local.

22 sshd servers on 127.0.0.1 plus one port with nothing listening. One server presents a host
key that known_hosts does not hold, one runs a command that fails. The other 20 must succeed,
each failure must carry its own reason, and the job must end ``failed``.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from otter_tui.events import LogLine
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, create, engine_runtime, log_text, run_now
from tests.fixtures_ssh import require_sshd

FLEET = 22
REKEYED = 21
FAILING = 2


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SshdFleet]:
    """22 servers; the last one has a new host key that known_hosts does not know."""
    require_sshd()
    with SshdFleet(tmp_path_factory.mktemp("fleet22"), FLEET) as started:
        started.rekey(REKEYED)
        yield started


def dead_port() -> int:
    """A port on 127.0.0.1 where nothing listens (bound a moment ago, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def peak_overlap(spans: list[tuple[datetime, datetime]]) -> int:
    """The most server runs that were running at the same instant."""
    edges = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans])
    peak = current = 0
    for _, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def test_failures_stay_with_their_server(tmp_path: Path, fleet: SshdFleet) -> None:
    rt = engine_runtime(tmp_path, fleet)
    names = add_fleet(rt, fleet, range(FLEET))
    rt.inventory.add_server("down", "127.0.0.1", port=dead_port(), roles=("fleet",))
    rt.variables.set("server", names[FAILING], "fail", "1")
    job = create(rt, "Echo", TargetSpec(roles=("fleet",)), lines="5")
    streamed: list[LogLine] = []

    assert run_now(rt, job.id, on_line=streamed.append) == "failed"

    runs = {r.server: r for r in rt.jobs.show(job.id).server_runs}
    assert len(runs) == FLEET + 1
    ok = {name for name, r in runs.items() if r.state == "succeeded"}
    assert ok == set(names) - {names[FAILING], names[REKEYED]}
    assert "refused" in runs["down"].error.lower()
    assert "host key" in runs[names[REKEYED]].error.lower()
    assert "exit" in runs[names[FAILING]].error.lower() and "3" in runs[names[FAILING]].error
    assert "boom" in log_text(rt, job.id, names[FAILING])
    for name in ok:
        assert log_text(rt, job.id, name)[-6:] == ["1", "2", "3", "4", "5", f"done on {name}"]
    assert {line.server for line in streamed} >= set(names) | {"down"}
    spans = [(r.started_at, r.finished_at) for r in runs.values()]
    assert all(a and b for a, b in spans)
    assert peak_overlap(spans) >= 10  # type: ignore[arg-type]
    rt.close()


def test_max_parallel_bounds_concurrent_server_runs(tmp_path: Path, fleet: SshdFleet) -> None:
    rt = engine_runtime(tmp_path, fleet, engine={"max_parallel": 3})
    names = add_fleet(rt, fleet, range(9))
    for name in names:
        rt.variables.set("server", name, "delay", "0.3")
    job = create(rt, "Staggered", TargetSpec(roles=("fleet",)))

    assert run_now(rt, job.id) == "succeeded"

    runs = rt.jobs.show(job.id).server_runs
    assert peak_overlap([(r.started_at, r.finished_at) for r in runs]) == 3  # type: ignore[misc]
    rt.close()

"""The daemon in this process, with a stand-in scheduler: leadership is logged as it changes,
and a scheduler that fails stops the daemon gracefully with exit code 1 (systemd restarts it)."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from typing import Any

import pytest

from otter_tui.daemon import core
from otter_tui.daemon.core import Daemon
from otter_tui.logfmt import setup_logging, teardown_logging
from otter_tui.runtime import Runtime
from tests.test_daemon_process import fields


class StandInScheduler:
    """Leads at once; fails when told to, or stops when asked."""

    def __init__(self, fail: bool) -> None:
        self.fail = fail
        self.is_leader = False
        self.woken = 0

    async def run(self, stop: asyncio.Event) -> None:
        self.is_leader = True
        await asyncio.sleep(0.05)
        if self.fail:
            raise RuntimeError("the lease table is gone")
        await stop.wait()
        self.is_leader = False

    def wake(self) -> None:
        self.woken += 1


@pytest.fixture
def log(runtime: Runtime) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging(stream, runtime.ctx.clock)
    yield stream
    teardown_logging(handler)


def events(log: io.StringIO) -> list[dict[str, str]]:
    return [fields(line) for line in log.getvalue().splitlines()]


def use(monkeypatch: pytest.MonkeyPatch, scheduler: StandInScheduler) -> None:
    def build(*_args: Any) -> StandInScheduler:
        return scheduler

    monkeypatch.setattr(core, "build_scheduler", build)


async def test_a_failing_scheduler_stops_the_daemon_with_exit_1(
    runtime: Runtime, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, StandInScheduler(fail=True))
    code = await asyncio.wait_for(Daemon(runtime).run(), timeout=30)
    assert code == 1
    seen = [(e["event"], e.get("state") or e.get("reason") or e.get("exit")) for e in events(log)]
    assert seen[0] == ("daemon.started", None)
    assert ("scheduler.leader", "acquired") in seen
    crash = next(e for e in events(log) if e["event"] == "scheduler.crashed")
    assert (crash["level"], crash["error"]) == ("error", "RuntimeError('the lease table is gone')")
    assert ("daemon.stopping", "scheduler-crashed") in seen
    assert seen[-1] == ("daemon.stopped", "1")


async def test_leadership_and_a_reload_reach_the_scheduler(
    runtime: Runtime, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    scheduler = StandInScheduler(fail=False)
    use(monkeypatch, scheduler)
    daemon = Daemon(runtime)
    running = asyncio.create_task(daemon.run())
    while "scheduler.leader" not in log.getvalue():
        await asyncio.sleep(0.02)
    await daemon.reload()
    daemon.request_stop("SIGTERM")
    assert await asyncio.wait_for(running, timeout=30) == 0
    assert scheduler.woken == 1
    leader = [e["state"] for e in events(log) if e["event"] == "scheduler.leader"]
    assert leader == ["acquired", "released"]
    assert [e["event"] for e in events(log)][-1] == "daemon.stopped"

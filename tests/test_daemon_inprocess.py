"""The daemon in this process, with a stand-in scheduler: leadership is logged as it changes,
and a scheduler that fails stops the daemon gracefully with exit code 1 (systemd restarts it).
With ``--api`` it serves the API from a loop of its own: scripts and live log streams get their
answers while the daemon's loop is busy with the SSH sessions of a big job."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from otter_tui.api.threaded import THREAD_NAME
from otter_tui.api_settings import Bind
from otter_tui.daemon import core
from otter_tui.daemon.core import Daemon, DaemonOptions
from otter_tui.errors import UsageError
from otter_tui.logfmt import setup_logging, teardown_logging
from otter_tui.runtime import Runtime
from otter_tui.services.presence import alive
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


# --api ------------------------------------------------------------------------------------------


def api_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


async def test_the_api_answers_while_the_daemons_own_loop_is_held(
    runtime: Runtime, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    use(monkeypatch, StandInScheduler(fail=False))
    daemon = Daemon(runtime, DaemonOptions(api=Bind("127.0.0.1", 0)))
    running = asyncio.create_task(daemon.run())
    while "api.started" not in log.getvalue():
        await asyncio.sleep(0.02)
    bind = next(e for e in events(log) if e["event"] == "api.started")["bind"]
    # A blocking call on the daemon's loop: nothing else runs on that loop until it returns,
    # so an API served there could not answer it and this would time out.
    answer = httpx.get(f"http://{bind}/readyz", timeout=10)
    assert (answer.status_code, answer.json()["database"]) == (200, "ok")
    assert len(api_threads()) == 1
    daemon.request_stop("SIGTERM")
    assert await asyncio.wait_for(running, timeout=30) == 0
    assert api_threads() == []
    seen = [e["event"] for e in events(log)]
    assert seen.index("api.stopped") < seen.index("daemon.stopped")


async def test_an_address_in_use_is_one_error_before_anything_else_starts(
    runtime: Runtime, log: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Refused before the daemon announces itself or claims a job it would then abandon."""
    use(monkeypatch, StandInScheduler(fail=False))
    with socket_in_use() as port:
        daemon = Daemon(runtime, DaemonOptions(api=Bind("127.0.0.1", port)))
        with pytest.raises(UsageError, match=f"cannot listen on 127.0.0.1:{port}"):
            await daemon.run()
    assert api_threads() == []
    assert events(log) == []
    assert alive(runtime.db, runtime.ctx.now()) == []


@contextlib.contextmanager
def socket_in_use() -> Iterator[int]:
    """A port on 127.0.0.1 that something else listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]

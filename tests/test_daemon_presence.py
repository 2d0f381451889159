"""A running daemon says so: its presence row is written at start, renewed every third of a
lease while it runs, and deleted when it stops cleanly."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from otter_tui.daemon.core import Daemon, DaemonOptions
from otter_tui.runtime import Runtime
from otter_tui.scheduler import ManualClock
from otter_tui.services import presence
from tests.fixtures_core import FixedClock
from tests.fixtures_scheduler import GUARD


async def test_the_daemon_is_present_while_it_runs_and_gone_after_it_stops(
    runtime: Runtime, clock: FixedClock
) -> None:
    manual = ManualClock(clock.now)
    daemon = Daemon(runtime, clock=manual)
    assert runtime.jobs.daemon_holder() is None
    await daemon.start()
    try:
        (seen,) = presence.alive(runtime.db, clock.now)
        assert (seen.holder, seen.scheduler) == (daemon.worker.name, True)
        assert "default" in seen.queues
        assert runtime.jobs.daemon_holder() == daemon.worker.name
        assert seen.expires_at == clock.now + timedelta(seconds=15)

        mark = manual.sleep_calls
        clock.advance(5)
        manual.advance(5)  # a renewal interval later the row is renewed
        await asyncio.wait_for(manual.wait_sleepers(1, since=mark), GUARD)
        (renewed,) = presence.alive(runtime.db, clock.now)
        assert renewed.expires_at == clock.now + timedelta(seconds=15)
    finally:
        await daemon.shutdown()
    assert presence.alive(runtime.db, clock.now) == []
    assert runtime.jobs.daemon_holder() is None


async def test_a_daemon_without_scheduler_is_present_but_does_not_schedule(
    runtime: Runtime, clock: FixedClock
) -> None:
    daemon = Daemon(runtime, DaemonOptions(scheduler=False, queues=("default",)))
    await daemon.start()
    try:
        (seen,) = presence.alive(runtime.db, clock.now)
        assert (seen.scheduler, seen.queues) == (False, ("default",))
        assert presence.scheduling_daemon(runtime.db, clock.now) is None
        assert runtime.jobs.daemon_holder("default") == daemon.worker.name
        assert runtime.jobs.daemon_holder("ops") is None
    finally:
        await daemon.shutdown()

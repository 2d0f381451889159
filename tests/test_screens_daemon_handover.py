"""The console and a daemon on one database: the console schedules and runs queued jobs only while
no daemon does, re-checking all the time, and its header says who schedules.

The daemon is stood in for by its presence row (exactly what a real daemon writes); the console's
scheduler runs on a manual clock, so "a renewal interval later" takes no time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.scheduler import ManualClock, Scheduler
from otter_tui.services import presence
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_runner import ConsoleRunner
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import until

PLANS_DIR = Path(__file__).resolve().parent.parent / "plans"
DEPLOY = "demo_deploy.DemoDeploy"
DAEMON = "otter-host:4242"
LEASE = timedelta(seconds=15)
GUARD = 20.0


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    rt = make_runtime(tmp_path, clock=clock, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    rt.plans.set_enabled(DEPLOY, True)
    yield rt
    rt.close()


def deploy(runtime: Runtime) -> JobView:
    return runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))


def daemon_starts(runtime: Runtime, *, queues: tuple[str, ...] = ("default",)) -> None:
    now = runtime.ctx.now()
    presence.announce(runtime.db, DAEMON, scheduler=True, queues=queues, now=now, length=LEASE)


def daemon_stops(runtime: Runtime) -> None:
    presence.withdraw(runtime.db, DAEMON)


def test_the_console_claims_nothing_a_live_daemon_serves(runtime: Runtime) -> None:
    runner = ConsoleRunner(runtime, EventBus())
    job = deploy(runtime)
    daemon_starts(runtime)
    assert runner.claims.claim_next(["default"]) is None
    assert (runner.daemon, runtime.jobs.show(job.id).state) == (DAEMON, "queued")
    assert runner.poll is False  # the jobs list says "jobs run by the daemon"
    daemon_stops(runtime)
    assert runner.claims.claim_next(["default"]) == job.id
    assert (runner.daemon, runtime.jobs.show(job.id).state) == (None, "running")
    assert runner.poll is True


def test_a_daemon_serving_other_queues_or_dead_leaves_the_jobs_to_the_console(
    runtime: Runtime, clock: FixedClock
) -> None:
    runner = ConsoleRunner(runtime, EventBus())
    first, second = deploy(runtime), deploy(runtime)
    daemon_starts(runtime, queues=("ops",))
    assert runner.claims.claim_next(["default"]) == first.id
    daemon_starts(runtime)
    assert runner.claims.claim_next(["default"]) is None
    clock.advance(LEASE.total_seconds())  # it died: nobody renewed its presence
    assert runner.claims.claim_next(["default"]) == second.id


async def test_the_header_and_the_runner_follow_a_daemon_coming_and_going(
    runtime: Runtime, clock: FixedClock
) -> None:
    manual = ManualClock(clock.now)
    bus = EventBus()
    runner = ConsoleRunner(runtime, bus, poll_seconds=0.2)
    scheduler = Scheduler(
        runtime, holder="console:here:1", clock=manual, bus=bus, defer_to_daemon=True
    )
    app = OtterApp(runtime, bus, runner, scheduler)

    async def renewal_passes() -> None:
        """A renewal interval later, with the scheduler asleep again."""
        mark = manual.sleep_calls
        clock.advance(5)
        manual.advance(5)
        await asyncio.wait_for(manual.wait_sleepers(1, since=mark), GUARD)
        app.show_status()

    def header() -> str:
        return str(app.sub_title).split(" · ", 1)[1]

    async with app.run_test(size=(160, 50)) as pilot:
        await until(pilot, lambda: scheduler.is_leader, GUARD)
        app.show_status()
        assert header() == "scheduler: this console"

        daemon_starts(runtime)
        await renewal_passes()
        assert header() == f"scheduler: daemon {DAEMON}"
        assert not scheduler.is_leader
        runner.notify()
        await until(pilot, lambda: runner.daemon == DAEMON, GUARD)
        # Queued only now: a poll that looked for a daemon just before it started may still
        # claim (harmless: a claim is atomic), which is not what this test is about.
        job = deploy(runtime)
        runner.claims.daemons.clear()  # refilled by the next poll, which must not claim it
        runner.notify()
        await until(pilot, lambda: runner.daemon == DAEMON, GUARD)
        assert runtime.jobs.show(job.id).state == "queued"  # the daemon's to run

        daemon_stops(runtime)
        await renewal_passes()
        assert scheduler.is_leader
        runner.notify()
        await until(pilot, lambda: runtime.jobs.show(job.id).state == "succeeded", GUARD)
        app.show_status()
        assert header() == "scheduler: this console"
    assert scheduler.leader is None  # quitting let the lease go

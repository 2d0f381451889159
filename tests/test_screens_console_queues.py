"""The console's own worker serves the queues ``[console] queues`` names (default: every local
queue, even one added after the start), and the jobs list says which worker runs each job.

Jobs run on the demo inventory (local transport, sandbox folders under the test's tmp dir) by
the console's own runner, exactly as in the real console.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Label

from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services import presence
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.services.queues import QueueService
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_format import describe_job
from screens.job_runner import ConsoleRunner
from screens.jobs import COLUMNS, JobsScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, SIZE, rows, settle, until

WORKER = COLUMNS.index("worker")
STATE = COLUMNS.index("state")


def console_runtime(tmp_path: Path, queues: list[str] | None = None) -> Runtime:
    """The demo inventory, deploy enabled and allowed on queue ``ops`` (which exists)."""
    sections: dict[str, dict[str, Any]] = {"paths": {"plans_dir": str(PLANS_DIR)}}
    if queues is not None:
        sections["console"] = {"queues": queues}
    rt = make_runtime(tmp_path, clock=FixedClock(), sections=sections)
    rt.plans.set_enabled(DEPLOY, True)
    rt.plans.override(DEPLOY, "eligible_queues", "ops")
    return rt


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = console_runtime(tmp_path, ["ops"])
    QueueService(rt.ctx).add("ops")
    yield rt
    rt.close()


def deploy(runtime: Runtime, queue: str | None = None) -> JobView:
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}, queue=queue)
    return runtime.jobs.create(request)


def console(runtime: Runtime) -> tuple[OtterApp, ConsoleRunner]:
    runner = ConsoleRunner(runtime, EventBus(), poll_seconds=60)
    return OtterApp(runtime, runner.bus, runner), runner


async def ran(pilot: Pilot[None], app: OtterApp, runner: ConsoleRunner, job: JobView) -> None:
    """Wake the runner, wait until ``job`` finished, and show the fresh list."""
    runner.notify()
    await until(pilot, lambda: app.runtime.jobs.show(job.id).state == "succeeded", 30)
    assert isinstance(app.screen, JobsScreen)
    app.screen.action_reload()
    await settle(pilot)


async def test_the_console_serves_only_the_queues_config_names(runtime: Runtime) -> None:
    app, runner = console(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        waits, runs = deploy(runtime), deploy(runtime, "ops")
        await ran(pilot, app, runner, runs)
        by_id = {row[0]: row for row in rows(app, "#jobs")}
        assert by_id[str(runs.id)][WORKER] == runner.name
        assert by_id[str(waits.id)][STATE] == "queued"
        assert by_id[str(waits.id)][WORKER] == "-"
        assert runtime.jobs.show(waits.id).state == "queued"
        assert "queues ops run in this console" in str(
            app.screen.query_one("#jobs-count", Label).visual
        )


async def test_by_default_every_local_queue_is_served_even_one_added_later(
    tmp_path: Path,
) -> None:
    rt = console_runtime(tmp_path)
    try:
        app, runner = console(rt)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("2")
            await settle(pilot)
            first = deploy(rt)
            await ran(pilot, app, runner, first)
            QueueService(rt.ctx).add("ops")  # after the console started
            later = deploy(rt, "ops")
            await ran(pilot, app, runner, later)
            workers = {row[0]: row[WORKER] for row in rows(app, "#jobs")}
            assert workers == {str(first.id): runner.name, str(later.id): runner.name}
            assert runner.queues == ("default", "ops")
    finally:
        rt.close()


async def test_a_queue_config_names_that_does_not_exist_is_one_line_in_the_console(
    tmp_path: Path,
) -> None:
    rt = console_runtime(tmp_path, ["ops", "nightly"])
    QueueService(rt.ctx).add("ops")
    try:
        app, runner = console(rt)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2")
            await until(pilot, lambda: bool(app._notifications))
            [notice] = [str(n.message) for n in app._notifications]
            assert notice == (
                "config console.queues: unknown job queue 'nightly' (known: default, ops)"
            )
            job = deploy(rt, "ops")
            await ran(pilot, app, runner, job)  # the queues that exist are still served
            assert runner.queues == ("ops",)
    finally:
        rt.close()


def test_a_daemon_on_one_queue_leaves_the_others_to_the_console(runtime: Runtime) -> None:
    runner = ConsoleRunner(runtime, EventBus())
    ops, default = deploy(runtime, "ops"), deploy(runtime)
    now = runtime.ctx.now()
    presence.announce(
        runtime.db,
        "otter-host:1",
        scheduler=False,
        queues=("ops",),
        now=now,
        length=timedelta(seconds=15),
    )
    assert runner.claims.claim_next(["ops", "default"]) == default.id
    assert runtime.jobs.show(ops.id).state == "queued"
    assert (runner.daemon, runner.poll) == ("otter-host:1", True)
    assert runner.claims.claim_next(["ops"]) is None
    assert runner.poll is True  # "default" is still the console's to run


async def test_the_job_detail_names_the_worker_that_ran_it(runtime: Runtime) -> None:
    app, runner = console(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        job = deploy(runtime, "ops")
        await ran(pilot, app, runner, job)
    view = runtime.jobs.show(job.id)
    text = describe_job(view, runtime.ctx.now()).plain
    assert f" on {runner.name}" in text.split("\nran", 1)[1].split("\n", 1)[0]
    assert view.as_dict()["worker"] == runner.name

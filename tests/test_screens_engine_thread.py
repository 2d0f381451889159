"""The console as ``otter-tui`` runs it: its job runner and scheduler on an event loop of their
own, on a thread (``screens/engine_thread.py``), driven with Pilot.

What the user must not notice is the thread: a queued job runs and its lines reach the open
detail, a job from the form runs at once, cancel stops a running job here, quitting asks and
interrupts, and the thread is gone when the app has exited.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Static

from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.engine_thread import THREAD_NAME
from screens.job_detail import JobDetailScreen
from screens.job_runner import ConsoleRunner
from screens.jobs import JobsScreen
from screens.modals import ConfirmModal
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, SIZE, deploy_runtime, rows, settle, slow_runtime, until


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


@pytest.fixture
def slow(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime whose ``slow.Slow`` plan runs until stopped."""
    rt = slow_runtime(tmp_path)
    yield rt
    rt.close()


def threaded_console(runtime: Runtime) -> OtterApp:
    bus = EventBus()
    return OtterApp(runtime, bus, ConsoleRunner(runtime, bus, poll_seconds=60), threaded=True)


def engine_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == THREAD_NAME]


def state(runtime: Runtime, job_id: int) -> str:
    return runtime.jobs.show(job_id).state


async def slow_job_running_here(pilot: Pilot[None], app: OtterApp, rt: Runtime) -> JobView:
    """On Jobs, a ``slow.Slow`` job claimed by the console and running on its engine's loop."""
    await pilot.press("2")
    await settle(pilot)
    job = rt.jobs.create(JobRequest("slow.Slow", TargetSpec(servers=("demo-db1",))))
    assert app.runner is not None
    app.runner.notify()
    # Running in the store comes first (the claim), then the task on the engine's loop.
    await until(pilot, lambda: app.background.running() == [job.id])
    thread = app.background.thread
    assert thread is not None
    assert app.runner.worker.running[job.id].get_loop() is thread.loop  # not the app's loop
    return job


async def test_a_queued_job_runs_on_the_engine_thread_and_its_lines_reach_the_detail(
    runtime: Runtime,
) -> None:
    job = runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "9"}))
    app = threaded_console(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await until(pilot, lambda: isinstance(app.screen, JobsScreen) and bool(rows(app, "#jobs")))
        await pilot.press("enter")  # the detail, open before the job runs
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        thread = app.background.thread
        assert thread is not None and thread.loop.is_running()
        assert app.runner is not None
        app.runner.notify()  # from the UI's loop: handed to the engine's
        await until(pilot, lambda: state(runtime, job.id) == "succeeded")
        # The lines came as events from the engine's loop, through the bridge on its thread.
        await until(pilot, lambda: any("9" in line for line in detail.pane.lines))
        await until(
            pilot,
            lambda: (
                [(r[0], r[1]) for r in rows(app, "#runs")]
                == [
                    ("all", "succeeded"),
                    ("demo-db1", "succeeded"),
                    ("demo-web1", "succeeded"),
                    ("demo-web2", "succeeded"),
                ]
            ),
        )
    assert engine_threads() == []


LOGIN = """\
from otter_tui.plan import OrchestrationPlan, Secret


class Login(OrchestrationPlan):
    name = "Login"
    variables = {"token": Secret()}

    async def run(self, ctx):
        ctx.log(f"a token of {len(ctx.vars['token'])} characters")
"""


async def test_a_job_with_a_secret_from_the_form_runs_on_the_engine_thread(
    tmp_path: Path,
) -> None:
    """Its value exists only in this process: the form claims the job and launches it here,
    the launch handed from the UI's loop to the engine's."""
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "login.py").write_text(LOGIN)
    sections = {"paths": {"plans_dir": str(plans)}}
    rt = make_runtime(tmp_path, clock=FixedClock(), sections=sections)
    rt.plans.set_enabled("login.Login", True)
    app = threaded_console(rt)
    try:
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await pilot.press("2")
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            await pilot.press("enter")  # the enabled plan
            await settle(pilot)
            token = app.screen.query_one("#field-var-token")
            token.value = "s3cret"  # type: ignore[attr-defined]
            await pilot.press("enter")
            await until(pilot, lambda: rt.jobs.count() == 1)
            await until(pilot, lambda: state(rt, 1) == "succeeded")
            await until(pilot, lambda: rows(app, "#jobs")[0][2] == "succeeded")
        assert "a token of 6 characters" in [line.text for line in rt.jobs.logs(1)]
    finally:
        rt.close()


async def test_cancel_stops_a_job_running_on_the_engine_thread_at_once(slow: Runtime) -> None:
    app = threaded_console(slow)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        job = await slow_job_running_here(pilot, app, slow)
        screen = app.screen
        assert isinstance(screen, JobsScreen)
        screen.action_reload(job.id)
        await settle(pilot)
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")
        await until(pilot, lambda: state(slow, job.id) == "cancelled", seconds=20)
        messages = [str(n.message) for n in app._notifications]
        assert f"job {job.id}: cancel requested" in messages  # stopped here, not later
        await until(pilot, lambda: app.background.running() == [])


async def test_quitting_asks_then_interrupts_and_the_engine_thread_ends(slow: Runtime) -> None:
    app = threaded_console(slow)
    async with app.run_test(size=SIZE) as pilot:
        job = await slow_job_running_here(pilot, app, slow)
        await pilot.press("ctrl+q")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        assert str(job.id) in str(app.screen.query_one("#confirm-question", Static).visual)
        await pilot.press("y")
    stopped = slow.jobs.show(job.id)
    assert (stopped.state, [r.state for r in stopped.server_runs]) == (
        "interrupted",
        ["interrupted"],
    )
    assert engine_threads() == []

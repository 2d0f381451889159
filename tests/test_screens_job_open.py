"""Opening a job: its screen shows the server runs and the log's tail in the same paint (read
together before the first one), and a closed job screen is let go."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from otter_tui.engine.targets import prepare_job
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.services.jobs import JobView
from screens.app import OtterApp
from screens.collector import CollectorPause
from screens.job_detail import JobDetailScreen
from screens.job_log import FIRST_LINES
from tests.screens_support import SIZE, deploy_runtime, rows, settle, until
from tests.test_screens_jobs import console, deploy, open_section, store_lines


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


RUNS = ["all", "demo-db1", "demo-web1", "demo-web2"]


def finished_job(runtime: Runtime, lines: int) -> JobView:
    """A job with its three server runs prepared and ``lines`` lines of its own stored."""
    job = deploy(runtime)
    ClaimService(runtime.ctx, "elsewhere").claim(job.id)
    prepare_job(runtime.ctx.db, job.id, {})
    store_lines(runtime, job, None, [f"line {n}" for n in range(lines)])
    return job


async def first_moment(done: Callable[[], bool]) -> None:
    """Run the loop in its smallest steps (no Pilot pause, which repaints) until ``done``."""
    for _ in range(20_000):
        if done():
            return
        await asyncio.sleep(0)
    raise AssertionError("never happened")


def detail(app: OtterApp) -> JobDetailScreen | None:
    screen = app.screen
    return screen if isinstance(screen, JobDetailScreen) else None


async def test_go_to_job_shows_its_runs_and_log_tail_as_the_screen_mounts(
    runtime: Runtime,
) -> None:
    job = finished_job(runtime, FIRST_LINES + 50)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        app.open_job(job.id)
        await first_moment(lambda: (s := detail(app)) is not None and s.is_mounted)
        screen = detail(app)
        assert screen is not None
        assert [row[0] for row in rows(app, "#runs")] == RUNS
        assert len(screen.pane.lines) == FIRST_LINES
        assert screen.pane.lines[-1].endswith(f"line {FIRST_LINES + 49}")
        await settle(pilot)
        assert screen.pane.log_widget.is_vertical_scroll_end  # the tail is what is in view
        assert "Demo deploy" in str(screen.query_one("#job-fields").render())


async def test_enter_on_a_listed_job_brings_its_runs_and_log_tail_together(
    runtime: Runtime,
) -> None:
    job = finished_job(runtime, 30)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        await pilot.press("enter")
        runs_in = lambda: (s := detail(app)) is not None and s.query_one("#runs").row_count > 0  # type: ignore[attr-defined]  # noqa: E731
        await first_moment(runs_in)
        screen = detail(app)
        assert screen is not None and screen.view.id == job.id
        assert [row[0] for row in rows(app, "#runs")] == RUNS
        assert len(screen.pane.lines) == 30  # in the same handler as the runs, not after
        await until(pilot, lambda: screen.pane.last_seq == 30)


async def test_closed_job_screens_are_let_go(runtime: Runtime) -> None:
    """No core event comes while they are open: their subscriptions must not keep them (and
    their rows and logs) alive. The last one may still be held for a moment by its finished
    reload worker's context; none before it."""
    job = finished_job(runtime, 10)
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(3):
            app.open_job(job.id)
            await until(pilot, lambda: detail(app) is not None)
            await settle(pilot)
            await pilot.press("escape")
            await settle(pilot)
        gc.collect()
        assert len([o for o in gc.get_objects() if isinstance(o, JobDetailScreen)]) <= 1
        assert gc.isenabled()  # the pause while each was built ended with its first paint


def test_the_collector_pause_leaves_a_collector_paused_by_someone_else_paused() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        pause = CollectorPause()
        pause.resume()
        assert not gc.isenabled()  # it was not ours to turn on
    finally:
        if was:
            gc.enable()
    pause = CollectorPause()
    assert not gc.isenabled()
    pause.resume()
    pause.resume()
    assert gc.isenabled() == was

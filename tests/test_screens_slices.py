"""Sliced jobs in the console, driven with Pilot: a run's log pane says which slice it is in and
which worker runs it, so an operator sees which daemon ran which part of a big job; and a job
whose slices run in this console counts as running here when the operator quits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Label, Static

from otter_tui.engine.targets import prepare_job
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.services.jobs import JobRequest, ServerRunView
from otter_tui.services.slices import SliceService
from otter_tui.targeting import TargetSpec
from screens.job_detail import JobDetailScreen
from screens.jobs import JobsScreen
from screens.modals import ConfirmModal
from tests.screens_support import SIZE, deploy_runtime, rows, settle, slow_runtime, until
from tests.test_screens_jobs import console, deploy, open_section


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


async def test_a_runs_log_title_names_its_slice_and_worker(runtime: Runtime) -> None:
    job = deploy(runtime)
    assert ClaimService(runtime.ctx, "host-a:1").claim(job.id)
    prepare_job(runtime.ctx.db, job.id, {}, None, 2)  # three servers: slices of 2 and 1
    assert SliceService(runtime.ctx, "host-b:4242").claim_next(["default"]) is not None
    app, _ = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        assert [r[0] for r in rows(app, "#runs")] == ["all", "demo-db1", "demo-web1", "demo-web2"]
        title = app.screen.query_one("#log-title", Label)

        await pilot.press("down")
        await until(pilot, lambda: "demo-db1" in str(title.render()))
        assert str(title.render()) == "Log: demo-db1 (slice 1 on host-b:4242)"
        await pilot.press("down", "down")
        await until(pilot, lambda: "demo-web2" in str(title.render()))
        assert str(title.render()) == "Log: demo-web2 (slice 2 on no worker yet)"


async def test_quitting_while_slices_run_here_asks_first(tmp_path: Path) -> None:
    """A job on more servers than ``jobs.slice_size`` runs as slices; while they run in this
    console, quitting would interrupt them, so the console asks, as for a job run whole."""
    rt = slow_runtime(tmp_path, slice_size=1)
    app, _bus = console(rt)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_section(pilot, "2")
            targets = TargetSpec(servers=("demo-db1", "demo-web1"))
            job = rt.jobs.create(JobRequest("slow.Slow", targets))
            assert app.runner is not None
            app.runner.notify()
            await until(pilot, lambda: rt.jobs.show(job.id).slices == 2)
            # A slice runs here, not only the split (which counts while it lasts, then the job
            # waits a moment for its first slice to be claimed).
            await until(pilot, lambda: any(r.state == "running" for r in server_runs(rt, job.id)))
            assert app.runner.running == [job.id]
            await pilot.press("ctrl+q")
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal))
            assert str(job.id) in str(app.screen.query_one("#confirm-question", Static).visual)
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, JobsScreen))
            assert app.is_running
    finally:
        rt.close()


def server_runs(rt: Runtime, job_id: int) -> tuple[ServerRunView, ...]:
    return rt.jobs.show(job_id).server_runs

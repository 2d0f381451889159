"""The jobs section driven with Pilot: create, watch, follow the log, cancel.

Jobs run on the demo inventory (local transport, sandbox folders under the test's tmp dir) by
the console's own runner, exactly as in the real console.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import DataTable, Static

from otter_tui.engine.targets import prepare_job
from otter_tui.events import EventBus, JobStateChanged, LogLine, LogLines, ServerRunStateChanged
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.services.jobs import JobRequest, JobView, RunCounts
from otter_tui.store.models import Lease, LogEntry, RunState, ServerRun
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_detail import JobDetailScreen
from screens.job_form import PlanPickerModal
from screens.job_log import FIRST_LINES, MAX_LINES, SKIPPED, HistoryLog
from screens.job_runner import ConsoleRunner, console_runner
from screens.jobs import JobsScreen, job_cells
from screens.modals import ConfirmModal, FormModal
from tests.screens_support import (
    DEPLOY,
    SIZE,
    deploy_runtime,
    rows,
    settle,
    slow_runtime,
    until,
)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The demo inventory and the example plans, acting as the admin ``alice``; deploy enabled."""
    yield from deploy_runtime(tmp_path)


def console(runtime: Runtime, *, runs_jobs: bool = True) -> tuple[OtterApp, EventBus]:
    """The app as ``run_console`` builds it; ``runs_jobs=False``: queued jobs stay queued."""
    bus = EventBus()
    runner = ConsoleRunner(runtime, bus, poll_seconds=60) if runs_jobs else None
    return OtterApp(runtime, bus, runner), bus


def notices(app: OtterApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


def deploy(runtime: Runtime, version: str = "1.2.3") -> JobView:
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": version})
    return runtime.jobs.create(request)


async def open_section(pilot: Pilot[None], key: str) -> None:
    await pilot.press(key)
    await settle(pilot)


async def wait_for_jobs(app: OtterApp) -> None:
    """Wait until the console's runner has no job running (a sync point, not a sleep)."""
    assert app.runner is not None
    running = list(app.runner.worker.running.values())
    if running:
        await asyncio.wait(running, timeout=30)


async def test_a_queued_job_turns_succeeded_in_the_list_when_the_console_runs_it(
    runtime: Runtime,
) -> None:
    app, _bus = console(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        assert isinstance(app.screen, JobsScreen)
        assert app.title == "otter-tui · Jobs"
        job = deploy(runtime)
        app.screen.action_reload()
        await settle(pilot)
        row = rows(app, "#jobs")[0]
        assert row[:5] == [str(job.id), "Demo deploy", "queued", "run", "roles demo"]
        assert app.runner is not None
        app.runner.notify()
        await pilot.pause()
        await wait_for_jobs(app)
        await settle(pilot)
        row = rows(app, "#jobs")[0]
        assert row[2] == "succeeded"
        assert row[7] == "3/3 done, 12 changed"
        assert runtime.jobs.show(job.id).state == "succeeded"


async def test_new_job_form_refuses_with_one_line_then_runs_the_job(runtime: Runtime) -> None:
    app, _bus = console(runtime)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_section(pilot, "2")
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PlanPickerModal)
        await pilot.press("enter")  # the enabled plan is listed first
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.form_title == "New job: Demo deploy"
        form.query_one("#field-roles").value = "demo"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        error = str(form.query_one("#form-error", Static).visual)
        assert error == "missing required variable 'version' for plan Demo deploy"
        assert runtime.jobs.count() == 0
        form.query_one("#field-var-version").value = "1.2.3"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        assert "job 1 (Demo deploy) queued" in notices(app)
        await wait_for_jobs(app)
        await settle(pilot)
        assert rows(app, "#jobs")[0][2] == "succeeded"
        assert runtime.jobs.show(1).variables == {"version": "1.2.3", "workers": 2}


def store_lines(runtime: Runtime, job: JobView, run_id: int | None, texts: list[str]) -> LogLines:
    """Store lines as the engine's log writer does; returns the batch to publish after."""
    start = max((line.seq for line in runtime.jobs.logs(job.id)), default=0)
    server = "demo-web1" if run_id else ""
    lines = tuple(
        LogLine(job.id, run_id, server, start + n, runtime.ctx.now(), "info", "", text)
        for n, text in enumerate(texts, start=1)
    )
    rows_ = [
        {"job_id": job.id, "server_run_id": run_id, "seq": line.seq, "at": line.at}
        | {"level": "info", "stream": "", "text": line.text}
        for line in lines
    ]
    with runtime.ctx.db.transaction() as s:
        s.execute(insert(LogEntry), rows_)
    return LogLines(lines)


def running_elsewhere(runtime: Runtime) -> tuple[JobView, int]:
    """A deploy job claimed and prepared by another process; the id of its demo-web1 run."""
    job = deploy(runtime)
    ClaimService(runtime.ctx, "elsewhere").claim(job.id)
    plan = prepare_job(runtime.ctx.db, job.id, {})
    web1 = next(run.run_id for run in plan.runs if run.server and run.server.name == "demo-web1")
    return job, web1


async def open_first_job(pilot: Pilot[None]) -> None:
    await open_section(pilot, "2")
    await pilot.press("enter")
    await settle(pilot)


async def test_job_detail_shows_log_lines_as_they_arrive(runtime: Runtime) -> None:
    job, web1 = running_elsewhere(runtime)
    app, bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_job(pilot)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        assert [r[0] for r in rows(app, "#runs")] == ["all", "demo-db1", "demo-web1", "demo-web2"]
        assert detail.pane.lines == []

        await bus.publish(store_lines(runtime, job, None, ["deploying 1.2.3"]))
        await bus.publish(store_lines(runtime, job, web1, ["step [bold]one", "step two"]))
        await until(pilot, lambda: len(detail.pane.lines) == 3)
        assert [line[9:] for line in detail.pane.lines] == [
            "(job)          deploying 1.2.3",
            "demo-web1      step [bold]one",
            "demo-web1      step two",
        ]

        await pilot.press("down", "down")  # the demo-web1 run: its lines only
        await until(pilot, lambda: len(detail.pane.lines) == 2)
        assert [line[9:] for line in detail.pane.lines] == ["step [bold]one", "step two"]
        await bus.publish(store_lines(runtime, job, web1, ["step three"]))
        await until(pilot, lambda: len(detail.pane.lines) == 3)
        assert detail.pane.lines[-1].endswith(" step three")

        # Far behind: the pane jumps to the newest lines and says so, rather than replay them.
        await bus.publish(store_lines(runtime, job, web1, [f"line {n}" for n in range(9000)]))
        await until(pilot, lambda: detail.pane.lines[-1].endswith("line 8999"))
        assert SKIPPED.format(job=job.id) in detail.pane.lines
        await pilot.press("up", "up")  # the whole job again: a bounded tail of it
        await until(pilot, lambda: len(detail.pane.lines) == FIRST_LINES)
        await pilot.press("home")  # the lines above are read when asked for
        await until(pilot, lambda: len(detail.pane.lines) == MAX_LINES)
        assert detail.pane.lines[-1].endswith("demo-web1      line 8999")

        await bus.publish(JobStateChanged(job.id, "running", runtime.ctx.now()))
        await pilot.press("escape")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)


async def test_job_detail_rows_follow_their_runs_and_leave_the_others_be(runtime: Runtime) -> None:
    """A run that ends shows its state and counts; the cells of runs that did not change are
    left as they are (the very same objects: nothing for the table to measure again), so a
    500-server job's reloads cost what changed, not the whole table."""
    job, web1 = running_elsewhere(runtime)
    app, bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_job(pilot)
        table = app.screen.query_one("#runs", DataTable)
        assert [r[:3] for r in rows(app, "#runs")][1:] == [
            ["demo-db1", "pending", "0"],
            ["demo-web1", "pending", "0"],
            ["demo-web2", "pending", "0"],
        ]
        untouched = table.get_row_at(1)
        now = runtime.ctx.now()
        with runtime.ctx.db.transaction() as s:
            run = s.get(ServerRun, web1)
            assert run is not None
            run.state, run.started_at, run.finished_at, run.changes = (
                RunState.SUCCEEDED,
                now,
                now,
                2,
            )
        await bus.publish(ServerRunStateChanged(job.id, web1, "demo-web1", "", "succeeded", now))
        await until(pilot, lambda: rows(app, "#runs")[2][1] == "succeeded")
        assert rows(app, "#runs")[2][:3] == ["demo-web1", "succeeded", "2"]
        assert all(a is b for a, b in zip(table.get_row_at(1), untouched, strict=True))


async def test_job_detail_shows_the_tail_and_reads_the_lines_above_when_scrolled_up(
    runtime: Runtime,
) -> None:
    job = deploy(runtime)
    store_lines(runtime, job, None, [f"line {n}" for n in range(FIRST_LINES + 500)])
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        await pilot.press("enter")
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        await until(pilot, lambda: len(detail.pane.lines) == FIRST_LINES)
        await settle(pilot)
        log = detail.pane.log_widget
        assert log.is_vertical_scroll_end and len(detail.pane.lines) == FIRST_LINES
        await pilot.press(*["pageup"] * (FIRST_LINES // log.size.height))  # near the top
        await until(pilot, lambda: len(detail.pane.lines) == FIRST_LINES + 500)
        numbers = [line.split()[-1] for line in detail.pane.lines]
        assert numbers == [str(n) for n in range(FIRST_LINES + 500)]  # in order, none twice
        await pilot.press("home")
        await settle(pilot)
        assert log.scroll_y == 0


class HistoryApp(App[None]):
    def compose(self) -> ComposeResult:
        yield HistoryLog(max_lines=50)


async def test_older_lines_go_above_and_keep_the_reader_on_the_same_line() -> None:
    app = HistoryApp()
    async with app.run_test(size=(40, 10)) as pilot:
        log = app.query_one(HistoryLog)
        log.write_lines(f"new {n}" for n in range(20))
        log.scroll_home(animate=False, immediate=True)
        await pilot.pause()
        log.prepend_lines([f"old {n}" for n in range(40)])  # 30 fit under max_lines
        await pilot.pause()
        assert list(log.lines) == [f"old {n}" for n in range(10, 40)] + [
            f"new {n}" for n in range(20)
        ]
        assert log.scroll_y == 30  # "new 0" is still the top line in view


async def test_cancel_asks_first_and_only_yes_cancels(runtime: Runtime) -> None:
    job = deploy(runtime)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_section(pilot, "2")
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        question = str(app.screen.query_one("#confirm-question", Static).visual)
        assert question == f"Cancel job {job.id} (Demo deploy, queued)?"
        await pilot.press("n")
        await settle(pilot)
        assert rows(app, "#jobs")[0][2] == "queued"
        await pilot.press("c")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert rows(app, "#jobs")[0][2] == "cancelled"
        assert runtime.jobs.show(job.id).state == "cancelled"
        assert f"job {job.id} cancelled" in notices(app)
        await pilot.press("c")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)  # nothing left to cancel: no question
        assert f"job {job.id} has already finished (cancelled)" in notices(app)


async def test_rerun_opens_the_form_filled_from_the_job(runtime: Runtime) -> None:
    deploy(runtime, version="2.0.0")
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        await pilot.press("r")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.form_title == "Re-run: Demo deploy"
        assert form.values()["roles"] == "demo"
        assert form.values()["var-version"] == "2.0.0"
        await pilot.press("enter")
        await settle(pilot)
        assert [r[:3] for r in rows(app, "#jobs")] == [
            ["2", "Demo deploy", "queued"],
            ["1", "Demo deploy", "queued"],
        ]


async def test_quitting_with_a_running_job_asks_then_marks_it_interrupted(tmp_path: Path) -> None:
    rt = slow_runtime(tmp_path)
    app, _bus = console(rt)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_section(pilot, "2")
            job = rt.jobs.create(JobRequest("slow.Slow", TargetSpec(servers=("demo-db1",))))
            assert app.runner is not None
            app.runner.notify()
            await until(pilot, lambda: rt.jobs.show(job.id).state == "running")
            await pilot.press("ctrl+q")
            await settle(pilot)
            assert isinstance(app.screen, ConfirmModal)
            assert str(job.id) in str(app.screen.query_one("#confirm-question", Static).visual)
            await pilot.press("n")
            await settle(pilot)
            assert app.is_running and isinstance(app.screen, JobsScreen)
            await pilot.press("ctrl+q")
            await settle(pilot)
            await pilot.press("y")
        stopped = rt.jobs.show(job.id)
        assert (stopped.state, stopped.error) == (
            "interrupted",
            "the worker stopped before the job finished",
        )
        assert [run.state for run in stopped.server_runs] == ["interrupted"]
    finally:
        rt.close()


def test_the_console_claims_no_jobs_while_a_daemon_is_present(runtime: Runtime) -> None:
    """Checked at every claim, not once at start (tests/test_screens_daemon_handover.py)."""
    job = deploy(runtime)
    runner = console_runner(runtime, EventBus())
    until = runtime.ctx.now() + timedelta(seconds=30)
    with runtime.ctx.db.transaction() as s:
        s.add(
            Lease(
                name="daemon:host:1", holder="host:1;scheduler=on;queues=default", expires_at=until
            )
        )
    assert runner.claims.claim_next(["default"]) is None
    assert (runner.daemon, runtime.jobs.show(job.id).state) == ("host:1", "queued")


def test_a_drift_check_reads_as_a_check_that_found_drift(runtime: Runtime) -> None:
    """A check changes nothing: its row must not say it ran or changed anything."""
    check = replace(deploy(runtime), mode="check")
    counts = RunCounts({"succeeded": 3}, 8)
    cells = [str(c) for c in job_cells(check, counts, check.created_at)]
    assert cells[3] == "check"
    assert cells[7] == "3/3 done, 8 drifted"

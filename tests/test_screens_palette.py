"""The command palette driven with Pilot: go to a section, go to a job by number, run the
current screen's actions, run a plan."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.command import CommandPalette

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_detail import JobDetailScreen
from screens.job_form import PlanPickerModal
from screens.modals import FormModal
from screens.schedules import SchedulesScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, SIZE, deploy_runtime, settle, until


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


async def command(pilot: object, app: OtterApp, text: str, *, wait: bool = True) -> None:
    """Open the palette, type ``text``, take the first hit (``wait``: until workers are done)."""
    await pilot.press("ctrl+p")  # type: ignore[attr-defined]
    await until(pilot, lambda: isinstance(app.screen, CommandPalette))  # type: ignore[arg-type]
    await pilot.press(*text)  # type: ignore[attr-defined]
    palette = app.screen
    assert isinstance(palette, CommandPalette)
    await until(pilot, lambda: palette.query_one("CommandList").option_count > 0)  # type: ignore[arg-type, attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    if wait:
        await settle(pilot)  # type: ignore[arg-type]


async def test_go_to_a_section_and_run_one_of_its_actions(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await command(pilot, app, "go to sched")
        assert isinstance(app.screen, SchedulesScreen)
        await command(pilot, app, "new (sched")
        assert isinstance(app.screen, PlanPickerModal)
        assert app.screen.title_line == "New schedule: which plan?"


async def test_go_to_job_by_number_and_run_a_plan(runtime: Runtime) -> None:
    job = runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await command(pilot, app, f"job {job.id}")
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        assert isinstance(app.screen, JobDetailScreen) and app.screen.view.id == job.id
        assert app.current_mode == "jobs"
        await pilot.press("escape")
        await settle(pilot)
        await command(pilot, app, "run plan demo dep")
        await until(pilot, lambda: isinstance(app.screen, FormModal))
        assert isinstance(app.screen, FormModal)
        assert app.screen.form_title == "New job: Demo deploy"


async def test_a_cli_task_from_the_palette_sets_a_variable(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await settle(pilot)
        await command(pilot, app, "set variable")
        await until(pilot, lambda: isinstance(app.screen, FormModal))
        form = app.screen
        assert isinstance(form, FormModal) and form.form_title == "set variable (vars set)"
        form.query_one("#field-scope").value = "server"  # type: ignore[attr-defined]
        form.query_one("#field-owner").value = "demo-web1"  # type: ignore[attr-defined]
        form.query_one("#field-name").value = "color"  # type: ignore[attr-defined]
        form.query_one("#field-value").value = "blue"  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        assert not isinstance(app.screen, FormModal)
        messages = [str(n.message) for n in app._notifications]
        assert "set server variable color" in messages
    resolved = runtime.variables.resolve("demo-web1")
    assert resolved["color"] == "blue"


async def test_a_cli_task_needs_its_permission_before_the_form(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.users.add("erin", permissions=("jobs.run",))
    erin = make_runtime(tmp_path, actor="erin", clock=FixedClock())
    try:
        app = OtterApp(erin)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await settle(pilot)
            await command(pilot, app, "add user")
            await settle(pilot)
            assert not isinstance(app.screen, FormModal)
            messages = [str(n.message) for n in app._notifications]
            assert any("lacks permission 'users.manage'" in m for m in messages), messages
    finally:
        erin.close()

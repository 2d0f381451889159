"""Where a new job leaves the operator: on Jobs with the cursor on it, from whichever section it
was created; and a user who may not run jobs is told before filling the form."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import Input

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import Job
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_form import variable_field
from screens.jobs import JobsScreen
from screens.modals import FormModal
from screens.plans import PlansScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, SIZE, deploy_runtime, settle, until


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


async def test_a_job_created_from_plans_is_shown_selected_in_jobs(runtime: Runtime) -> None:
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"})
    for _ in range(3):
        runtime.jobs.create(request)
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await app.run_action("section('plans')")
        await settle(pilot)
        plans = app.screen
        assert isinstance(plans, PlansScreen)
        for _ in range(10):
            if (chosen := plans.selected()) is not None and chosen.key == DEPLOY:
                break
            await pilot.press("down")
        await pilot.press("n")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-roles").value = "demo"  # type: ignore[attr-defined]
        form.query_one("#field-var-version").value = "9"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        with runtime.db.session() as s:
            newest = s.scalars(select(Job.id).order_by(Job.id.desc())).first()
        await until(pilot, lambda: isinstance(app.screen, JobsScreen))
        screen = app.screen
        assert isinstance(screen, JobsScreen) and app.current_mode == "jobs"
        await until(pilot, lambda: (v := screen.selected()) is not None and v.id == newest)


async def test_without_jobs_run_the_new_job_form_does_not_open(
    runtime: Runtime, tmp_path: Path
) -> None:
    runtime.users.add("carol")
    carol = make_runtime(tmp_path, actor="carol", clock=FixedClock())
    try:
        app = OtterApp(carol)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await app.run_action("section('jobs')")
            await settle(pilot)
            await pilot.press("n")
            await settle(pilot)
            assert isinstance(app.screen, JobsScreen)
            messages = [str(n.message) for n in app._notifications]
            assert any("lacks permission 'jobs.run'" in m for m in messages), messages
    finally:
        carol.close()


async def test_the_job_form_sets_queue_and_run_at_and_refuses_a_bad_time(
    runtime: Runtime,
) -> None:
    later = FixedClock().now + timedelta(hours=3)
    app = OtterApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.run_action("section('jobs')")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        # The example time is the injected clock's tomorrow, not a fixed date.
        tomorrow = FixedClock().now.astimezone() + timedelta(days=1)
        placeholder = form.query_one("#field-run_at", Input).placeholder
        assert placeholder == f"now; or {tomorrow:%Y-%m-%d} 03:00 (local time, or +01:00)"
        values = {"roles": "demo", "var-version": "3", "run_at": "tomorrow-ish"}
        for name, value in values.items():
            form.query_one(f"#field-{name}").value = value  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        error = str(form.query_one("#form-error").render())
        assert error.startswith("Run at takes a date and time")
        form.query_one("#field-run_at").value = later.isoformat()  # type: ignore[attr-defined]
        form.query_one("#field-queue").value = "default"  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        assert not isinstance(app.screen, FormModal)
    with runtime.db.session() as s:
        job = s.scalars(select(Job).order_by(Job.id.desc())).first()
        assert job is not None
        assert (job.state.value, job.queue_name) == ("scheduled", "default")
        assert job.run_at is not None and job.run_at.replace(tzinfo=UTC) == later


def test_a_bool_variable_says_its_default_as_the_field_shows_it() -> None:
    field = variable_field("dry", {"kind": "bool", "default": False}, "")
    assert (field.value, field.hint) == ("false", "bool, optional, default false")


async def test_e_edits_a_waiting_job_through_the_job_service(runtime: Runtime) -> None:
    job = runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))
    app = OtterApp(runtime)
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        await app.run_action("section('jobs')")
        await settle(pilot)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal) and form.form_title == f"Edit job {job.id}: Demo deploy"
        assert form.values()["roles"] == "demo" and "simulate" not in form.values()
        form.query_one("#field-roles").value = "web"  # type: ignore[attr-defined]
        form.query_one("#field-var-version").value = "4.0"  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        assert isinstance(app.screen, JobsScreen)
        messages = [str(n.message) for n in app._notifications]
        assert f"job {job.id} edited: queued" in messages
    edited = runtime.jobs.show(job.id)
    assert edited.targets.roles == ("web",) and edited.variables["version"] == "4.0"
    assert edited.run_at == job.run_at

"""The approvals section driven with Pilot: one key to approve, one to deny, no self-approval."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from textual.widgets import Static

from otter_tui.runtime import Runtime
from screens.approvals import ApprovalsScreen
from screens.job_detail import JobDetailScreen
from screens.modals import FormModal
from tests.screens_support import DEPLOY, SIZE, rows, settle, until
from tests.test_screens_jobs import console, deploy, notices, open_section, wait_for_jobs
from tests.test_screens_jobs import runtime as jobs_runtime

runtime = jobs_runtime


@pytest.fixture
def bob(runtime: Runtime) -> Iterator[Runtime]:
    """Another operator who may run jobs; deploys of the demo need an approval."""
    runtime.users.add("bob", permissions=("jobs.run",))
    runtime.plans.override(DEPLOY, "approval_required", "true")
    yield replace(runtime, ctx=runtime.ctx.as_user("bob"))


async def test_a_approves_someone_elses_job_with_one_key(runtime: Runtime, bob: Runtime) -> None:
    job = deploy(bob)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_section(pilot, "3")
        assert isinstance(app.screen, ApprovalsScreen)
        assert rows(app, "#approvals")[0][:3] == [str(job.id), "Demo deploy", "roles demo"]
        fields = str(app.screen.query_one("#approval-fields", Static).visual)
        assert "version=1.2.3" in fields and "by bob" in fields
        await pilot.press("a")
        await settle(pilot)
        assert rows(app, "#approvals") == []
        assert f"job {job.id} approved: queued" in notices(app)
    assert runtime.jobs.show(job.id).state == "queued"
    assert runtime.approvals.history(job.id)[0][:2] == ("approved", "alice")


async def test_d_denies_with_an_optional_reason(runtime: Runtime, bob: Runtime) -> None:
    job = deploy(bob)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "3")
        await pilot.press("d")
        await settle(pilot)
        assert isinstance(app.screen, FormModal)
        await pilot.press(*"freeze")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, ApprovalsScreen)
        assert rows(app, "#approvals") == []
    assert runtime.jobs.show(job.id).state == "denied"
    decision, by, _at, comment = runtime.approvals.history(job.id)[0]
    assert (decision, by, comment) == ("denied", "alice", "freeze")


async def test_approving_your_own_job_is_refused_with_the_services_line(
    runtime: Runtime, bob: Runtime
) -> None:
    job = deploy(runtime)  # alice asks, alice may not decide
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_section(pilot, "3")
        await pilot.press("a")
        await settle(pilot)
        assert f"user 'alice' requested job {job.id} and may not decide on it" in notices(app)
        assert rows(app, "#approvals")[0][0] == str(job.id)
    assert runtime.jobs.show(job.id).state == "pending_approval"


async def test_s_simulates_the_job_and_the_pane_shows_what_would_change(
    runtime: Runtime, bob: Runtime
) -> None:
    job = deploy(bob)
    app, _bus = console(runtime)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_section(pilot, "3")

        def pane() -> str:
            return str(app.screen.query_one("#approval-fields", Static).visual)

        assert "Simulation: none yet (press s)" in pane()
        await pilot.press("s")
        await settle(pilot)
        [sim] = [v for v in runtime.jobs.recent() if v.id != job.id]
        assert sim.simulation and f"job {sim.id}: simulation queued" in notices(app)
        await wait_for_jobs(app)
        await until(pilot, lambda: "would change" in pane())
        assert f"Simulation: job {sim.id} — 9 would change, 3 unknown" in pane()
        assert rows(app, "#approvals")[0][0] == str(job.id)  # still waiting for a decision
        await pilot.press("l")
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen) and app.screen.view.id == sim.id
    assert runtime.jobs.show(sim.id).state == "succeeded"
    assert runtime.jobs.show(job.id).state == "pending_approval"

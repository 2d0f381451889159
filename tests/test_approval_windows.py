"""A job asked for a time that needs approval has a window: approved after it, it expires
instead of running late, exactly as a schedule's firing does."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import FixedClock, make_runtime

PLANS = Path(__file__).resolve().parent.parent / "plans"
DEPLOY = "demo_deploy.DemoDeploy"
HOUR = timedelta(hours=1)


@pytest.fixture
def alice(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    """Admin ``alice``; deploys of the demo need an approval."""
    rt = make_runtime(tmp_path, clock=clock, sections={"paths": {"plans_dir": str(PLANS)}})
    rt.plans.set_enabled(DEPLOY, True)
    rt.plans.override(DEPLOY, "approval_required", "true")
    yield rt
    rt.close()


@pytest.fixture
def bob(alice: Runtime) -> Runtime:
    alice.users.add("bob", permissions=("jobs.run",))
    return replace(alice, ctx=alice.ctx.as_user("bob"))


def deploy_at(rt: Runtime, minutes: float | None) -> int:
    when = None if minutes is None else rt.ctx.now() + timedelta(minutes=minutes)
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "2"}, run_at=when)
    view = rt.jobs.create(request)
    assert view.state == "pending_approval"
    return view.id


def test_approved_after_its_window_a_one_shot_expires(
    alice: Runtime, bob: Runtime, clock: FixedClock
) -> None:
    job = deploy_at(bob, minutes=10)
    run_at = alice.jobs.show(job).run_at
    assert alice.jobs.show(job).window_end == run_at + HOUR
    clock.now = run_at + HOUR + timedelta(seconds=1)
    view = alice.approvals.approve(job, "late")
    assert view.state == "expired"
    closed = (run_at + HOUR).strftime("%Y-%m-%d %H:%M")
    assert view.error == f"approved after its window closed at {closed} UTC"


def test_approved_within_its_window_it_runs_late_but_runs(
    alice: Runtime, bob: Runtime, clock: FixedClock
) -> None:
    job = deploy_at(bob, minutes=10)
    clock.now = alice.jobs.show(job).run_at + HOUR - timedelta(seconds=1)
    assert alice.approvals.approve(job).state == "queued"


def test_the_window_is_configurable_and_moves_with_the_time(
    tmp_path: Path, clock: FixedClock
) -> None:
    sections = {"paths": {"plans_dir": str(PLANS)}, "approvals": {"one_shot_window_seconds": 600}}
    rt = make_runtime(tmp_path, clock=clock, sections=sections)  # type: ignore[arg-type]
    rt.plans.set_enabled(DEPLOY, True)
    rt.plans.override(DEPLOY, "approval_required", "true")
    job = deploy_at(rt, minutes=30)
    run_at = rt.jobs.show(job).run_at
    assert rt.jobs.show(job).window_end == run_at + timedelta(minutes=10)
    later = run_at + timedelta(hours=2)
    assert rt.jobs.edit(job, run_at=later).window_end == later + timedelta(minutes=10)
    rt.close()


def test_a_job_to_run_now_has_no_window(alice: Runtime, bob: Runtime, clock: FixedClock) -> None:
    job = deploy_at(bob, minutes=None)
    assert alice.jobs.show(job).window_end is None
    clock.advance(7 * 24 * 3600)
    assert alice.approvals.approve(job).state == "queued"

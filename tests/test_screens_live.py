"""Live everywhere: a change made outside the console (here straight through the services, as the
CLI makes it, with no event bus in between) shows in every section within about a second, through
the one change feed; and the markers the feed reads move exactly for what changed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.events import Event
from otter_tui.runtime import Runtime
from otter_tui.services.changes import KINDS, changed_kinds, read_markers
from otter_tui.services.jobs import JobRequest
from otter_tui.services.schedules import ScheduleFields
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.change_feed import ChangeFeed, StoreChanged
from tests.screens_support import DEPLOY, SIZE, deploy_runtime, rows, settle, until

SECOND = 5.0
"""The feed reads twice a second; a loaded test machine (2 shared cores) gets slack."""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def test_markers_move_for_audited_changes_and_new_jobs(runtime: Runtime) -> None:
    before = read_markers(runtime.ctx)
    assert changed_kinds({}, before) == KINDS  # the first read: everything may have moved
    assert changed_kinds(before, read_markers(runtime.ctx)) == frozenset()
    runtime.inventory.add_role("cache")
    after_role = read_markers(runtime.ctx)
    assert changed_kinds(before, after_role) == {"audit"}
    runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))
    assert {"jobs", "new_jobs"} <= changed_kinds(after_role, read_markers(runtime.ctx))


async def test_every_section_follows_changes_made_outside_the_console(runtime: Runtime) -> None:
    app = OtterApp(runtime)  # no bus: nothing tells the console but the store
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        runtime.inventory.add_server("late1", "10.0.0.9")
        await until(pilot, lambda: "late1" in [r[0] for r in rows(app, "#servers")], SECOND)

        await app.run_action("section('jobs')")
        await settle(pilot)
        job = runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))
        await until(pilot, lambda: str(job.id) in [r[0] for r in rows(app, "#jobs")], SECOND)

        await app.run_action("section('schedules')")
        await settle(pilot)
        fields = ScheduleFields(
            plan=DEPLOY,
            cron="@daily",
            targets=TargetSpec(roles=("demo",)),
            variables={"version": "1"},
        )
        runtime.schedules.add("from-cli", fields)
        await until(pilot, lambda: [r[0] for r in rows(app, "#schedules")] == ["from-cli"], SECOND)

        await app.run_action("section('plans')")
        await settle(pilot)
        runtime.plans.set_enabled(DEPLOY, False)
        await until(
            pilot,
            lambda: ["Demo deploy", "no"] in [[r[0], r[4]] for r in rows(app, "#plans")],
            SECOND,
        )


def test_the_feed_reads_first_when_made_so_its_first_tick_reloads_nothing_unchanged(
    runtime: Runtime,
) -> None:
    """Sections load when built; a first tick that said "everything changed" made each of them
    load again (the Schedules section painted twice at start)."""
    published: list[Event] = []
    feed = ChangeFeed(runtime.ctx, published.append)
    feed.got(feed.read())
    assert published == []
    fields = ScheduleFields(plan=DEPLOY, cron="@daily", variables={"version": "1"})
    runtime.schedules.add("nightly", fields)
    feed.got(feed.read())
    assert len(published) == 1
    changed = published[0]
    assert isinstance(changed, StoreChanged) and "audit" in changed.kinds

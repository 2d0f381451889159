"""SVG snapshots of every section at 80x24 and 160x50 (pytest-textual-snapshot), for layout
regressions a Pilot assertion would not name. Deterministic: a fixed clock, fixed data in a fixed
directory (paths show in the server detail), the display zone pinned to UTC, a fixed sub-title.

After a deliberate change of layout: ``pytest tests/test_screens_snapshots.py --snapshot-update``,
then look at the new SVGs (tests/__snapshots__/) before committing them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.services.schedules import ScheduleFields
from otter_tui.services.templates import TemplateFields
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.header import SubTitle
from screens.sections import SECTIONS
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, settle

HOME = Path(tempfile.gettempdir()) / "otter-tui-snapshots"
"""Always the same directory: the server detail shows the sandbox path."""
LOCK = HOME.with_name("otter-tui-snapshots.lock")
"""Held for each test: xdist workers (and other checkouts' suites) share ``HOME``."""
SIZES = [(80, 24), (160, 50)]


@pytest.fixture
def home() -> Iterator[Path]:
    """``HOME`` for this test alone: another process using it waits for the lock."""
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield HOME
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture
def runtime(home: Path) -> Iterator[Runtime]:
    old_tz = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    shutil.rmtree(HOME, ignore_errors=True)
    rt = make_runtime(HOME, clock=FixedClock(), sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    try:
        rt.plans.set_enabled(DEPLOY, True)
        targets = TargetSpec(roles=("demo",))
        rt.jobs.create(JobRequest(DEPLOY, targets, {"version": "1.0"}))
        rt.schedules.add(
            "nightly",
            ScheduleFields(
                plan=DEPLOY,
                cron="30 2 * * *",
                timezone="Europe/Paris",
                targets=targets,
                variables={"version": "1.0"},
            ),
        )
        rt.templates.add(
            "deploy-demo", TemplateFields(plan=DEPLOY, targets=targets, variables={"version": "1"})
        )
        yield rt
    finally:
        rt.close()
        shutil.rmtree(HOME, ignore_errors=True)
        if old_tz is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old_tz
        time.tzset()


def fixed_app(runtime: Runtime) -> OtterApp:
    app = OtterApp(runtime)
    app.sub_titles = SubTitle("alice @ otter.db", "alice @ otter.db")
    return app


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("mode", [section.mode for section in SECTIONS])
def test_section_snapshot(
    runtime: Runtime, snap_compare: Any, mode: str, size: tuple[int, int]
) -> None:
    async def show(pilot: Pilot[None]) -> None:
        await pilot.app.run_action(f"section('{mode}')")
        await settle(pilot)
        await pilot.pause(0.2)  # tables measure their new rows when idle

    assert snap_compare(fixed_app(runtime), terminal_size=size, run_before=show)


async def _open_job(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, OtterApp)
    app.open_job(1)
    await settle(pilot)


async def _new_job(pilot: Pilot[None]) -> None:
    await pilot.app.run_action("section('plans')")
    await settle(pilot)
    await pilot.press("down", "n")  # Demo deploy, the second row


async def _new_schedule(pilot: Pilot[None]) -> None:
    await pilot.app.run_action("section('schedules')")
    await settle(pilot)
    await pilot.press("n")
    await settle(pilot)
    await pilot.press("enter")  # the plan picker's first plan: Demo deploy


async def _groups(pilot: Pilot[None]) -> None:
    await pilot.app.run_action("section('servers')")
    await settle(pilot)
    await pilot.press("g")


SCREENS = {"job": _open_job, "new-job": _new_job, "new-schedule": _new_schedule, "groups": _groups}
"""The screens that are not a section's own: a job's detail, the two forms, roles/environments."""


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", list(SCREENS))
def test_screen_snapshot(
    runtime: Runtime, snap_compare: Any, name: str, size: tuple[int, int]
) -> None:
    async def show(pilot: Pilot[None]) -> None:
        await SCREENS[name](pilot)
        await settle(pilot)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor is drawn or not by the clock
        await pilot.pause(0.2)

    assert snap_compare(fixed_app(runtime), terminal_size=size, run_before=show)

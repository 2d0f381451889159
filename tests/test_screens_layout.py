"""Every screen usable at 80x24, 120x40 and 200x60: each section's main table keeps rows in view
with the Footer on screen, the job log takes the width on a narrow terminal (and all of it with
``w``), and a long form keeps its buttons and its error line on screen."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import Footer

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.modals import FormModal
from screens.sections import SECTIONS
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, settle, until

SIZES = [(80, 24), (120, 40), (200, 60)]
MAIN_TABLE = {
    "servers": "#servers",
    "jobs": "#jobs",
    "approvals": "#approvals",
    "plans": "#plans",
    "templates": "#templates",
    "schedules": "#schedules",
    "drift": "#drift-servers",
    "audit": "#audit",
}
"""The table each section is about; a new section adds its own here."""


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(
        tmp_path, clock=FixedClock(), sections={"paths": {"plans_dir": str(PLANS_DIR)}}
    )
    rt.plans.set_enabled(DEPLOY, True)
    rt.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))
    yield rt
    rt.close()


def on_screen(region: Region, size: tuple[int, int]) -> bool:
    return region.height > 0 and region.x >= 0 and region.y >= 0 and region.bottom <= size[1]


def test_every_section_has_its_main_table() -> None:
    assert {section.mode for section in SECTIONS} == set(MAIN_TABLE)


@pytest.mark.parametrize("size", SIZES)
async def test_every_section_keeps_its_table_rows_and_footer_in_view(
    runtime: Runtime, size: tuple[int, int]
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=size) as pilot:
        for section in SECTIONS:
            await app.run_action(f"section('{section.mode}')")
            await settle(pilot)
            table = app.screen.query_one(MAIN_TABLE[section.mode])
            assert on_screen(table.region, size), section.mode
            assert table.region.height >= 5, (section.mode, table.region)  # header + 4 rows
            assert table.region.width >= size[0] // 2, (section.mode, table.region)
            assert on_screen(app.screen.query_one(Footer).region, size), section.mode


@pytest.mark.parametrize("size", SIZES)
async def test_the_job_log_takes_the_width_and_w_gives_it_the_screen(
    runtime: Runtime, size: tuple[int, int]
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=size) as pilot:
        await app.run_action("section('jobs')")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        log = app.screen.query_one("#job-log")
        if size[0] < 120:
            assert log.region.width >= size[0] - 2
        assert log.region.height >= 5
        before = log.region.height
        await pilot.press("w")
        await pilot.pause()
        assert app.screen.has_class("-log-wide")
        assert log.region.width >= size[0] - 2 and log.region.height > before
        await pilot.press("w")
        await pilot.pause()
        assert log.region.height == before


@pytest.mark.parametrize("size", SIZES)
async def test_a_long_form_keeps_its_buttons_and_error_in_view(
    runtime: Runtime, size: tuple[int, int]
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=size) as pilot:
        await app.run_action("section('jobs')")
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("enter")  # the first runnable plan: Demo deploy
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        await pilot.click("#form-submit")  # version is required: refused
        await settle(pilot)
        await until(pilot, lambda: form.query_one("#form-error").has_class("-visible"))
        assert on_screen(form.query_one("#form-error").region, size)
        assert on_screen(form.query_one("#form-submit").region, size)
        assert on_screen(form.query_one("#form-cancel").region, size)

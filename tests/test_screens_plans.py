"""The plans section driven with Pilot: records, enable/disable, detail, load errors."""

from __future__ import annotations

import shutil
from pathlib import Path

from textual.widgets import Static

from otter_tui.runtime import Runtime
from screens.plan_detail import PlanDetailModal
from screens.plans import PlansScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, SIZE, rows, settle
from tests.test_screens_jobs import console, open_section
from tests.test_screens_jobs import runtime as jobs_runtime

runtime = jobs_runtime


def enabled_column(app: object) -> dict[str, str]:
    return {row[1]: row[4] for row in rows(app, "#plans")}  # type: ignore[arg-type]


async def test_e_disables_and_enables_the_selected_plan(runtime: Runtime) -> None:
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "4")
        assert isinstance(app.screen, PlansScreen)
        assert enabled_column(app) == {"demo_config.DemoConfig": "no", DEPLOY: "yes"}
        await pilot.press("down")  # Demo configuration, Demo deploy: by grouping, then name
        await pilot.press("e")
        await settle(pilot)
        assert enabled_column(app)[DEPLOY] == "no"
        assert runtime.plans.show(DEPLOY).enabled is False
        await pilot.press("e")
        await settle(pilot)
        assert enabled_column(app)[DEPLOY] == "yes"
        assert runtime.plans.show(DEPLOY).enabled is True


async def test_enter_shows_variables_and_overrides(runtime: Runtime) -> None:
    runtime.plans.override(DEPLOY, "is_singleton", "true")
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "4")
        assert rows(app, "#plans")[1][6] == "is_singleton"
        await pilot.press("down", "enter")
        await settle(pilot)
        assert isinstance(app.screen, PlanDetailModal)
        text = str(app.screen.query_one("#plan-fields", Static).visual)
        assert "version  text, required: the version to deploy" in text
        assert " *is_singleton            True" in text
        assert "  soft_time_limit         60" in text


async def test_a_plan_file_that_fails_to_load_is_listed_as_a_load_error(tmp_path: Path) -> None:
    plans = tmp_path / "myplans"
    shutil.copytree(PLANS_DIR, plans, ignore=shutil.ignore_patterns("__pycache__"))
    (plans / "broken.py").write_text("import nope_not_a_module\n")
    rt = make_runtime(tmp_path, clock=FixedClock(), sections={"paths": {"plans_dir": str(plans)}})
    app, _bus = console(rt, runs_jobs=False)
    try:
        async with app.run_test(size=SIZE) as pilot:
            await open_section(pilot, "4")
            errors = app.screen.query_one("#plan-errors", Static)
            assert errors.display
            assert "broken.py" in str(errors.visual) and "nope_not_a_module" in str(errors.visual)
    finally:
        rt.close()

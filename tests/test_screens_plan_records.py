"""Plan record changes from the Plans section driven with Pilot: override a field and clear it
again, delete a record after a question; without plans.manage nothing opens."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Select

from otter_tui.errors import NotFoundError
from otter_tui.runtime import Runtime
from screens.app import OtterApp
from screens.modals import ConfirmModal, FormModal
from screens.plans import PlansScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, SIZE, settle

CONFIG = "demo_config.DemoConfig"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    rt = make_runtime(
        tmp_path, clock=FixedClock(), sections={"paths": {"plans_dir": str(PLANS_DIR)}}
    )
    yield rt
    rt.close()


async def select_plan(pilot: object, app: OtterApp, key: str) -> PlansScreen:
    await app.run_action("section('plans')")
    await settle(pilot)  # type: ignore[arg-type]
    screen = app.screen
    assert isinstance(screen, PlansScreen)
    for _ in range(10):
        if (chosen := screen.selected()) is not None and chosen.key == key:
            return screen
        await pilot.press("down")  # type: ignore[attr-defined]
    raise AssertionError(f"{key} not listed")


async def test_override_then_clear_a_field(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await select_plan(pilot, app, DEPLOY)
        await pilot.press("o")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-field", Select).value = "soft_time_limit"
        form.query_one("#field-value").value = "60"  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        assert not isinstance(app.screen, FormModal)
        assert runtime.plans.show(DEPLOY).metadata["soft_time_limit"] == 60
        assert "soft_time_limit" in runtime.plans.show(DEPLOY).overridden
        await pilot.press("o")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-field", Select).value = "soft_time_limit"
        form.query_one("#field-action", Select).value = "clear (follow the class again)"
        await pilot.click("#form-submit")
        await settle(pilot)
    assert "soft_time_limit" not in runtime.plans.show(DEPLOY).overridden


async def test_delete_a_record_after_a_question(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await select_plan(pilot, app, CONFIG)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("y")
        await settle(pilot)
    with pytest.raises(NotFoundError):
        runtime.plans.show(CONFIG)


async def test_without_plans_manage_nothing_opens(runtime: Runtime, tmp_path: Path) -> None:
    runtime.users.add("dave", permissions=("jobs.run",))
    dave = make_runtime(tmp_path, actor="dave", clock=FixedClock())
    try:
        app = OtterApp(dave)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            screen = await select_plan(pilot, app, DEPLOY)
            await pilot.press("o")
            await settle(pilot)
            assert app.screen is screen
            messages = [str(n.message) for n in app._notifications]
            assert any("lacks permission 'plans.manage'" in m for m in messages), messages
    finally:
        dave.close()

"""The schedules section driven with Pilot: the list, the firing history, adding through the form
with its live preview, the service's refusal shown in the form, switching on/off, and the
permission asked before the form opens."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.widgets import Static

import screens.schedules as schedules_module
from otter_tui.runtime import Runtime
from otter_tui.services.schedules import ScheduleFields
from otter_tui.store.models import FiringState, ScheduleFiring
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_form import PlanPickerModal
from screens.modals import FormModal
from screens.schedules import SchedulesScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, SIZE, rows, settle, until

SMALL = (80, 24)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def runtime(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    """The example plans, Demo deploy enabled, one nightly schedule in New York that fired once."""
    rt = make_runtime(tmp_path, clock=clock, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    rt.plans.set_enabled(DEPLOY, True)
    fields = ScheduleFields(
        plan=DEPLOY,
        cron="30 2 * * *",
        timezone="America/New_York",
        targets=TargetSpec(roles=("demo",)),
        variables={"version": "1.0"},
    )
    view = rt.schedules.add("nightly", fields)
    with rt.db.transaction() as s:
        due = clock.now - timedelta(hours=3)
        s.add(
            ScheduleFiring(schedule_id=view.id, due_at=due, state=FiringState.MISSED, note="late")
        )
    yield rt
    rt.close()


def schedules_rows(app: OtterApp) -> list[list[str]]:
    return rows(app, "#schedules")


async def open_section(pilot: object, app: OtterApp) -> None:
    await app.run_action("section('schedules')")
    await settle(pilot)  # type: ignore[arg-type]


@pytest.mark.parametrize("size", [SMALL, SIZE])
async def test_key_6_lists_schedules_with_next_firing_in_zone_and_utc_and_last_result(
    runtime: Runtime, clock: FixedClock, size: tuple[int, int]
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=size) as pilot:
        await pilot.press("6")
        await settle(pilot)
        assert isinstance(app.screen, SchedulesScreen)
        assert app.title == ("Schedules" if size == SMALL else "otter-tui · Schedules")
        view = runtime.schedules.show("nightly")
        assert view.next_due_at is not None
        local = view.next_due_at.astimezone(ZoneInfo("America/New_York"))
        assert schedules_rows(app) == [
            [
                "nightly",
                "yes",
                "at 02:30 every day (America/New_York)",
                f"{local:%Y-%m-%d %H:%M %Z}",
                f"{view.next_due_at:%Y-%m-%d %H:%M}",
                "missed: late",
                "Demo deploy",
                "skip/skip",
            ]
        ]
        firings = rows(app, "#schedule-firings")
        assert [row[2:] for row in firings] == [["missed", "-", "late"]]
        title = app.screen.query_one("#schedule-firings-title")
        assert "Firings of nightly: 1 recorded" in str(title.render())


async def test_new_schedule_form_previews_the_cron_line_and_saves_through_the_service(
    runtime: Runtime,
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SMALL) as pilot:
        await open_section(pilot, app)
        await pilot.press("n")
        await settle(pilot)
        assert isinstance(app.screen, PlanPickerModal)
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.form_title == "New schedule: Demo deploy"
        await pilot.press(*"weekly", "tab", *"30 2 * * 0", "tab", "ctrl+u", *"Europe/Paris")
        await pilot.pause()
        preview = str(form.query_one("#form-preview", Static).render())
        lines = preview.splitlines()
        assert lines[0] == "Runs at 02:30 on Sunday. Next 10:"
        # Sunday 29 March 2026 Paris skips 02:00-03:00: that firing is at 03:00 CEST, marked.
        assert "Sun 2026-03-29 03:00 CEST   01:00 UTC  DST" in lines[3]
        assert not lines[1].endswith("DST")
        assert form.query_one("#form-submit").region.bottom <= SMALL[1]
        form.query_one("#field-roles").value = "demo"  # type: ignore[attr-defined]
        form.query_one("#field-var-version").value = "2.0"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SchedulesScreen)
        names = [row[0] for row in schedules_rows(app)]
        assert names == ["nightly", "weekly"]
        selected = app.screen.selected() if isinstance(app.screen, SchedulesScreen) else None
        assert selected is not None and selected.name == "weekly"
    saved = runtime.schedules.show("weekly")
    assert (saved.cron, saved.timezone) == ("30 2 * * 0", "Europe/Paris")
    assert saved.variables == {"version": "2.0", "workers": "2"}
    assert saved.targets.roles == ("demo",)


async def test_a_bad_cron_line_is_shown_in_the_preview_and_refused_in_the_form(
    runtime: Runtime,
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, app)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        cron = form.query_one("#field-cron")
        cron.value = "61 2 * * *"  # type: ignore[attr-defined]
        await pilot.pause()
        preview = str(form.query_one("#form-preview", Static).render())
        assert preview.startswith("Cron line: ") and "minute" in preview
        await pilot.click("#form-submit")
        await settle(pilot)
        assert app.screen is form
        error = str(form.query_one("#form-error", Static).render())
        assert "minute" in error
    assert runtime.schedules.show("nightly").cron == "30 2 * * *"


async def test_space_disables_and_enables_the_selected_schedule(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, app)
        await pilot.press("space")
        await settle(pilot)
        await until(pilot, lambda: schedules_rows(app)[0][1] == "no")
        assert schedules_rows(app)[0][3] == "-"
        assert not runtime.schedules.show("nightly").enabled
        await pilot.press("space")
        await settle(pilot)
        await until(pilot, lambda: schedules_rows(app)[0][1] == "yes")
    assert runtime.schedules.show("nightly").enabled


async def test_without_the_permission_the_form_does_not_open(
    runtime: Runtime, tmp_path: Path, clock: FixedClock
) -> None:
    runtime.users.add("bob", permissions=("jobs.run",))
    bob = make_runtime(tmp_path, actor="bob", clock=clock)
    try:
        app = OtterApp(bob)
        async with app.run_test(size=SIZE, notifications=True) as pilot:
            await open_section(pilot, app)
            await pilot.press("n")
            await settle(pilot)
            assert isinstance(app.screen, SchedulesScreen)
            messages = [str(n.message) for n in app._notifications]
            assert any("schedules.edit" in m for m in messages), messages
    finally:
        bob.close()


async def test_a_long_list_shows_a_page_and_grows_when_the_cursor_reaches_its_end(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("screens.schedules.PAGE", 2)
    base = runtime.schedules.show("nightly")
    for name in ("weekly", "zz-monthly"):
        fields = ScheduleFields(
            plan=DEPLOY, cron="@weekly", targets=base.targets, variables={"version": "1"}
        )
        runtime.schedules.add(name, fields)
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, app)
        assert [row[0] for row in schedules_rows(app)] == ["nightly", "weekly"]
        count = str(app.screen.query_one("#schedules-count").render())
        assert count.startswith("3 schedules  ·  first 2 by name")
        await pilot.press("down")
        await settle(pilot)
        await until(pilot, lambda: len(schedules_rows(app)) == 3)
        assert schedules_rows(app)[2][0] == "zz-monthly"


async def test_enter_on_a_closed_drop_down_submits_the_form(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, app)
        await pilot.press("e")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        form.query_one("#field-overlap").focus()
        form.query_one("#field-cron").value = "45 3 * * *"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, SchedulesScreen)
    assert runtime.schedules.show("nightly").cron == "45 3 * * *"


async def test_the_first_showing_reads_the_list_once_and_each_return_reads_it_again(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A section is mounted and then resumed when first shown: one read, not two (the second
    was waited for, and doubled the first paint of a long list); the selected schedule's
    firings come with it."""
    reads: list[int] = []
    original = schedules_module.load_list

    def counted(rt: Runtime, limit: int, *where: Any) -> object:
        reads.append(limit)
        return original(rt, limit, *where)

    firing_reads: list[str] = []
    service_class = type(runtime.schedules)
    original_firings = service_class.firings

    def firings(service: Any, name: str, limit: int = 20) -> Any:
        firing_reads.append(name)
        return original_firings(service, name, limit)

    monkeypatch.setattr(schedules_module, "load_list", counted)
    monkeypatch.setattr(service_class, "firings", firings)
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, app)
        assert [row[0] for row in schedules_rows(app)] == ["nightly"]
        assert reads == [schedules_module.PAGE]
        assert firing_reads == ["nightly"]  # with the list, not once more for the cursor
        assert rows(app, "#schedule-firings")[0][2:] == ["missed", "-", "late"]
        await app.run_action("section('servers')")
        await settle(pilot)
        await open_section(pilot, app)
        assert len(reads) == 2


async def test_firings_read_for_a_schedule_the_cursor_has_left_are_not_shown(
    runtime: Runtime,
) -> None:
    """The cursor moved on while a schedule's firings were read: the pane keeps showing the
    firings of the schedule under the cursor, not the late answer."""
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, app)
        screen = app.screen
        assert isinstance(screen, SchedulesScreen)
        before = rows(app, "#schedule-firings")
        screen._firings_loaded(("another", []))
        await pilot.pause()
        assert rows(app, "#schedule-firings") == before
        title = str(screen.query_one("#schedule-firings-title").render())
        assert title.startswith("Firings of nightly")

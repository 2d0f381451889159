"""The header and the Footer fit at 80 columns, the Footer rebuilds only when its keys change,
and section screens are cheap to show: built after the first frame, never restyling the app."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

from otter_tui.runtime import Runtime
from otter_tui.services.schedules import ScheduleFields
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.header import SubTitle, compact_status, database_label
from screens.sections import SECTIONS
from tests.screens_support import DEPLOY, deploy_runtime, settle, until


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def nightly(runtime: Runtime) -> None:
    fields = ScheduleFields(
        plan=DEPLOY,
        cron="30 2 * * *",
        timezone="UTC",
        targets=TargetSpec(roles=("demo",)),
        variables={"version": "1"},
    )
    runtime.schedules.add("nightly", fields)


def footer_keys(app: OtterApp) -> list[FooterKey]:
    return list(app.screen.query_one(Footer).query(FooterKey))


@pytest.mark.parametrize("size", [(80, 24), (160, 50)])
async def test_the_header_and_the_footer_fit_in_every_section(
    runtime: Runtime, size: tuple[int, int]
) -> None:
    app = OtterApp(runtime)
    narrow = size[0] < 120
    async with app.run_test(size=size) as pilot:
        for section in SECTIONS:
            await app.run_action(f"section('{section.mode}')")
            await settle(pilot)
            title = section.title if narrow else f"otter-tui · {section.title}"
            assert app.title == title
            where = database_label(runtime, compact=narrow)
            assert app.sub_title == f"{runtime.ctx.actor} @ {where}"
            shown = app.screen.query_one("HeaderTitle")
            assert len(f"{app.title} — {app.sub_title}") <= shown.region.width, section.mode
            footer = app.screen.query_one(Footer)
            palette = next(k for k in footer_keys(app) if k.has_class("-command-palette"))
            others = [*footer.query(FooterKey), *footer.query(FooterLabel)]
            for part in others:
                if part is not palette:
                    assert part.region.right <= palette.region.x, (section.mode, part)
            keys = {key.key for key in footer_keys(app)}
            assert {"1", "8", "f1"} <= keys, section.mode  # the sections and the key list


def test_the_compact_sub_title_names_the_database_file_and_shortens_the_status() -> None:
    sub = SubTitle("alice @ /var/lib/otter/otter.db", "alice @ otter.db")
    status = "scheduler: this console"
    assert sub.line(status, 160) == "alice @ /var/lib/otter/otter.db · scheduler: this console"
    assert sub.line(status, 80) == "alice @ otter.db · sched: here"
    assert sub.line("", 80) == "alice @ otter.db"
    assert (
        compact_status("scheduler: daemon h:1 · jobs: daemon h:2")
        == "sched: daemon h:1 · jobs: h:2"
    )


async def test_the_footer_enables_a_key_in_place_and_keeps_its_widgets(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.run_action("section('schedules')")
        await settle(pilot)
        before = footer_keys(app)
        edit = next(key for key in before if key.action == "edit")
        assert edit.has_class("-disabled")  # no schedule to edit yet
        nightly(runtime)
        app.screen.action_reload()  # type: ignore[attr-defined]
        await settle(pilot)
        await until(pilot, lambda: not edit.has_class("-disabled"))
        assert footer_keys(app) == before  # the same widgets: no recompose for one key's state


async def test_showing_a_section_does_not_restyle_the_whole_app(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = OtterApp(runtime)
    calls: list[bool] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        refresh_css = app.refresh_css
        monkeypatch.setattr(app, "refresh_css", lambda animate=True: calls.append(animate))
        await app.run_action("section('schedules')")
        await settle(pilot)
        assert app.screen.query_one("#schedules").region.height > 0
        monkeypatch.setattr(app, "refresh_css", refresh_css)
    assert calls == []


async def test_the_console_builds_every_section_after_its_first_frame(runtime: Runtime) -> None:
    nightly(runtime)
    app = OtterApp(runtime, prebuild=True)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: gc.get_freeze_count() > 0)
            assert set(app._screen_stacks) >= {section.mode for section in SECTIONS}
            assert app.current_mode == "servers"  # built off screen, not shown
            await pilot.press("6")
            await settle(pilot)
            assert app.current_mode == "schedules"
            table = app.screen.query_one("#schedules")
            assert table.row_count == 1  # type: ignore[attr-defined]
            assert table.has_focus
    finally:
        gc.unfreeze()

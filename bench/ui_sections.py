"""Console sections: switching section p99, and the Schedules screen's first paint at 10,000.

Both in-process (``App.run_test``, headless, 160x50) on a fresh SQLite database with the demo
inventory. Switching: each number key in turn, 20 rounds after one warm-up round; a press is
timed from the key to the refresh after the switch (the new section painted; its reload runs
after, in a thread). Schedules first paint: from the key ``6`` to the table holding its first
page (500 by name) and the count of all, with ``n`` schedules in the database; the floor is the
same with none.
Schedules are inserted in bulk (not through the service): the figure is about showing them.
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from textual.widgets import DataTable, Label

import screens.app
from bench.fleet import PLANS_DIR
from bench.timing import percentile
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.store.models import PlanKind, Schedule
from screens.app import OtterApp
from screens.schedules import PAGE, SchedulesScreen
from screens.sections import SECTIONS

ROUNDS = 20
SIZE = (160, 50)


def _runtime(workdir: Path) -> Runtime:
    config = workdir / "config.toml"
    config.write_text(f'[paths]\ndata_dir = "data"\nplans_dir = "{PLANS_DIR}"\n')
    return open_runtime(str(config))


def _insert_schedules(runtime: Runtime, n: int) -> None:
    now = datetime.now(UTC)
    zones = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo")
    rows = [
        {
            "name": f"s{i:05d}",
            "plan_key": "demo_deploy.DemoDeploy",
            "plan_name": "Demo deploy",
            "kind": PlanKind.ORCHESTRATION,
            "cron": f"{i % 60} {i % 24} * * *",
            "timezone": zones[i % len(zones)],
            "targets": {},
            "variables": {"version": "1"},
            "next_due_at": now + timedelta(minutes=i),
            "created_by": "bench",
            "updated_by": "bench",
            "created_at": now,
            "updated_at": now,
        }
        for i in range(n)
    ]
    if rows:
        with runtime.db.transaction() as s:
            s.execute(insert(Schedule), rows)


async def _schedules_paint(n: int) -> float:
    with tempfile.TemporaryDirectory(prefix="otter-ui-") as tmp:
        runtime = _runtime(Path(tmp))
        _insert_schedules(runtime, n)
        app = _App(runtime)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            started = time.perf_counter()
            await pilot.press("6")
            while not _painted(app, n):
                await pilot.pause(0.001)
            took = time.perf_counter() - started
        runtime.close()
    return took


def _painted(app: OtterApp, n: int) -> bool:
    """The first page is in the table and the count says how many there are in all."""
    if not isinstance(app.screen, SchedulesScreen):
        return False
    table = app.screen.query_one("#schedules", DataTable)
    label = str(app.screen.query_one("#schedules-count", Label).render())
    return table.row_count == min(n, PAGE) and label.startswith(f"{n} schedule")


class _App(OtterApp):
    CSS_PATH = str(Path(screens.app.__file__).with_name("otter.tcss"))


class _TimedApp(_App):
    """Notes when a switched-to section has been painted (the refresh after the switch)."""

    painted: list[float]

    def action_section(self, mode: str) -> None:
        super().action_section(mode)
        self.call_after_refresh(lambda: self.painted.append(time.perf_counter()))


async def _switch_p99() -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="otter-ui-") as tmp:
        runtime = _runtime(Path(tmp))
        app = _TimedApp(runtime)
        app.painted = []
        times: list[float] = []
        async with app.run_test(size=SIZE) as pilot:
            keys = [str(i) for i in range(1, len(SECTIONS) + 1)]
            for key in keys:  # warm-up: every section built once
                await pilot.press(key)
            for _ in range(ROUNDS):
                for number, key in enumerate(keys):
                    before = len(app.painted)
                    started = time.perf_counter()
                    await pilot.press(key)
                    while len(app.painted) <= before:
                        await pilot.pause(0.001)
                    assert app.current_mode == SECTIONS[number].mode
                    times.append(app.painted[before] - started)
        runtime.close()
    return {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99)}


async def measure_ui_sections(spec: dict[str, Any]) -> dict[str, Any]:
    n = int(spec.get("schedules", 10_000))
    floor = await _schedules_paint(0)
    paint = await _schedules_paint(n)
    switch = await _switch_p99()
    return {
        "ok": True,
        "paint": paint,
        "paint_floor": floor,
        "n": n,
        "sections": len(SECTIONS),
        **switch,
    }

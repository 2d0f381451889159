"""Console sections: switching section p99, and the Schedules screen's first paint at 10,000.

Both in-process (``App.run_test``, headless, 160x50) on a fresh SQLite database with the demo
inventory. Switching: the console as ``run_console`` opens it (``prebuild``: the other sections
are built after the first frame, then the heap is frozen); once that is done, each number key in
turn, one first round (reported apart: each section's first showing) then 20 rounds; a press is
timed from the key to the refresh after the switch (the new section painted; its reload runs
after, in a thread). Schedules first paint, cold (no section built ahead: a key pressed right
after start-up): from the key ``6`` to the refresh after the table holds its first page (100 by
name) and the count of all, with ``n`` schedules in the database; the floor is the same with
none; the median of 5 of each, alternating. The heap is frozen before the app starts, as the
console's is once open. The wait polls with plain sleeps: Pilot's pauses force a full repaint
each time, which competed with what is measured.
Schedules are inserted in bulk (not through the service): the figure is about showing them.
"""

from __future__ import annotations

import asyncio
import gc
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from textual.widgets import DataTable, Label

import screens.app
from bench.fleet import PLANS_DIR
from bench.timing import median, percentile
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.store.models import PlanKind, Schedule
from screens.app import OtterApp
from screens.schedules import PAGE, SchedulesScreen
from screens.sections import SECTIONS

ROUNDS = 20
PAINT_ROUNDS = 5
"""Schedules first paints, each in a fresh app, floor and 10,000 alternating: the median."""
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
        _frozen_as_opened()
        try:
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                started = time.perf_counter()
                await pilot.press("6")
                while not _painted(app, n):
                    await asyncio.sleep(0.002)
                await _next_refresh(app)
                took = time.perf_counter() - started
        finally:
            gc.unfreeze()
        runtime.close()
    return took


def _frozen_as_opened() -> None:
    """The heap as the console has it once open: ``otter-tui`` opens its runtime with the
    collector paused and then freezes what is alive (otter_tui/heap.py). Without this, a full
    collection walking this process's own leftovers (earlier rounds, the bulk insert) fell in
    the timed window: 150-340 ms of the 10,000-schedule figure, none of it the screen's."""
    gc.collect()
    gc.freeze()


async def _next_refresh(app: OtterApp) -> None:
    painted = asyncio.Event()
    app.call_after_refresh(painted.set)
    await painted.wait()


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
        app = _TimedApp(runtime, prebuild=True)
        app.painted = []
        async with app.run_test(size=SIZE) as pilot:
            while len(app._screen_stacks) < len(SECTIONS) or not gc.get_freeze_count():
                await asyncio.sleep(0.01)
            first = [await _switch(app, pilot, number) for number in range(len(SECTIONS))]
            times = [
                await _switch(app, pilot, number)
                for _ in range(ROUNDS)
                for number in range(len(SECTIONS))
            ]
        runtime.close()
    return {
        "p50": percentile(times, 0.5),
        "p99": percentile(times, 0.99),
        "first_max": max(first),
    }


async def _switch(app: _TimedApp, pilot: Any, number: int) -> float:
    """Seconds from pressing section ``number``'s key to the refresh after the switch."""
    before = len(app.painted)
    started = time.perf_counter()
    await pilot.press(str(number + 1))
    while len(app.painted) <= before:
        await asyncio.sleep(0.001)
    assert app.current_mode == SECTIONS[number].mode
    return app.painted[before] - started


async def measure_ui_sections(spec: dict[str, Any]) -> dict[str, Any]:
    n = int(spec.get("schedules", 10_000))
    floors: list[float] = []
    paints: list[float] = []
    for _ in range(PAINT_ROUNDS):  # one paint is ~0.25 s: a single one was mostly noise
        floors.append(await _schedules_paint(0))
        paints.append(await _schedules_paint(n))
    floor, paint = median(floors), median(paints)
    switch = await _switch_p99()
    return {
        "ok": True,
        "paint": paint,
        "paint_floor": floor,
        "n": n,
        "sections": len(SECTIONS),
        **switch,
    }

"""Key latency in the real console app (headless) while the engine streams a job's log."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import screens.app
from bench.fleet import LOCAL_SERVER, PLAN_KEYS
from bench.timing import cpu_seconds, percentile
from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import worker_name
from otter_tui.events import EventBus
from otter_tui.runtime import open_runtime
from otter_tui.services.claims import ClaimService
from otter_tui.services.jobs import JobRequest
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp

WARM_UP = 1.0
"""Seconds of streaming before the first press, so the stream is at its steady rate."""
PRESS_EVERY = 0.1


class _TimedApp(OtterApp):
    """The console, noting when the section action of a key press runs."""

    CSS_PATH = str(Path(screens.app.__file__).with_name("otter.tcss"))
    handled: list[float]

    def action_section(self, mode: str) -> None:
        self.handled.append(time.perf_counter())
        super().action_section(mode)


async def measure_keys_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return await measure_keys(spec["fleet"]["config"], spec["rate"], spec["seconds"])


async def measure_keys(config: str, rate: int, seconds: int) -> dict[str, Any]:
    runtime = open_runtime(config, seed=False, sync_plans=False)
    runtime.plans.plan_class(PLAN_KEYS["stream"])
    bus = EventBus()
    engine = Engine(runtime.ctx, bus, plans=runtime.plans)
    app = _TimedApp(runtime, bus)
    app.handled = []
    latencies: list[float] = []
    async with app.run_test(size=(160, 40)) as pilot:
        await engine.start()
        request = JobRequest(
            PLAN_KEYS["stream"],
            TargetSpec(servers=(LOCAL_SERVER,)),
            {"rate": str(rate), "seconds": str(seconds)},
            simulation=False,
        )
        view = runtime.jobs.create(request)
        assert ClaimService(runtime.ctx, worker_name()).claim(view.id)
        started, cpu = time.perf_counter(), cpu_seconds()
        job = asyncio.create_task(engine.run_job(view.id))
        await asyncio.sleep(WARM_UP)
        while not job.done():
            latencies.append(await _press(pilot, app))
            await asyncio.sleep(PRESS_EVERY)
        state = await job
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
        await engine.close()
    runtime.close()
    lines = engine.writer.stored
    return {
        "ok": state.value == "succeeded" and bool(latencies),
        "error": "" if state.value == "succeeded" else f"stream job {state.value}",
        "p50": percentile(latencies, 0.5) if latencies else None,
        "p99": percentile(latencies, 0.99) if latencies else None,
        "presses": len(latencies),
        "lines_per_s": lines / wall,
        "wall": wall,
        "cpu": cpu,
    }


async def _press(pilot: Any, app: _TimedApp) -> float:
    before = len(app.handled)
    pressed = time.perf_counter()
    await pilot.press("1")
    while len(app.handled) <= before:
        await asyncio.sleep(0.001)
    return app.handled[before] - pressed

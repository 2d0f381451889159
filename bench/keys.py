"""Key latency in the real console app (headless) while it runs a job that streams its log.

The app is built as the console builds it (runtime, bus, the console's own job runner). A job
on a local-transport server prints ``rate`` lines a second; it is created through the job
service and run by the console's worker, and its detail screen is open, following the log. Every
100 ms the pilot presses ``End`` (follow the log) and the time from the press to the screen's
action is recorded.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import screens.app
from bench.fleet import LOCAL_SERVER, PLAN_KEYS
from bench.timing import cpu_seconds, percentile
from otter_tui.events import EventBus
from otter_tui.runtime import open_runtime
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.context import ConsoleContext
from screens.job_detail import JobDetailScreen
from screens.job_runner import ConsoleRunner

WARM_UP = 1.0
"""Seconds of streaming before the first press, so the stream is at its steady rate."""
PRESS_EVERY = 0.1
KEY = "end"


class _TimedDetail(JobDetailScreen):
    """The job detail screen, noting when the action of a key press runs."""

    handled: list[float]

    def action_scroll_log(self, where: str) -> None:
        self.handled.append(time.perf_counter())
        super().action_scroll_log(where)


class _App(OtterApp):
    CSS_PATH = str(Path(screens.app.__file__).with_name("otter.tcss"))


async def measure_keys_spec(spec: dict[str, Any]) -> dict[str, Any]:
    return await measure_keys(spec["fleet"]["config"], spec["rate"], spec["seconds"])


async def measure_keys(config: str, rate: int, seconds: int) -> dict[str, Any]:
    runtime = open_runtime(config, seed=False, sync_plans=False)
    runtime.plans.plan_class(PLAN_KEYS["stream"])
    bus = EventBus()
    runner = ConsoleRunner(runtime, bus)
    app = _App(runtime, bus, runner)
    latencies: list[float] = []
    async with app.run_test(size=(160, 40)) as pilot:
        view = _create_job(runtime, rate, seconds)
        started, cpu = time.perf_counter(), cpu_seconds()
        runner.notify()
        detail = _TimedDetail(ConsoleContext(runtime, app.core_events, runner), view)
        detail.handled = []
        await app.push_screen(detail)
        await asyncio.sleep(WARM_UP)
        while not runner.running and time.perf_counter() - started < 10:
            await asyncio.sleep(0.05)
        while runner.running:
            latencies.append(await _press(pilot, detail))
            await asyncio.sleep(PRESS_EVERY)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    job = runtime.jobs.show(view.id)
    state, lines = job.state, runner.engine.writer.stored
    ended, began = job.finished_at, job.started_at
    ran = (ended - began).total_seconds() if ended and began else 0.0
    runtime.close()
    return {
        "ok": state == "succeeded" and bool(latencies),
        "error": "" if state == "succeeded" else f"stream job {state}",
        "p50": percentile(latencies, 0.5) if latencies else None,
        "p99": percentile(latencies, 0.99) if latencies else None,
        "presses": len(latencies),
        "lines_per_s": lines / ran if ran else 0.0,
        "wall": wall,
        "cpu": cpu,
    }


def _create_job(runtime: Any, rate: int, seconds: int) -> JobView:
    request = JobRequest(
        PLAN_KEYS["stream"],
        TargetSpec(servers=(LOCAL_SERVER,)),
        {"rate": str(rate), "seconds": str(seconds)},
        simulation=False,
    )
    view: JobView = runtime.jobs.create(request)
    return view


async def _press(pilot: Any, screen: _TimedDetail) -> float:
    before = len(screen.handled)
    pressed = time.perf_counter()
    await pilot.press(KEY)
    while len(screen.handled) <= before:
        await asyncio.sleep(0.001)
    return screen.handled[before] - pressed

"""Key latency in the real console app (headless) while it runs a job that streams its log.

The app is built as the console builds it (runtime, bus, the console's own job runner). A job
on ``servers`` SSH servers of the bench fleet (role ``nN``; 0: the local-transport server) prints
``rate`` lines a second in all, each server its share; it is created through the job service and
run by the console's worker (on its own thread, as the console runs it), and its detail screen is
open, following the log.

Keys arrive the way a terminal's do: a thread of its own (Textual's drivers read stdin in a
thread) posts an ``End`` key to the app every 100 ms, whatever the app is doing, and notes when;
the detail screen notes when the key's action runs. Latency is the one minus the other, so time
the key waited for a busy event loop counts. (``Pilot.press`` is no good here: it only presses
once the loop gets to it and then waits for the app to go idle, up to 2 s under a stream, so it
saw a few presses, each just after the loop had caught up.)

With ``daemon`` set, an ``otter-tui daemon`` process (scheduler off) serves the queue and runs the
job, as it would for a fleet that size; the console claims nothing and only follows the job from
the store, and the rate is the lines stored over the job's run time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from textual import events

import screens.app
from bench.fleet import LOCAL_SERVER, PLAN_KEYS
from bench.product import stored_lines
from bench.timing import cpu_seconds, percentile
from bench.warm_daemon import READY_SECONDS, daemon_config, start_daemon, stop_daemon
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.context import ConsoleContext
from screens.job_detail import JobDetailScreen
from screens.job_runner import ConsoleRunner
from screens.sections import SECTIONS

WARM_UP = 1.0
"""Seconds of streaming before the first key, so the stream is at its steady rate."""
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


class _Typist(threading.Thread):
    """Posts ``KEY`` to the app every ``PRESS_EVERY`` seconds from its own thread, as a
    terminal driver's input thread does, noting when each was sent."""

    def __init__(self, app: _App) -> None:
        super().__init__(name="bench-typist", daemon=True)
        self.app, self.sent, self.done = app, [], threading.Event()

    sent: list[float]

    def run(self) -> None:
        while not self.done.wait(PRESS_EVERY):
            self.sent.append(time.perf_counter())
            self.app.post_message(events.Key(KEY, None))


async def measure_keys_spec(spec: dict[str, Any]) -> dict[str, Any]:
    config = spec["fleet"]["config"]
    args = (config, spec["rate"], spec["seconds"], spec.get("servers", 0))
    if not spec.get("daemon"):
        return await measure_keys(*args)
    workdir = Path(config).parent
    process, ready = start_daemon(daemon_config(Path(config), workdir), workdir / "keys-daemon.log")
    try:
        if not await asyncio.to_thread(ready.wait, READY_SECONDS):
            return {"ok": False, "error": "the daemon did not start"}
        return await measure_keys(*args, daemon=True)
    finally:
        await asyncio.to_thread(stop_daemon, process)


async def measure_keys(
    config: str, rate: int, seconds: int, servers: int = 0, *, daemon: bool = False
) -> dict[str, Any]:
    runtime = open_runtime(config, seed=False, sync_plans=False)
    runtime.plans.plan_class(PLAN_KEYS["stream"])
    bus = EventBus()
    runner = ConsoleRunner(runtime, bus)
    # As the console runs (screens/warm.py, screens/opening.py): the runner on its own thread.
    app = _App(runtime, bus, runner, prebuild=True, threaded=True)
    async with app.run_test(size=(160, 40)):
        await _prebuilt(app)
        if daemon and not await _daemon_seen(runner):
            return {"ok": False, "error": "the console did not see the daemon"}
        view = _create_job(runtime, rate, seconds, servers)
        started, cpu = time.perf_counter(), cpu_seconds()
        runner.notify()
        detail = _TimedDetail(ConsoleContext(runtime, app.core_events, runner), view)
        detail.handled = []
        await app.push_screen(detail)
        await asyncio.sleep(WARM_UP)
        running = _ran_elsewhere(runtime, view.id) if daemon else _ran_here(runner)
        while not await running() and time.perf_counter() - started < 10:
            await asyncio.sleep(0.05)
        typist = _Typist(app)
        typist.start()
        while await running():
            await asyncio.sleep(PRESS_EVERY)
        typist.done.set()
        await asyncio.to_thread(typist.join)
        deadline = time.perf_counter() + 5
        while len(detail.handled) < len(typist.sent) and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    job = runtime.jobs.brief(view.id)
    state = job.state
    lines = stored_lines(runtime, view.id) if daemon else runner.engine.writer.stored
    ended, began = job.finished_at, job.started_at
    ran = (ended - began).total_seconds() if ended and began else 0.0
    runtime.close()
    latencies = [done - sent for sent, done in zip(typist.sent, detail.handled, strict=False)]
    error = "" if state == "succeeded" else f"stream job {state}"
    if len(detail.handled) != len(typist.sent):
        error = f"{len(typist.sent)} keys sent, {len(detail.handled)} handled"
    return {
        "ok": not error and bool(latencies),
        "error": error,
        "p50": percentile(latencies, 0.5) if latencies else None,
        "p99": percentile(latencies, 0.99) if latencies else None,
        "max": max(latencies) if latencies else None,
        "presses": len(latencies),
        "lines_per_s": lines / ran if ran else 0.0,
        "wall": wall,
        "cpu": cpu,
    }


def _create_job(runtime: Any, rate: int, seconds: int, servers: int) -> JobView:
    targets = TargetSpec(roles=(f"n{servers}",)) if servers else TargetSpec(servers=(LOCAL_SERVER,))
    each = max(1, rate // servers) if servers else rate
    request = JobRequest(
        PLAN_KEYS["stream"],
        targets,
        {"rate": str(each), "seconds": str(seconds)},
        simulation=False,
    )
    view: JobView = runtime.jobs.create(request)
    return view


async def _prebuilt(app: _App) -> None:
    """Wait until the console has built every section (it starts once its job runner has, after
    the first frame), as in a console open for a while. Waiting only while a prebuild worker
    ran saw none yet, so the keys were timed while the sections were being built."""
    modes = [section.mode for section in SECTIONS]
    deadline = time.perf_counter() + READY_SECONDS
    while time.perf_counter() < deadline:
        building = any(w.group == "prebuild" and not w.is_finished for w in app.workers)
        if not building and all(mode in app._screen_stacks for mode in modes):
            return
        await asyncio.sleep(0.05)


async def _daemon_seen(runner: ConsoleRunner) -> bool:
    """Wait until the console's worker has seen the daemon serving the queue (so the job goes to
    the daemon, not to the console)."""
    deadline = time.perf_counter() + READY_SECONDS
    while runner.daemon is None and time.perf_counter() < deadline:
        runner.notify()
        await asyncio.sleep(0.1)
    return runner.daemon is not None


def _ran_here(runner: ConsoleRunner) -> Callable[[], Awaitable[bool]]:
    async def running() -> bool:
        return bool(runner.running)

    return running


def _ran_elsewhere(runtime: Runtime, job_id: int) -> Callable[[], Awaitable[bool]]:
    """Whether the job is running, read off the event loop (the key presses wait for it)."""

    async def running() -> bool:
        state = await asyncio.to_thread(lambda: runtime.jobs.brief(job_id).state)
        return state == "running"

    return running

"""A job with 1,000,000 stored log lines: opening it in the console, and ``/`` search with n/N.

The job has 500 server runs of 2,000 lines each, interleaved as a fan-out writes them; one line
in 10,000 says ``disk full`` (100 matches spread over the whole log), every line says ``fox``.
In-process (``App.run_test``, headless, 160x50), the app as ``run_console`` opens it (the other
sections built and the heap frozen after the first frame, see screens/warm.py) on a SQLite file
built once and cached under bench/results (its name changes with the migrations). Each figure is
from the action to the refresh after its result is on screen:

- open: ``go to job`` (from the Jobs section) to the job's screen with its 501 run rows and the
  log's tail shown; the median of 5 (Esc between, each a new screen), and the first apart;
- search, rare: Enter on ``disk full`` (the database scans the job's lines to fill a page);
- search, common: Enter on ``fox`` (the first page is the first 200 lines);
- n past the page: ``n`` on the 200th match of ``fox``, which reads the next page;
- n / N within the page: a cursor move;
- one run: Down on the runs table, to the first server run's last lines in the log pane.

The floor of each search is the same query through the service alone (no UI), in the same run.
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from textual.widgets import DataTable, Input, Label

from bench.console import write_config
from bench.fleet import PLAN_KEYS, RESULTS_DIR
from bench.timing import median
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.store.db import MIGRATIONS
from otter_tui.store.models import Job, JobState, LogEntry, PlanKind, RunState, ServerRun
from screens.app import OtterApp
from screens.job_detail import JobDetailScreen
from screens.log_search import LogSearch
from screens.sections import SECTIONS

LINES = 1_000_000
RUNS = 500
CHUNK = 100_000
RARE, COMMON = "disk full", "fox"
SIZE = (160, 50)
OPENS = 5
START = datetime(2026, 1, 1, tzinfo=UTC)


def log_db(lines: int = LINES, runs: int = RUNS) -> Path:
    """The cached SQLite file with job 1 and its ``lines`` lines over ``runs`` server runs."""
    digest = hashlib.sha256()
    for path in sorted((MIGRATIONS / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    path = RESULTS_DIR / f"joblog-{lines}-{runs}-{digest.hexdigest()[:10]}.db"
    if not path.exists():
        building = path.with_suffix(".building")
        building.unlink(missing_ok=True)
        _build(building, lines, runs)
        building.rename(path)
    return path


def _build(path: Path, lines: int, runs: int) -> None:
    config = write_config(path.parent / "joblog-config.toml", path, path.parent / "joblog-data")
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        with runtime.db.engine.begin() as conn:
            conn.execute(insert(Job), [_job(runs)])
            conn.execute(insert(ServerRun), [_run(i) for i in range(1, runs + 1)])
            for first in range(0, lines, CHUNK):
                rows = [_line(n, runs) for n in range(first, min(lines, first + CHUNK))]
                conn.execute(insert(LogEntry), rows)
    finally:
        runtime.close()


def _job(runs: int) -> dict[str, Any]:
    return {
        "id": 1,
        "kind": PlanKind.ORCHESTRATION,
        "plan_key": PLAN_KEYS["fanout"],
        "plan_name": "Bench fan-out",
        "targets": {"roles": ["bench"]},
        "variables": {},
        "sensitive_names": [],
        "queue_name": "default",
        "state": JobState.SUCCEEDED,
        "requested_by": "bench",
        "created_at": START,
        "run_at": START,
        "started_at": START,
        "finished_at": START + timedelta(minutes=10),
        "summary": {"server_runs": runs},
    }


def _server(i: int) -> str:
    return f"srv{i:03d}"


def _run(i: int) -> dict[str, Any]:
    end = START + timedelta(minutes=10)
    return {
        "id": i,
        "job_id": 1,
        "server_name": _server(i),
        "state": RunState.SUCCEEDED,
        "started_at": START,
        "finished_at": end,
    }


def _line(n: int, runs: int) -> dict[str, Any]:
    run = n % runs + 1
    text = f"step {n // runs}: the quick brown fox jumps over the lazy dog"
    if n % 10_000 == 5_000:
        text = f"ERROR: disk full on /var (step {n // runs})"
    return {
        "job_id": 1,
        "server_run_id": run,
        "seq": n + 1,
        "at": START + timedelta(milliseconds=n),
        "level": "info",
        "stream": "stdout",
        "text": text,
    }


async def _until(done: Callable[[], bool], app: OtterApp, timeout: float = 120) -> None:
    """Poll with plain sleeps (Pilot's pauses repaint), then wait for the next refresh."""
    limit = time.perf_counter() + timeout
    while not done():
        if time.perf_counter() > limit:
            raise RuntimeError("timed out waiting for the console")
        await asyncio.sleep(0.002)
    painted = asyncio.Event()
    app.call_after_refresh(painted.set)
    await painted.wait()


def _prebuilt(app: OtterApp) -> bool:
    return len(app._screen_stacks) >= len(SECTIONS) and gc.get_freeze_count() > 0


def _opened(app: OtterApp, runs: int) -> bool:
    screen = app.screen
    if not isinstance(screen, JobDetailScreen) or not screen.is_mounted:
        return False
    tables = screen.query("#runs").results(DataTable)
    shown = next(tables, None)
    return shown is not None and shown.row_count == runs + 1 and screen.pane.last_seq > 0


async def _open(app: OtterApp, pilot: Any, runs: int, *, again: bool) -> float:
    """Seconds from 'go to job' to its runs and log tail on screen (``again``: Esc first)."""
    if again:
        await pilot.press("escape")
        await _until(lambda: not isinstance(app.screen, JobDetailScreen), app)
        await pilot.pause(0.2)
    started = time.perf_counter()
    app.open_job(1)
    await _until(lambda: _opened(app, runs), app)
    return time.perf_counter() - started


async def _search(app: OtterApp, pilot: Any, text: str) -> tuple[float, int]:
    """Seconds from Enter on ``text`` to its first page on screen, and the matches shown."""
    search = app.screen.query_one(LogSearch)
    table = search.query_one("#log-matches", DataTable)
    field = search.query_one("#log-search-input", Input)
    field.value = text
    field.focus()
    started = time.perf_counter()
    await pilot.press("enter")
    status = search.query_one("#log-search-status", Label)
    await _until(lambda: table.row_count > 0 and "match" in str(status.render()), app)
    return time.perf_counter() - started, table.row_count


async def _step(app: OtterApp, pilot: Any, key: str, done: Callable[[], bool]) -> float:
    started = time.perf_counter()
    await pilot.press(key)
    await _until(done, app)
    return time.perf_counter() - started


def _floor(runtime: Runtime, text: str, after: int = 0) -> float:
    started = time.perf_counter()
    runtime.search.log_matches(1, text, after_seq=after, limit=200)
    return time.perf_counter() - started


async def measure_log_search(spec: dict[str, Any]) -> dict[str, Any]:
    lines, runs = int(spec.get("lines", LINES)), int(spec.get("runs", RUNS))
    database = log_db(lines, runs)
    config = write_config(Path(spec["workdir"]) / "joblog.toml", database, database.parent)
    runtime = open_runtime(config, seed=False, sync_plans=False)
    result: dict[str, Any] = {"ok": True, "lines": lines, "runs": runs}
    try:
        app = OtterApp(runtime, prebuild=True)  # as run_console: sections built, heap frozen
        async with app.run_test(size=SIZE) as pilot:
            await _until(lambda: _prebuilt(app), app)
            await pilot.press("2")  # the Jobs section, built and listed before the clock starts
            jobs = app.screen.query_one("#jobs", DataTable)
            await _until(lambda: jobs.row_count == 1, app)
            opens = [await _open(app, pilot, runs, again=i > 0) for i in range(OPENS)]
            result["open_first"], result["open"] = opens[0], median(opens)
            pane = app.screen.pane  # type: ignore[attr-defined]
            shown = lambda run: pane.run_id == run and pane.last_seq > 0  # noqa: E731
            result["one_run"] = await _step(app, pilot, "down", lambda: shown(1))
            await _step(app, pilot, "up", lambda: shown(None))
            await pilot.press("slash")
            result["rare"], result["rare_matches"] = await _search(app, pilot, RARE)
            result["common"], _ = await _search(app, pilot, COMMON)
            table = app.screen.query_one("#log-matches", DataTable)
            result["n_in_page"] = await _step(app, pilot, "n", lambda: table.cursor_row == 1)
            result["N_in_page"] = await _step(app, pilot, "N", lambda: table.cursor_row == 0)
            table.move_cursor(row=table.row_count - 1)
            page = table.row_count
            result["n_next_page"] = await _step(app, pilot, "n", lambda: table.row_count > page)
        result["rare_floor"] = _floor(runtime, RARE)
        result["common_floor"] = _floor(runtime, COMMON)
        result["next_page_floor"] = _floor(runtime, COMMON, after=200)
        started = time.perf_counter()
        runtime.jobs.log_tail(1, limit=5000, server_run_id=1)
        result["one_run_floor"] = time.perf_counter() - started
    finally:
        runtime.close()
    return result

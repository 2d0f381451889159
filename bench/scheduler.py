"""The scheduler at scale: idle CPU with many enabled schedules, lateness when many fall due.

In a child process with a fresh database: ``total`` enabled schedules, of which ``due`` fire
daily at one minute M (the first whole minute at least ``idle`` seconds away) and the rest
yearly. The real :class:`Scheduler` runs on the system clock. Idle CPU is the process's CPU over
``idle`` seconds while nothing is due; lateness is each job's ``created_at`` minus its firing's
``due_at``, read from the store once all ``due`` jobs exist. Schedules are created through the
schedule service (two of them) and copied with bulk inserts (the rest), which is faster and
stores the same rows.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from bench.fleet import PLAN_KEYS
from bench.timing import cpu_seconds, percentile
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.scheduler import Scheduler
from otter_tui.services.schedules import ScheduleFields, ScheduleService
from otter_tui.store.models import Job, Schedule, ScheduleFiring

SETTLE = 2.0
"""Seconds after start before idle CPU is counted (the first pass reads every schedule)."""


async def measure_scheduler(spec: dict[str, Any]) -> dict[str, Any]:
    runtime = open_runtime(spec["config"], seed=False, sync_plans=True)
    runtime.plans.set_enabled(PLAN_KEYS["fanout"], True)
    idle, total, due = spec["idle"], spec["total"], spec["due"]
    due_at = _first_minute_after(datetime.now(UTC) + timedelta(seconds=idle + SETTLE + 2))
    create_schedules(runtime, total, due, due_at)
    stop = asyncio.Event()
    scheduler = Scheduler(runtime, holder="bench")
    task = asyncio.create_task(scheduler.run(stop))
    await asyncio.sleep(SETTLE)
    cpu, started = cpu_seconds(), time.perf_counter()
    await asyncio.sleep(idle)
    idle_cpu, idle_wall = cpu_seconds() - cpu, time.perf_counter() - started
    created = await _wait_for_jobs(runtime, due, due_at)
    stop.set()
    await task
    lateness = _lateness(runtime)
    runtime.close()
    return {
        "ok": created == due and len(lateness) == due,
        "error": "" if created == due else f"{created} of {due} jobs created",
        "idle_cpu_pct": 100 * idle_cpu / idle_wall,
        "p50": percentile(lateness, 0.5) if lateness else None,
        "p99": percentile(lateness, 0.99) if lateness else None,
        "max": max(lateness) if lateness else None,
    }


def _first_minute_after(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def create_schedules(runtime: Runtime, total: int, due: int, due_at: datetime) -> None:
    """``due`` schedules firing daily at ``due_at``'s minute, the rest yearly (all enabled)."""
    service = ScheduleService(runtime.ctx, runtime.plans)
    plan = PLAN_KEYS["fanout"]
    templates = [("yearly-0", "0 0 1 1 *", total - due)]
    if due:
        templates.append(("due-0", f"{due_at.minute} {due_at.hour} * * *", due))
    for name, cron, _count in templates:
        service.add(name, ScheduleFields(plan=plan, cron=cron))
    with runtime.db.engine.begin() as conn:
        for name, _cron, count in templates:
            query = select(Schedule).where(Schedule.name == name)
            row = dict(conn.execute(query).one()._mapping)
            row.pop("id")
            prefix = name.rsplit("-", 1)[0]
            rows = [{**row, "name": f"{prefix}-{i}"} for i in range(1, count)]
            if rows:
                conn.execute(insert(Schedule), rows)


async def _wait_for_jobs(runtime: Runtime, due: int, due_at: datetime) -> int:
    deadline = due_at + timedelta(seconds=120)
    count = 0
    while datetime.now(UTC) < deadline:
        await asyncio.sleep(1.0)
        with runtime.db.session() as s:
            count = s.scalar(select(func.count(Job.id))) or 0
        if count >= due:
            break
    return count


def _lateness(runtime: Runtime) -> list[float]:
    with runtime.db.session() as s:
        rows = s.execute(
            select(ScheduleFiring.due_at, Job.created_at).join(Job, Job.id == ScheduleFiring.job_id)
        ).all()
    return [(created - due).total_seconds() for due, created in rows]


def scheduler_config(workdir: Path) -> Path:
    from bench.console import write_config

    data = workdir / "scheduler-data"
    return write_config(workdir / "scheduler.toml", data / "otter.db", data)

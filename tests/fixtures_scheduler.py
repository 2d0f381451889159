"""A small world for scheduler tests: a real SQLite file with real migrations, test plans, a
manual clock shared by the runtime and the scheduler, and helpers to drive loops without sleeps.

Each test module makes its own ``world`` fixture from :func:`make_world`.
"""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from otter_tui.runtime import Runtime
from otter_tui.scheduler import ManualClock, Scheduler
from otter_tui.services.schedules import ScheduleFields, ScheduleService, ScheduleView
from otter_tui.store.models import Job, JobState, Schedule, ScheduleFiring
from tests.fixtures_core import FixedClock, make_runtime

START = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
"""Every world starts here: a whole minute, so every-minute firings fall on round numbers."""
GUARD = 20.0
"""Seconds a test waits for loops to settle before failing (a hang guard, never a sleep)."""

PLANS = {
    "tick.py": '''
        from otter_tui.plan import OrchestrationPlan, RunContext, Text

        class Tick(OrchestrationPlan):
            """Say tick (an orchestration plan needs no targets)."""

            name = "Tick"
            variables = {"word": Text(default="tick")}

            async def run(self, ctx: RunContext) -> None:
                ctx.log(str(ctx.vars["word"]))
    ''',
    "conf.py": '''
        from otter_tui.plan import ConfigurationPlan

        class Conf(ConfigurationPlan):
            """Desire nothing (a configuration plan)."""

            name = "Conf"

            def operations(self, server):
                return iter(())
    ''',
    "secret.py": '''
        from otter_tui.plan import OrchestrationPlan, RunContext, Secret

        class Secretive(OrchestrationPlan):
            """Needs a token."""

            name = "Secretive"
            variables = {"token": Secret()}

            async def run(self, ctx: RunContext) -> None:
                ctx.log("ok")
    ''',
    "gated.py": '''
        from otter_tui.plan import OrchestrationPlan, RunContext

        class Gated(OrchestrationPlan):
            """Needs an approval."""

            name = "Gated"
            approval_required = True

            async def run(self, ctx: RunContext) -> None:
                ctx.log("ok")
    ''',
}
TICK = "tick.Tick"


@dataclass
class World:
    rt: Runtime
    clock: ManualClock
    fixed: FixedClock
    loops: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def schedules(self) -> ScheduleService:
        return ScheduleService(self.rt.ctx, self.rt.plans)

    def add(self, name: str, cron: str | None = "* * * * *", **fields: Any) -> ScheduleView:
        fields.setdefault("plan", TICK)
        return self.schedules.add(name, ScheduleFields(cron=cron, **fields))

    # time ------------------------------------------------------------------------------------

    def set_time(self, moment: datetime) -> None:
        self.fixed.now = moment
        self.clock.set(moment)

    async def step(self, seconds: float, loops: int | None = None) -> None:
        """Move time on and wait until every running loop has reacted and sleeps again."""
        mark = self.clock.sleep_calls
        self.set_time(self.clock.now() + timedelta(seconds=seconds))
        await self.settle(loops, since=mark)

    async def settle(self, loops: int | None = None, *, since: int | None = None) -> None:
        count = len(self.loops) if loops is None else loops
        await asyncio.wait_for(self.clock.wait_sleepers(count, since=since), GUARD)

    @asynccontextmanager
    async def running(self, *holders: str) -> AsyncIterator[list[Scheduler]]:
        """Scheduler loops on this world's database; stopped (lease released) on exit."""
        stop = asyncio.Event()
        schedulers = [Scheduler(self.rt, holder=h, clock=self.clock) for h in holders]
        self.loops = [asyncio.create_task(s.run(stop)) for s in schedulers]
        try:
            await self.settle()
            yield schedulers
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*self.loops), GUARD)
            self.loops = []

    # the store -------------------------------------------------------------------------------

    def firings(self, name: str) -> list[tuple[datetime, str, int | None]]:
        """(due, state, job) of a schedule's firings, oldest first."""
        with self.rt.db.session() as s:
            sid = s.scalar(select(Schedule.id).where(Schedule.name == name))
            query = select(ScheduleFiring).where(ScheduleFiring.schedule_id == sid)
            rows = s.scalars(query.order_by(ScheduleFiring.due_at))
            return [(f.due_at, f.state.value, f.job_id) for f in rows]

    def states(self, name: str) -> list[str]:
        return [state for _, state, _ in self.firings(name)]

    def jobs(self) -> list[Job]:
        with self.rt.db.session() as s:
            return list(s.scalars(select(Job).order_by(Job.id)))

    def finish_jobs(self, state: JobState = JobState.SUCCEEDED) -> None:
        """Every active job ends now (a test's stand-in for a worker finishing them)."""
        now = self.clock.now()
        with self.rt.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.state.in_([JobState.QUEUED, JobState.RUNNING]))
                .values(state=state, finished_at=now)
            )

    def start_jobs(self) -> None:
        """Every queued job is running now (as if a worker claimed it)."""
        with self.rt.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.state == JobState.QUEUED)
                .values(state=JobState.RUNNING, started_at=self.clock.now())
            )


def write_plans(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in PLANS.items():
        (directory / name).write_text(textwrap.dedent(text))


def make_world(tmp_path: Path, start: datetime = START, url: str | None = None) -> Iterator[World]:
    """A world on a fresh database (demo inventory; at ``url`` when given) with the test plans
    enabled."""
    write_plans(tmp_path / "plans")
    fixed = FixedClock(start)
    rt = make_runtime(tmp_path, clock=fixed, url=url)
    for key in ("tick.Tick", "conf.Conf", "secret.Secretive", "gated.Gated"):
        rt.plans.set_enabled(key, True)
    try:
        yield World(rt, ManualClock(start), fixed)
    finally:
        rt.close()

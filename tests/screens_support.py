"""What every console test needs: a fixed terminal size, the example plans, and ways to let the
app catch up (all its workers done; or a condition shown) without sleeping a guessed time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable
from textual.worker import WorkerCancelled, WorkerFailed

from otter_tui.runtime import Runtime
from screens.app import OtterApp
from tests.fixtures_core import FixedClock, make_runtime

PLANS_DIR = Path(__file__).resolve().parent.parent / "plans"
DEPLOY = "demo_deploy.DemoDeploy"
SIZE = (160, 50)


def deploy_runtime(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime on the fixed clock with the example plans and the demo deploy enabled (the
    ``runtime`` fixture of most console tests)."""
    rt = make_runtime(
        tmp_path, clock=FixedClock(), sections={"paths": {"plans_dir": str(PLANS_DIR)}}
    )
    rt.plans.set_enabled(DEPLOY, True)
    yield rt
    rt.close()


async def settle(pilot: Pilot[None]) -> None:
    """Let every worker (but the never-ending event bridge) finish, and what follows be handled."""
    for _ in range(4):
        for worker in [w for w in pilot.app.workers if w.group != "core-events"]:
            with suppress(WorkerCancelled, WorkerFailed):
                await worker.wait()
        await pilot.pause()


async def until(pilot: Pilot[None], shown: Callable[[], bool], seconds: float = 10) -> None:
    """Let the app run until ``shown()`` holds (some panes read on a short tick)."""
    for _ in range(int(seconds / 0.05)):
        if shown():
            return
        await pilot.pause(0.05)
    assert shown()


def rows(app: OtterApp, table_id: str) -> list[list[str]]:
    """The cells of a table on the current screen, as text."""
    table: DataTable[object] = app.screen.query_one(table_id, DataTable)
    return [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]


SLOW_PLAN = '''
from otter_tui.plan import Command, OrchestrationPlan, RunContext


class Slow(OrchestrationPlan):
    """Runs until stopped."""

    name = "Slow"

    async def run(self, ctx: RunContext) -> None:
        await ctx.shell(Command.argv("sleep", "60"))
'''


def slow_runtime(tmp_path: Path, **jobs: object) -> Runtime:
    """A runtime whose plan ``slow.Slow`` (enabled) runs until stopped; ``jobs``: [jobs]."""
    plans = tmp_path / "slowplans"
    plans.mkdir()
    (plans / "slow.py").write_text(SLOW_PLAN)
    sections: dict[str, dict[str, Any]] = {
        "paths": {"plans_dir": str(plans)},
        "engine": {"cancel_grace_seconds": 1},
        **({"jobs": dict(jobs)} if jobs else {}),
    }
    rt = make_runtime(tmp_path, clock=FixedClock(), sections=sections)
    rt.plans.set_enabled("slow.Slow", True)
    return rt

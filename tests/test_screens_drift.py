"""The drift section and the Servers drift column driven with Pilot: both show the drift stored by
a check run outside the console; the items and diff of a server; checks and remediations for the
marked servers or a role, remediation only after a question."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import DataTable, Static

from otter_tui.runtime import Runtime
from otter_tui.store.models import Job
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.drift import DriftScreen
from screens.job_detail import JobDetailScreen
from screens.modals import ConfirmModal
from tests.engine_support import run_now
from tests.fixtures_core import make_runtime
from tests.screens_support import PLANS_DIR, SIZE, rows, settle

CONFIG = "demo_config.DemoConfig"


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The demo inventory (local servers in a sandbox), checked once outside any console."""
    rt = make_runtime(tmp_path, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    rt.plans.set_enabled(CONFIG, True)
    job = rt.jobs.create_drift(TargetSpec(), remediate=False, simulation=False)
    assert run_now(rt, job.id) == "succeeded"
    yield rt
    rt.close()


def newest_job(runtime: Runtime) -> Job:
    with runtime.db.session() as s:
        job = s.scalars(select(Job).order_by(Job.id.desc())).first()
        assert job is not None
        return job


@pytest.mark.parametrize("size", [(80, 24), SIZE])
async def test_stored_drift_shows_per_server_group_and_item_with_its_diff(
    runtime: Runtime, size: tuple[int, int]
) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        servers = {row[0]: row[-1] for row in rows(app, "#servers")}
        assert servers == {"demo-db1": "drifted", "demo-web1": "drifted", "demo-web2": "drifted"}
        await app.run_action("section('drift')")
        await settle(pilot)
        assert isinstance(app.screen, DriftScreen)
        table = rows(app, "#drift-servers")
        assert [(r[1], r[2]) for r in table] == [
            ("demo-db1", "drifted"),
            ("demo-web1", "drifted"),
            ("demo-web2", "drifted"),
        ]
        assert ["role", "web", "drifted"] in rows(app, "#drift-groups")
        items = rows(app, "#drift-items")
        expected = runtime.drift.items("demo-db1")
        assert [r[2] for r in items] == [i.item for i in expected]
        diff = str(app.screen.query_one("#drift-diff", Static).render())
        assert expected[0].diff.splitlines()[0] in diff
        await pilot.press("down")
        await settle(pilot)
        assert [r[2] for r in rows(app, "#drift-items")] == [
            i.item for i in runtime.drift.items("demo-web1")
        ]


async def test_check_marked_servers_and_remediate_a_role_after_a_question(
    runtime: Runtime,
) -> None:
    app = OtterApp(runtime)  # no runner: the jobs stay queued where the test can see them
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await app.run_action("section('drift')")
        await settle(pilot)
        await pilot.press("space", "down", "down", "space")
        assert [r[0] for r in rows(app, "#drift-servers")] == ["*", " ", "*"]
        await pilot.press("c")
        await settle(pilot)
        check = newest_job(runtime)
        assert (check.plan_name, check.simulation) == ("drift check", False)
        assert TargetSpec.from_dict(check.targets).servers == ("demo-db1", "demo-web2")
        assert [r[0] for r in rows(app, "#drift-servers")] == [" ", " ", " "]
        app.screen.query_one("#drift-groups").focus()
        await pilot.press("r")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(pilot)
        assert newest_job(runtime).id == check.id
        await pilot.press("r", "y")
        await settle(pilot)
        fix = newest_job(runtime)
        assert fix.plan_name == "drift remediation" and not fix.simulation
        assert TargetSpec.from_dict(fix.targets).roles == ("db",)
        await pilot.press("s")
        await settle(pilot)
        simulated = newest_job(runtime)
        assert simulated.plan_name == "drift remediation" and simulated.simulation


async def test_a_check_job_counts_drifted_items_not_changes(runtime: Runtime) -> None:
    """A drift check changes nothing: its server runs' count is of drifted items."""
    check = newest_job(runtime)
    assert check.mode == "check"
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        app.open_job(check.id)
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        table = app.screen.query_one("#runs", DataTable)
        labels = [str(column.label) for column in table.columns.values()]
        assert labels[2] == "drifted" and "changed" not in labels
        counts = [row[2] for row in rows(app, "#runs")[1:]]
        assert len(counts) == 3 and all(int(count) > 0 for count in counts)  # all drifted

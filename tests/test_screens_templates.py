"""The templates section driven with Pilot: the list, running a template through the job form,
removing one after a question."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from textual.widgets import DataTable

from otter_tui.runtime import Runtime
from otter_tui.services.templates import TemplateFields
from otter_tui.store.models import Job
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.modals import ConfirmModal, FormModal
from screens.templates import TemplatesScreen
from tests.fixtures_core import FixedClock, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, SIZE, settle


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    """The demo inventory and example plans; a template deploying 1.2.3 to the demo role."""
    rt = make_runtime(
        tmp_path, clock=FixedClock(), sections={"paths": {"plans_dir": str(PLANS_DIR)}}
    )
    rt.plans.set_enabled(DEPLOY, True)
    fields = TemplateFields(
        plan=DEPLOY, targets=TargetSpec(roles=("demo",)), variables={"version": "1.2.3"}
    )
    rt.templates.add("deploy-demo", fields)
    yield rt
    rt.close()


def rows(app: OtterApp) -> list[list[str]]:
    table: DataTable[object] = app.screen.query_one("#templates", DataTable)
    return [[str(c) for c in table.get_row_at(r)] for r in range(table.row_count)]


def jobs(runtime: Runtime) -> list[Job]:
    with runtime.db.session() as s:
        return list(s.scalars(select(Job).order_by(Job.id)))


async def test_key_5_lists_templates_and_enter_runs_one_through_the_form(
    runtime: Runtime,
) -> None:
    app = OtterApp(runtime)  # no runner: the job stays queued where the test can see it
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press("5")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        assert app.title == "otter-tui · Templates"
        assert rows(app)[0][:5] == [
            "deploy-demo",
            "Demo deploy",
            "roles demo",
            "version=1.2.3",
            "no",
        ]
        await pilot.press("enter")
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.form_title == "Run template deploy-demo: Demo deploy"
        assert form.values()["roles"] == "demo" and form.values()["var-version"] == "1.2.3"
        form.query_one("#field-var-version").value = "1.2.4"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        job = jobs(runtime)[-1]
        assert f"job {job.id} (Demo deploy) queued" in [str(n.message) for n in app._notifications]
    assert job.template_id == runtime.templates.show("deploy-demo").id
    assert job.variables == {"version": "1.2.4", "workers": 2}
    assert TargetSpec.from_dict(job.targets).roles == ("demo",)
    assert job.requested_by == "alice"


async def test_x_removes_a_template_after_asking(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("x")
        await settle(pilot)
        assert isinstance(app.screen, ConfirmModal)
        await pilot.press("n")
        await settle(pilot)
        assert len(rows(app)) == 1
        await pilot.press("x")
        await settle(pilot)
        await pilot.press("y")
        await settle(pilot)
        assert rows(app) == []
    assert runtime.templates.list_templates() == []


async def test_add_edit_and_issue_a_trigger_key_from_the_section(runtime: Runtime) -> None:
    app = OtterApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("5")
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        await pilot.press("enter")  # the first runnable plan: Demo deploy
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal) and form.form_title == "New template: Demo deploy"
        values = {"name": "nightly-web", "description": "web tier", "roles": "web"}
        for name, value in {**values, "var-version": "2.0"}.items():
            form.query_one(f"#field-{name}").value = value  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        assert isinstance(app.screen, TemplatesScreen)
        added = runtime.templates.show("nightly-web")
        assert (added.description, added.targets.roles) == ("web tier", ("web",))
        assert added.variables["version"] == "2.0"
        await pilot.press("e")  # the cursor is on deploy-demo (first by name)
        await settle(pilot)
        form = app.screen
        assert isinstance(form, FormModal)
        assert form.form_title == "Edit template deploy-demo: Demo deploy"
        form.query_one("#field-var-version").value = "1.2.9"  # type: ignore[attr-defined]
        await pilot.click("#form-submit")
        await settle(pilot)
        assert runtime.templates.show("deploy-demo").variables["version"] == "1.2.9"
        await pilot.press("k", "y")
        await settle(pilot)
        shown = app.screen
        assert isinstance(shown, ConfirmModal) and "shown this once" in shown.question
    assert runtime.templates.show("deploy-demo").has_trigger_key

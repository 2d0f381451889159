"""The console and security: a warning when the database file is readable by every local user,
and the Audit section (key 8): filters, and an edit's before and after."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from otter_tui.engine.targets import prepare_job
from otter_tui.services.claims import ClaimService
from screens.audit import AuditScreen
from screens.job_detail import JobDetailScreen
from tests.fixtures_core import db_file, make_runtime
from tests.screens_support import DEPLOY, PLANS_DIR, SIZE, rows, settle, until
from tests.test_screens_jobs import console, deploy, notices, open_section, store_lines


async def test_the_console_warns_when_the_database_is_world_readable(tmp_path: Path) -> None:
    make_runtime(tmp_path).close()
    db_file(tmp_path).chmod(0o644)
    runtime = make_runtime(tmp_path)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert any("is readable by every user on this machine" in n for n in notices(app))
    runtime.close()


async def test_a_private_database_gets_no_warning(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await settle(pilot)
        assert not any("readable by every user" in n for n in notices(app))
    runtime.close()


# the Audit section -------------------------------------------------------------------------------


async def test_audit_section_filters_and_shows_before_and_after(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path)
    runtime.users.add("bob", permissions=("inventory.edit",))
    bob = replace(runtime, ctx=runtime.ctx.as_user("bob"))
    bob.variables.set("server", "demo-db1", "workers", "9")
    bob.variables.set("server", "demo-db1", "workers", "10")
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "8")
        assert isinstance(app.screen, AuditScreen)
        assert len(rows(app, "#audit")) == len(runtime.audit.list())
        await pilot.click("#audit-actor")
        await pilot.press(*"bob", "enter")
        await settle(pilot)
        shown = rows(app, "#audit")
        assert [r[2:] for r in shown] == [
            ["bob", "variable.set", "server demo-db1:workers"],
            ["bob", "variable.set", "server demo-db1:workers"],
        ]
        detail = str(app.screen.query_one("#audit-detail", Static).visual)
        assert "value\n  before: 9\n  after:  10" in detail
        await pilot.click("#audit-kind")
        await pilot.press(*"role", "enter")
        await settle(pilot)
        assert rows(app, "#audit") == []
    runtime.close()


async def test_audit_section_a_bad_since_is_one_line(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await open_section(pilot, "8")
        await pilot.click("#audit-since")
        await pilot.press(*"soon", "enter")
        await settle(pilot)
        assert (
            "--since takes a span (30m, 2h, 7d) or an ISO time with a zone, got 'soon'"
            in notices(app)
        )
    runtime.close()


# remote text in the console ----------------------------------------------------------------------


async def test_a_hostile_log_line_is_shown_escaped_in_the_job_log(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    runtime.plans.set_enabled(DEPLOY, True)
    job = deploy(runtime)
    ClaimService(runtime.ctx, "elsewhere").claim(job.id)
    prepare_job(runtime.ctx.db, job.id, {})
    hostile = "\x1b[2J\x1b[H\x1b]0;pwned\x07gone\r"
    store_lines(runtime, job, None, [hostile])
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        await until(pilot, lambda: len(detail.pane.lines) == 1)
        assert detail.pane.lines[0].endswith("\\x1b[2J\\x1b[H\\x1b]0;pwned\\x07gone\\r")
    assert runtime.jobs.logs(job.id)[0].text == hostile  # stored as the server sent it
    runtime.close()


async def test_the_job_detail_shows_who_denied_it_and_why(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, sections={"paths": {"plans_dir": str(PLANS_DIR)}})
    runtime.plans.set_enabled(DEPLOY, True)
    runtime.plans.override(DEPLOY, "approval_required", "true")
    runtime.users.add("bob", permissions=("jobs.run",))
    job = deploy(replace(runtime, ctx=runtime.ctx.as_user("bob")))
    runtime.approvals.deny(job.id, "not during the freeze")
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        await pilot.press("enter")
        await settle(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        fields = str(app.screen.query_one("#job-fields", Static).visual)
        assert "denied    by alice at " in fields
        assert fields.count("not during the freeze") == 2  # the decision and the job's error
    runtime.close()

"""The console and security: a warning when the database file is readable by every local user,
and the Audit section (key 8): filters, and an edit's before and after."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.widgets import Static

from screens.audit import AuditScreen
from tests.fixtures_core import db_file, make_runtime
from tests.screens_support import SIZE, rows, settle
from tests.test_screens_jobs import console, notices, open_section


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

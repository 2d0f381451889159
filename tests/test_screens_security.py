"""The console and security: it warns when its database file is readable by every local user."""

from __future__ import annotations

from pathlib import Path

from tests.fixtures_core import db_file, make_runtime
from tests.screens_support import SIZE, settle
from tests.test_screens_jobs import console, notices


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

"""The console's log, ``<data_dir>/console.log``: an unexpected error in a screen keeps its
traceback there (the screen says one line), otter-tui's own records are written from ``info``
up, other libraries' only from ``warning``; a file that cannot be written is one warning and the
console goes on; closing puts logging back as it was."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

import pytest

from otter_tui.log_file import NAME, LogFile, open_log_file
from otter_tui.runtime import Runtime
from otter_tui.services.schedules import ScheduleService
from tests.screens_support import SIZE, deploy_runtime, settle, until
from tests.test_screens_jobs import console, notices

AT = datetime(2031, 6, 15, 12, 0, tzinfo=UTC)


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def file_handlers() -> list[logging.Handler]:
    return [h for h in logging.getLogger().handlers if isinstance(h, RotatingFileHandler)]


def test_records_are_one_logfmt_line_each_with_the_traceback_kept(tmp_path: Path) -> None:
    level = logging.getLogger("otter_tui").level
    opened = open_log_file(tmp_path / "data", lambda: AT)
    assert isinstance(opened, LogFile)
    try:
        logging.getLogger("otter_tui.engine.worker").info("job=%s state=running", 7)
        logging.getLogger("sqlalchemy.engine").info("SELECT chatter")  # not ours, not a warning
        logging.getLogger("asyncssh").warning("host went away")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            logging.getLogger("screens.background").exception("worker 'load' failed")
    finally:
        opened.close()
    lines = (tmp_path / "data" / NAME).read_text().splitlines()
    assert (
        lines[0]
        == "2031-06-15T12:00:00.000Z level=info event=log logger=engine.worker job=7 state=running"
    )
    assert lines[1].endswith('logger=asyncssh msg="host went away"')
    assert len(lines) == 3
    assert 'logger=screens.background msg="worker \'load\' failed" exc="Traceback' in lines[2]
    assert lines[2].endswith('RuntimeError: boom"')
    assert logging.getLogger("otter_tui").level == level
    assert file_handlers() == []


def test_a_log_that_cannot_be_written_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "data" / NAME).mkdir(parents=True)
    problem = open_log_file(tmp_path / "data", lambda: AT)
    assert isinstance(problem, str)
    assert problem.startswith(f"no console log: cannot write {tmp_path / 'data' / NAME} (")
    assert file_handlers() == []


async def test_an_unexpected_error_in_a_section_keeps_its_traceback_in_the_log(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: object) -> tuple[int, int]:
        raise RuntimeError("schedules table on fire")

    monkeypatch.setattr(ScheduleService, "count", broken)  # a bug, as far as the screen knows
    log = runtime.settings.data_dir / NAME
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("6")
        await settle(pilot)
        said = "unexpected error: RuntimeError: schedules table on fire"
        await until(pilot, lambda: any(said in n for n in notices(app)) or said in screen_text(app))
    assert file_handlers() == []
    text = log.read_text()
    failed = [line for line in text.splitlines() if "level=error" in line]
    assert len(failed) == 1
    assert "logger=screens.background" in failed[0]
    assert 'exc="Traceback (most recent call last):\\n' in failed[0]
    assert failed[0].endswith('RuntimeError: schedules table on fire"')


async def test_a_console_whose_log_cannot_be_written_says_so_and_goes_on(
    runtime: Runtime,
) -> None:
    (runtime.settings.data_dir / NAME).mkdir()
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert any(n.startswith("no console log: cannot write") for n in notices(app))
        await pilot.press("2")
        await settle(pilot)
        assert app.current_mode == "jobs"
    assert file_handlers() == []


def screen_text(app: object) -> str:
    """Every label on the current screen, as text (where a section says a failure)."""
    from textual.widgets import Label

    screen = app.screen  # type: ignore[attr-defined]
    return " ".join(str(label.render()) for label in screen.query(Label))

"""The ``otter-tui`` entry: a bare console invocation opens the console without Click; every
other form is the command line's, unchanged."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.entry import console_config
from tests.fixtures_core import ACTOR, write_config


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], (True, None)),
        (["--config", "team.toml"], (True, "team.toml")),
        (["--config=team.toml"], (True, "team.toml")),
        (["--config"], (False, None)),  # Click says what is missing
        (["--config="], (False, None)),
        (["--config", "--help"], (False, None)),
        (["--help"], (False, None)),
        (["--version"], (False, None)),
        (["jobs", "list"], (False, None)),
        (["--config", "team.toml", "jobs", "list"], (False, None)),
    ],
)
def test_only_the_bare_console_forms_skip_the_command_line(
    argv: list[str], expected: tuple[bool, str | None]
) -> None:
    assert console_config(argv) == expected


def open_console(config: Path) -> subprocess.CompletedProcess[str]:
    """``otter-tui --config CONFIG`` as a process with no keyboard: it opens the console (the
    frame goes to stderr, stdout being a pipe) unless opening fails."""
    return subprocess.run(
        [sys.executable, "-m", "otter_tui", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TERM": "xterm-256color"},
        check=False,
    )


def test_a_malformed_config_ends_the_console_with_one_line_and_exit_code_2(
    tmp_path: Path,
) -> None:
    bad = tmp_path / "config.toml"
    bad.write_text("paths = [\n")
    done = open_console(bad)
    assert done.returncode == 2
    # the app's frame went to the terminal first (Textual draws on stderr when stdout is a pipe)
    last = done.stderr.splitlines()[-1]
    assert last.endswith(
        f"otter-tui: error: {bad}: not valid TOML: Invalid value (at end of document)"
    )
    assert "Traceback" not in done.stderr + done.stdout


def test_a_database_another_process_keeps_locked_ends_the_console_with_one_line(
    tmp_path: Path,
) -> None:
    """Opening syncs the plan records (a write): past the busy timeout it printed SQLAlchemy's
    traceback."""
    config = write_config(tmp_path, {"database": {"busy_timeout_ms": 50}})
    assert run(["--config", str(config), "servers", "list"], actor=ACTOR) == 0  # the database
    holder = sqlite3.connect(tmp_path / "data" / "otter.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        done = open_console(config)
    finally:
        holder.close()
    assert done.returncode == 1
    assert done.stderr.splitlines()[-1].endswith(
        "otter-tui: error: the database is busy (another process is writing to it): nothing "
        "saved, try again"
    )
    assert "Traceback" not in done.stderr + done.stdout

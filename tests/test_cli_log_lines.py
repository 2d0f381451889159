"""What the engine and libraries log under a command reaches stderr as one line each, and a
database busy with another process's write is one line too.

A command has no log handler of its own; before, such records went through Python's last resort:
bare messages, and SQLAlchemy's pool traceback when a PostgreSQL restart dropped a connection
under the command. The installed command's entry now makes :mod:`otter_tui.log_lines` that last
resort; these run it in a real process, as a user meets it.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from otter_tui.cli import run
from tests.fixtures_core import ACTOR, write_config

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import logging, sys
    import psycopg
    import sqlalchemy  # a command that opened its database has it loaded
    from otter_tui import cli

    try:
        cli.main(["--version"])  # the installed command's entry, as `otter-tui --version`
    except SystemExit:
        pass
    logging.getLogger("otter_tui.engine.dbthread").warning(
        "database busy; retrying %s in %.1fs", "_store_runs", 0.2
    )
    pool = logging.getLogger("sqlalchemy.pool.impl.QueuePool")
    try:
        raise psycopg.OperationalError("server closed the connection unexpectedly\\nmore")
    except psycopg.OperationalError:
        pool.error("Exception during reset or similar", exc_info=True)
    logging.getLogger("asyncssh").info("connection opened: not for a person at a shell")
    try:
        raise ValueError("bad value\\nsecond line")
    except ValueError:
        logging.getLogger("some.library").error("callback failed", exc_info=True)
    try:
        raise psycopg.OperationalError("connection refused")
    except psycopg.OperationalError:
        logging.getLogger("otter_tui.engine.leases").exception("worker w1: lease renewal failed")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("otter_tui.engine.runner").exception("job %s: engine error", 7)
    """
)


def run_script() -> tuple[str, str]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_log_records_under_a_command_are_one_line_each_on_stderr() -> None:
    stdout, stderr = run_script()
    assert stdout.startswith("otter-tui, version")  # --version ran
    lines = stderr.splitlines()
    assert lines[:4] == [
        "otter-tui: warning: database busy; retrying _store_runs in 0.2s",
        "otter-tui: warning: a broken database connection was discarded "
        "(server closed the connection unexpectedly)",
        "otter-tui: error: callback failed (ValueError: bad value)",
        "otter-tui: error: worker w1: lease renewal failed (OperationalError: connection refused)",
    ]
    assert "connection opened" not in stderr


def test_otter_tuis_own_errors_keep_their_traceback_for_the_bug_report() -> None:
    """A database going away is no bug (above); anything else otter-tui logs with an exception
    is, and a bug report needs the traceback."""
    _, stderr = run_script()
    ours = stderr.split("otter-tui: error: job 7: engine error (RuntimeError: boom)\n", 1)[1]
    assert ours.startswith("Traceback (most recent call last):")
    assert ours.rstrip().endswith("RuntimeError: boom")


def test_a_database_another_process_keeps_locked_is_one_line_and_nothing_added(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """It printed SQLAlchemy's traceback (the SQL, a web address) and exit 1."""
    config = write_config(tmp_path, {"database": {"busy_timeout_ms": 50}})
    assert run(["--config", str(config), "servers", "list"], actor=ACTOR) == 0
    holder = sqlite3.connect(tmp_path / "data" / "otter.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    capsys.readouterr()
    try:
        code = run(["--config", str(config), "servers", "add", "web9", "--host", "10.0.0.9"])
    finally:
        holder.close()
    assert (code, capsys.readouterr().err) == (
        1,
        "otter-tui: error: the database is busy (another process is writing to it): nothing "
        "saved, try again\n",
    )
    assert run(["--config", str(config), "servers", "list"], actor=ACTOR) == 0
    assert "web9" not in capsys.readouterr().out

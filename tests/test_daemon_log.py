"""The daemon's log lines: one per event, ``key=value``, quoted only when needed, UTC times."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import psycopg
import pytest

from otter_tui.logfmt import emit, line, quote, setup_logging, teardown_logging
from tests.fixtures_core import FixedClock

AT = datetime(2026, 11, 30, 12, 0, 0, 250_000, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (42, "42"),
        ("deploy.Deploy", "deploy.Deploy"),
        ("host:123", "host:123"),
        ("", '""'),
        (None, '""'),
        (True, "true"),
        (("a", "b"), "a,b"),
        ("two words", '"two words"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a=b", '"a=b"'),
        ("line one\nline two", '"line one\\nline two"'),
        ("back\\slash x", '"back\\\\slash x"'),
    ],
)
def test_values_are_bare_or_quoted_and_escaped(value: object, written: str) -> None:
    assert quote(value) == written


def test_a_line_has_utc_time_level_event_then_fields_in_order() -> None:
    berlin = AT.astimezone(timezone(timedelta(hours=1)))
    assert line(berlin, "info", "job.claimed", {"job": 42, "queue": "default"}) == (
        "2026-11-30T12:00:00.250Z level=info event=job.claimed job=42 queue=default"
    )


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = setup_logging(stream, FixedClock(AT), "info")
    yield stream
    teardown_logging(handler)


def test_an_event_is_one_line(captured: io.StringIO) -> None:
    emit("job.finished", logging.WARNING, job=7, state="interrupted", error="worker stopped\nlate")
    assert captured.getvalue() == (
        "2026-11-30T12:00:00.250Z level=warning event=job.finished job=7 state=interrupted "
        'error="worker stopped\\nlate"\n'
    )


def test_other_core_loggers_become_log_events(captured: io.StringIO) -> None:
    worker = logging.getLogger("otter_tui.engine.worker")
    worker.info("job=%s state=%s", 3, "running")
    worker.warning("could not renew: %s", "database is locked")
    logging.getLogger("otter_tui.engine").debug("below the level: not written")
    assert captured.getvalue().splitlines() == [
        "2026-11-30T12:00:00.250Z level=info event=log logger=engine.worker job=3 state=running",
        "2026-11-30T12:00:00.250Z level=warning event=log logger=engine.worker "
        'msg="could not renew: database is locked"',
    ]


def test_a_traceback_stays_on_the_events_line(captured: io.StringIO) -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        emit("daemon.crashed", logging.CRITICAL, exc_info=True, error="boom")
    out = captured.getvalue()
    assert out.count("\n") == 1
    assert out.startswith("2026-11-30T12:00:00.250Z level=critical event=daemon.crashed error=boom")
    assert 'exc="Traceback (most recent call last):\\n' in out
    assert "RuntimeError: boom" in out


def test_other_libraries_warnings_are_log_events_too(captured: io.StringIO) -> None:
    logging.getLogger("asyncssh").info("below warning: not written")
    logging.getLogger("asyncssh").warning("host key for %s changed", "web1")
    assert captured.getvalue().splitlines() == [
        "2026-11-30T12:00:00.250Z level=warning event=log logger=asyncssh "
        'msg="host key for web1 changed"',
    ]


def test_a_connection_the_database_dropped_is_one_warning_without_a_traceback(
    captured: io.StringIO,
) -> None:
    """What SQLAlchemy's pool logs when it cannot roll back a connection PostgreSQL closed (a
    restart): the outage is already in the log, the pool discards the connection."""
    pool = logging.getLogger("sqlalchemy.pool.impl.QueuePool")
    try:
        raise psycopg.OperationalError("sending query failed: cannot exit pipeline mode while busy")
    except psycopg.OperationalError:
        pool.error("Exception during reset or similar", exc_info=True)
    try:
        raise ValueError("a bug in a pool event")
    except ValueError:
        pool.error("Exception during reset or similar", exc_info=True)
    [dropped, bug] = captured.getvalue().splitlines()
    assert dropped == (
        "2026-11-30T12:00:00.250Z level=warning event=log logger=sqlalchemy.pool.impl.QueuePool "
        'msg="a broken database connection was discarded (sending query failed: cannot exit '
        'pipeline mode while busy)"'
    )
    assert "level=error" in bug and "Traceback" in bug and "ValueError" in bug

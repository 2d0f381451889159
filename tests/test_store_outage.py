"""When an outage is over: only a connection opened after the loss proves the server is back.

A PostgreSQL fast shutdown ends its sessions one by one; a statement on a session not yet ended
succeeds a moment after another failed. Taking that for "back" logged one restart as two
outages (seen in CI on tests/test_postgres_restart.py).
"""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from otter_tui.store.db import open_database
from otter_tui.store.outage import OUTAGE, Outage

CUT = ConnectionError("server closed the connection unexpectedly")


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage().split(" (")[0].split(" after")[0] for r in caplog.records]


def test_a_call_on_an_old_connection_does_not_end_the_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage()
    outage.connected()
    with caplog.at_level(logging.WARNING, "otter_tui.store.outage"):
        outage.lost(CUT)
        outage.back()  # a session the shutdown has not ended yet
        outage.lost(CUT)  # the same outage: not said again
        assert outage.since is not None
        outage.connected()
        outage.back()
        outage.back()
    assert lines(caplog) == ["database connection lost", "database reachable again"]
    assert (outage.outages, outage.since) == (1, None)


def test_a_new_outage_after_the_last_one_ended_is_said_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage()
    with caplog.at_level(logging.WARNING, "otter_tui.store.outage"):
        for _ in range(2):
            outage.lost(CUT)
            outage.connected()
            outage.back()
    assert lines(caplog) == ["database connection lost", "database reachable again"] * 2
    assert outage.outages == 2


def test_every_new_postgresql_connection_is_reported(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        before = OUTAGE.connected_at
        db.engine.dispose()  # the next statement needs a new connection
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert OUTAGE.connected_at > before
        hot_before = OUTAGE.connected_at
        with db.hot_engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert OUTAGE.connected_at > hot_before
    finally:
        db.dispose()

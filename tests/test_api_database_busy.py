"""The API while another process keeps the SQLite database locked past the busy timeout (a real
uvicorn, a real lock): ``503`` with one line and ``Retry-After``, no job, no traceback in the log;
the same call succeeds once the lock is gone."""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from otter_tui.logfmt import setup_logging, teardown_logging
from otter_tui.runtime import Runtime
from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.templates import TemplateFields
from otter_tui.store.models import Job
from tests.api_support import api_runtime, serving
from tests.fixtures_core import db_file

TRIGGER = "/api/jobs/trigger?template=greet&who=world"
BUSY = "the database is busy (another process is writing to it): nothing saved, try again"


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = api_runtime(tmp_path, sections={"database": {"busy_timeout_ms": 50}})
    runtime.templates.add("greet", TemplateFields(plan="api_plans.Greet"))
    yield runtime
    runtime.close()


def test_a_trigger_on_a_locked_database_is_503_with_one_line_then_works(
    rt: Runtime, tmp_path: Path
) -> None:
    token = ApiKeyService(rt.ctx.as_user("bob")).add("ci", "trigger")[1]
    log = io.StringIO()
    handler = setup_logging(log, rt.ctx.clock)
    try:
        with serving(rt) as url, httpx.Client(base_url=url, timeout=20) as http:
            holder = sqlite3.connect(db_file(tmp_path), isolation_level=None)
            holder.execute("BEGIN EXCLUSIVE")
            try:
                busy = http.post(TRIGGER, headers={"X-ApiKey": token})
                v1 = http.get("/v1/jobs", headers={"X-ApiKey": token})
            finally:
                holder.close()
            again = http.post(TRIGGER, headers={"X-ApiKey": token})
    finally:
        teardown_logging(handler)
    assert (busy.status_code, busy.text, busy.headers["retry-after"]) == (503, BUSY + "\n", "1")
    assert v1.status_code in (200, 503)  # a read may pass under SQLite's WAL; never a 500
    assert again.status_code == 200, again.text
    with rt.db.session() as s:  # the busy trigger made no job
        assert list(s.scalars(select(Job.id))) == [int(again.text.strip())]
    assert "level=warning event=api.unavailable" in log.getvalue()
    assert "Traceback" not in log.getvalue()

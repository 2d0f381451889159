"""Job lists filtered by state, plan, user and text, and text search in a stored log, a page at
a time, on a real SQLite file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import insert

from otter_tui.errors import UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.job_search import JobFilter, parse_filter
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import Job, JobState, LogEntry, RunState, ServerRun
from otter_tui.targeting import TargetSpec
from tests.screens_support import DEPLOY, deploy_runtime


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def add_job_with_log(runtime: Runtime, lines: list[tuple[str, str]]) -> tuple[int, dict[str, int]]:
    """A job with a server run per server and ``(server, text)`` log lines; the run ids."""
    job = runtime.jobs.create(JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"}))
    with runtime.db.transaction() as s:
        runs = {}
        for name in sorted({server for server, _ in lines}):
            run = ServerRun(job_id=job.id, server_name=name, state=RunState.SUCCEEDED)
            s.add(run)
            s.flush()
            runs[name] = run.id
        rows = [
            {"job_id": job.id, "server_run_id": runs[server], "seq": seq, "text": text}
            for seq, (server, text) in enumerate(lines, start=1)
        ]
        s.execute(insert(LogEntry), rows)
    return job.id, runs


def test_parse_filter_reads_keys_and_words_and_refuses_an_unknown_state() -> None:
    wanted = parse_filter("state:failed,running plan:deploy user:bob disk full")
    assert wanted == JobFilter(("failed", "running"), "deploy", "bob", "disk full")
    assert parse_filter("").empty
    with pytest.raises(UsageError, match="unknown job state 'broken'"):
        parse_filter("state:broken")


def test_jobs_filtered_by_state_plan_user_and_text_newest_first(runtime: Runtime) -> None:
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"})
    first, second = runtime.jobs.create(request), runtime.jobs.create(request)
    with runtime.db.transaction() as s:
        job = s.get(Job, first.id)
        assert job is not None
        job.state, job.error, job.requested_by = JobState.FAILED, "Disk full on web1", "bob"
    search = runtime.search
    assert [v.id for v in search.jobs(JobFilter())] == [second.id, first.id]
    assert [v.id for v in search.jobs(parse_filter("state:failed"))] == [first.id]
    assert [v.id for v in search.jobs(parse_filter("user:BO"))] == [first.id]
    assert [v.id for v in search.jobs(parse_filter("disk"))] == [first.id]
    assert [v.id for v in search.jobs(parse_filter("plan:demo_deploy"))] == [second.id, first.id]
    assert search.jobs(parse_filter("plan:nothing-like-it")) == []
    assert [v.id for v in search.jobs(JobFilter(), limit=1, before_id=second.id)] == [first.id]


def test_log_search_pages_through_matches_with_a_server_filter(runtime: Runtime) -> None:
    lines = [
        ("web1" if i % 2 else "db1", f"line {i} {'ERROR 50%' if i % 10 == 0 else 'ok'}")
        for i in range(1, 101)
    ]
    job_id, runs = add_job_with_log(runtime, lines)
    search = runtime.search
    page = search.log_matches(job_id, "error 50%", limit=4)
    assert [m.seq for m in page] == [10, 20, 30, 40]
    assert page[0].server == "db1" and page[0].text == "line 10 ERROR 50%"
    assert [m.seq for m in search.log_matches(job_id, "error", after_seq=40)] == [
        50,
        60,
        70,
        80,
        90,
        100,
    ]
    assert search.log_matches(job_id, "error", server_run_id=runs["web1"]) == []
    assert len(search.log_matches(job_id, "ok", server_run_id=runs["web1"], limit=1000)) == 50
    assert search.log_matches(job_id, "_") == []  # wildcards are literal text
    with pytest.raises(UsageError):
        search.log_matches(job_id, "")


def test_log_tail_before_a_line_reads_the_lines_above_it(runtime: Runtime) -> None:
    lines = [("web1" if i % 2 else "db1", f"line {i}") for i in range(1, 11)]
    job_id, runs = add_job_with_log(runtime, lines)
    jobs = runtime.jobs
    assert [line.seq for line in jobs.log_tail(job_id, limit=3)] == [8, 9, 10]
    assert [line.seq for line in jobs.log_tail(job_id, limit=3, before_seq=8)] == [5, 6, 7]
    assert [line.seq for line in jobs.log_tail(job_id, limit=3, before_seq=3)] == [1, 2]
    web1 = jobs.log_tail(job_id, limit=2, before_seq=9, server_run_id=runs["web1"])
    assert [line.seq for line in web1] == [5, 7]

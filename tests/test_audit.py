"""The audit trail, readable and verifiable: filters, before/after of edits, a hash chain that
finds tampering with the file, append-only at the database, and decisions shown on the job."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DatabaseError

from otter_tui.cli import run
from otter_tui.errors import UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.audit import parse_since
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import AuditEvent
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import ACTOR, FixedClock, db_file

PLANS = Path(__file__).resolve().parent.parent / "plans"
DEPLOY = "demo_deploy.DemoDeploy"


class Cli:
    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config, self.capsys = config, capsys

    def __call__(self, *args: str, actor: str = ACTOR) -> tuple[int, str, str]:
        code = run(["--config", str(self.config), *args], actor=actor)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(runtime: Runtime, capsys: pytest.CaptureFixture[str]) -> Cli:
    assert runtime.settings.source is not None
    return Cli(runtime.settings.source, capsys)


def test_filters_by_actor_kind_since_and_job(runtime: Runtime, clock: FixedClock, cli: Cli) -> None:
    runtime.users.add("bob", permissions=("inventory.edit",))
    clock.advance(3600)
    bob = runtime.ctx.as_user("bob")
    replace(runtime, ctx=bob).variables.set("global", None, "motd", "hello")
    runtime.inventory.add_role("cache")

    code, out, _ = cli("audit", "--actor", "bob", "--json")
    assert code == 0
    assert [(e["actor"], e["action"]) for e in json.loads(out)] == [("bob", "variable.set")]
    since = (clock.now - timedelta(minutes=30)).isoformat()
    code, out, _ = cli("audit", "--since", since, "--json")
    assert [e["action"] for e in json.loads(out)] == ["variable.set", "role.add"]
    code, out, _ = cli("audit", "--kind", "role", "--since", since)
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "AT", "ACTOR", "ACTION", "OBJECT", "DETAIL"]
    assert [line.split()[3:7] for line in lines[1:]] == [["alice", "role.add", "role", "cache"]]
    assert cli("audit", "--since", "yesterday")[2] == (
        "otter-tui: error: --since takes a span (30m, 2h, 7d) or an ISO time with a zone, "
        "got 'yesterday'\n"
    )


def test_an_edit_records_before_and_after(runtime: Runtime, cli: Cli) -> None:
    runtime.variables.set("server", "demo-db1", "workers", "9")
    runtime.variables.set("server", "demo-db1", "workers", "10")
    runtime.inventory.update_server("demo-db1", port=2222)
    out = cli("audit", "--kind", "server.update", "--json")[1]
    [event] = json.loads(out)
    assert (event["before"], event["after"]) == ({"port": "22"}, {"port": "2222"})
    out = cli("audit", "--kind", "variable.set")[1]
    assert out.splitlines()[-1].endswith("value: 9 -> 10")


def test_verify_finds_a_changed_a_removed_and_a_reordered_event(runtime: Runtime, cli: Cli) -> None:
    runtime.inventory.add_role("cache")
    runtime.inventory.add_role("queue")
    code, out, _ = cli("audit", "verify")
    assert code == 0 and out.startswith("audit trail intact: ")
    total = int(out.split()[3])
    assert total >= 3

    # Someone with write access to the file: drops the guard, then edits a row.
    conn = sqlite3.connect(db_file(runtime.settings.source.parent))  # type: ignore[union-attr]
    conn.execute("DROP TRIGGER audit_events_no_update")
    conn.execute("DROP TRIGGER audit_events_no_delete")
    conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE object_name = 'cache'")
    conn.commit()
    cache = conn.execute("SELECT id FROM audit_events WHERE object_name = 'cache'").fetchone()[0]
    code, _, err = cli("audit", "verify")
    assert code == 1
    assert err == (
        f"otter-tui: error: audit trail tampered with: event {cache} was changed after it was "
        f"written ({cache - 1} event(s) before it verified)\n"
    )
    conn.execute("UPDATE audit_events SET actor = ? WHERE id = ?", (ACTOR, cache))
    conn.commit()
    assert cli("audit", "verify")[0] == 0

    conn.execute("DELETE FROM audit_events WHERE id = ?", (cache,))
    conn.commit()
    conn.close()
    code, _, err = cli("audit", "verify")
    assert code == 1
    assert f"event {cache + 1} does not follow the event before it" in err


def test_the_database_refuses_to_update_or_delete_an_event(runtime: Runtime) -> None:
    def refused() -> pytest.RaisesExc[DatabaseError]:
        return pytest.raises(DatabaseError, match="audit events are append-only")

    with refused(), runtime.db.transaction() as s:
        s.execute(update(AuditEvent).values(actor="mallory"))
    with refused(), runtime.db.transaction() as s:
        s.execute(delete(AuditEvent))
    with refused(), runtime.db.transaction() as s:
        event = s.get(AuditEvent, 1)
        assert event is not None
        event.detail = {"forged": True}
    with runtime.db.session() as s:
        assert s.scalar(text("SELECT count(*) FROM audit_events WHERE actor = 'mallory'")) == 0
    assert runtime.audit.verify().intact


def test_reading_the_audit_needs_audit_read(runtime: Runtime, cli: Cli) -> None:
    runtime.users.add("bob", permissions=("jobs.run",))
    assert cli("audit", actor="bob")[:3:2] == (
        1,
        "otter-tui: error: user 'bob' lacks permission 'audit.read'\n",
    )


def test_since_takes_a_span_back_from_now_or_a_zoned_time(clock: FixedClock) -> None:
    assert parse_since("30m", clock.now) == clock.now - timedelta(minutes=30)
    assert parse_since("7d", clock.now) == clock.now - timedelta(days=7)
    assert parse_since("2026-01-02T03:04:05+01:00", clock.now).utcoffset() == timedelta(hours=1)
    with pytest.raises(UsageError, match="ISO time with a zone"):
        parse_since("2026-01-02T03:04:05", clock.now)


@pytest.fixture
def deploys(tmp_path: Path, clock: FixedClock) -> Runtime:
    from tests.fixtures_core import make_runtime

    rt = make_runtime(tmp_path, clock=clock, sections={"paths": {"plans_dir": str(PLANS)}})
    rt.plans.set_enabled(DEPLOY, True)
    rt.plans.override(DEPLOY, "approval_required", "true")
    rt.users.add("bob", permissions=("jobs.run",))
    return rt


def test_the_job_shows_its_decisions_and_a_deny_reason(
    deploys: Runtime, clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    bob = replace(deploys, ctx=deploys.ctx.as_user("bob"))
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "2"})
    job = bob.jobs.create(request).id
    clock.advance(60)
    deploys.approvals.deny(job, "not during the freeze")
    cli = Cli(deploys.settings.source, capsys)  # type: ignore[arg-type]
    code, out, _ = cli("jobs", "show", str(job))
    assert code == 0
    assert "denied by alice: not during the freeze" in next(
        line for line in out.splitlines() if line.startswith("error:")
    )
    decided = (clock.now).strftime("%Y-%m-%d %H:%M:%S")
    assert out.splitlines()[-1].split() == ["denied", "alice", *decided.split(), "not", "during",
                                            "the", "freeze"]  # fmt: skip
    shown = json.loads(cli("jobs", "show", str(job), "--json")[1])
    assert shown["approvals"] == [
        {
            "decision": "denied",
            "decided_by": "alice",
            "decided_at": (clock.now).isoformat(),
            "comment": "not during the freeze",
        }
    ]
    code, out, _ = cli("audit", "--job", str(job), "--json")
    assert [e["action"] for e in json.loads(out)] == ["job.create", "job.denied"]
    deploys.close()


def test_the_chain_holds_across_savepoints_and_transactions_of_one_session(
    runtime: Runtime,
) -> None:
    """The chain's tail is read once per transaction and then remembered: a savepoint that rolls
    back takes its events (and what was remembered in it) away, and a later transaction of the
    same session reads the tail again after another writer appended."""
    ctx, db = runtime.ctx, runtime.ctx.db
    with db.transaction() as s:
        ctx.audit(s, "test.one", "thing", "a")
        ctx.audit(s, "test.two", "thing", "a")
        with s.begin_nested() as savepoint:
            ctx.audit(s, "test.dropped", "thing", "b")
            savepoint.rollback()
        ctx.audit(s, "test.three", "thing", "a")
        with s.begin_nested():
            ctx.audit(s, "test.kept", "thing", "c")
        ctx.audit(s, "test.four", "thing", "a")
    with db.session() as mine:
        with mine.begin():
            ctx.audit(mine, "test.five", "thing", "a")
        runtime.inventory.add_role("between")  # another session appends meanwhile
        with mine.begin():
            ctx.audit(mine, "test.six", "thing", "a")
    report = runtime.audit.verify()
    assert report.intact, report.problem
    with db.session() as s:
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.action.like("test.%")))
        assert list(actions) == [
            "test.one", "test.two", "test.three", "test.kept", "test.four", "test.five", "test.six",
        ]  # fmt: skip

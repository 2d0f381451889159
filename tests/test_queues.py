"""Job queues: the CLI and service, and the plan's default and eligible queues enforced when a
job is created (through the same CLI a user types)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.services.queues import QueueService
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import ACTOR, FixedClock, db_file, make_runtime, table_snapshot

PLAN = """
from otter_tui.plan import OrchestrationPlan, RunContext


class Routed(OrchestrationPlan):
    name = "Routed"
    default_queue = "a"
    eligible_queues = ("b",)

    async def run(self, ctx: RunContext) -> None:
        ctx.log("routed")


class Plain(OrchestrationPlan):
    name = "Plain"

    async def run(self, ctx: RunContext) -> None:
        ctx.log("plain")


class Lost(OrchestrationPlan):
    name = "Lost"
    default_queue = "nowhere"

    async def run(self, ctx: RunContext) -> None:
        ctx.log("lost")
"""


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """Demo inventory, queues ``a``, ``b`` and ``c``, and the plans above, enabled."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "routing.py").write_text(PLAN)
    rt = make_runtime(tmp_path)
    for name in ("a", "b", "c"):
        QueueService(rt.ctx).add(name)
    for key in ("routing.Routed", "routing.Plain", "routing.Lost"):
        rt.plans.set_enabled(key, True)
    rt.close()
    return tmp_path / "config.toml"


def cli(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--config", str(config), *args], actor=ACTOR)
    out, err = capsys.readouterr()
    return code, out, err


def rows(tmp_path: Path) -> dict[str, object]:
    """What a queue or job command may change (plan records are refreshed by every start)."""
    tables = table_snapshot(db_file(tmp_path))
    return {name: tables[name] for name in ("job_queues", "jobs", "audit_events")}


def one_line_error(err: str, message: str) -> None:
    assert err.startswith("otter-tui: error: "), err
    assert message in err
    assert err.count("\n") == 1, err


def queues_json(config: Path, capsys: pytest.CaptureFixture[str]) -> list[dict[str, object]]:
    code, out, err = cli(config, capsys, "queues", "list", "--json")
    assert (code, err) == (0, "")
    data = json.loads(out)
    assert isinstance(data, list)
    return data


# the queues command -----------------------------------------------------------------------------


def test_a_fresh_database_lists_the_default_queue(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_runtime(tmp_path).close()
    assert queues_json(tmp_path / "config.toml", capsys) == [
        {"name": "default", "backend": "local", "concurrency": 4, "description": "", "waiting": 0}
    ]


def test_add_set_and_list_a_queue(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(config, capsys, "queues", "add", "nightly", "--concurrency", "2")
    assert (code, out) == (0, "queue nightly added: backend local, concurrency 2\n")
    code, out, _ = cli(config, capsys, "queues", "set", "nightly", "--concurrency", "1")
    assert (code, out) == (0, "queue nightly changed: backend local, concurrency 1\n")
    nightly = [q for q in queues_json(config, capsys) if q["name"] == "nightly"]
    assert nightly == [
        {"name": "nightly", "backend": "local", "concurrency": 1, "description": "", "waiting": 0}
    ]
    code, out, _ = cli(config, capsys, "queues", "list")
    assert out.splitlines()[0].split() == [
        "NAME",
        "BACKEND",
        "CONCURRENCY",
        "WAITING",
        "DESCRIPTION",
    ]
    assert [line.split()[0] for line in out.splitlines()[1:]] == [
        "a",
        "b",
        "c",
        "default",
        "nightly",
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "a"], "job queue 'a' already exists"),
        (["add", "x y"], "invalid queue name 'x y'"),
        (["add", "x", "--backend", "celery"], "unknown queue backend 'celery' (known: local)"),
        (["add", "x", "--concurrency", "0"], "queue concurrency must be 1 or more, got 0"),
        (["set", "zzz", "--concurrency", "2"], "unknown job queue 'zzz'"),
        (["set", "a"], "nothing to change"),
        (["rm", "default"], "the 'default' queue cannot be removed"),
        (["rm", "a"], "job queue 'a' is still used by 1 plan(s)"),
        (["rm", "zzz"], "unknown job queue 'zzz'"),
    ],
)
def test_a_bad_queue_command_is_one_line_exit_2_and_changes_nothing(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = rows(tmp_path)
    code, out, err = cli(config, capsys, "queues", *args)
    assert (code, out) == (2, "")
    one_line_error(err, message)
    assert rows(tmp_path) == before


def test_rm_removes_an_unused_queue_and_refuses_one_with_waiting_jobs(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(config, capsys, "queues", "rm", "c")[:2] == (0, "queue c removed\n")
    assert "c" not in [q["name"] for q in queues_json(config, capsys)]
    cli(config, capsys, "queues", "add", "spare")
    code, _, _ = cli(config, capsys, "plans", "override", "routing.Plain", "default_queue", "spare")
    assert code == 0
    assert cli(config, capsys, "run", "routing.Plain", "--detach")[0] == 0
    cli(config, capsys, "plans", "clear-override", "routing.Plain", "default_queue")
    code, _, err = cli(config, capsys, "queues", "rm", "spare")
    assert code == 2
    one_line_error(err, "job queue 'spare' is still used by 1 unfinished job(s)")
    assert [q["waiting"] for q in queues_json(config, capsys) if q["name"] == "spare"] == [1]


# the plan's queues, enforced at creation --------------------------------------------------------


def job_queue(config: Path, capsys: pytest.CaptureFixture[str], out: str) -> str:
    job_id = out.split()[1]
    code, shown, _ = cli(config, capsys, "jobs", "show", job_id, "--json")
    assert code == 0
    queue = json.loads(shown)["queue"]
    assert isinstance(queue, str)
    return queue


@pytest.mark.parametrize(
    ("plan", "queue", "expected"),
    [
        ("routing.Routed", None, "a"),
        ("routing.Routed", "a", "a"),
        ("routing.Routed", "b", "b"),
        ("routing.Plain", None, "default"),
    ],
)
def test_a_job_waits_in_the_plans_default_or_an_eligible_queue(
    config: Path, capsys: pytest.CaptureFixture[str], plan: str, queue: str | None, expected: str
) -> None:
    args = ["run", plan, "--detach", *(["--queue", queue] if queue else [])]
    code, out, err = cli(config, capsys, *args)
    assert (code, err) == (0, ""), err
    assert out.endswith(": queued\n")
    assert job_queue(config, capsys, out) == expected


@pytest.mark.parametrize(
    ("plan", "queue", "message"),
    [
        ("routing.Routed", "c", "plan 'Routed' may not use queue 'c' (allowed: a, b)"),
        ("routing.Routed", "default", "plan 'Routed' may not use queue 'default' (allowed: a, b)"),
        ("routing.Plain", "a", "plan 'Plain' may not use queue 'a' (allowed: default)"),
        ("routing.Lost", None, "unknown job queue 'nowhere'"),
    ],
)
def test_a_queue_the_plan_may_not_use_is_refused_at_creation(
    config: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    plan: str,
    queue: str | None,
    message: str,
) -> None:
    before = rows(tmp_path)
    args = ["run", plan, "--detach", *(["--queue", queue] if queue else [])]
    code, out, err = cli(config, capsys, *args)
    assert (code, out) == (2, "")
    one_line_error(err, message)
    assert rows(tmp_path) == before


def test_an_eligible_queue_added_by_override_is_allowed(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = cli(
        config, capsys, "plans", "override", "routing.Routed", "eligible_queues", "b,c"
    )
    assert code == 0
    code, out, err = cli(config, capsys, "run", "routing.Routed", "--queue", "c", "--detach")
    assert (code, err) == (0, "")
    assert job_queue(config, capsys, out) == "c"


def test_the_service_refuses_the_same_as_the_cli(tmp_path: Path, clock: FixedClock) -> None:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "routing.py").write_text(PLAN)
    rt: Runtime = make_runtime(tmp_path, clock=clock)
    try:
        QueueService(rt.ctx).add("a")
        rt.plans.set_enabled("routing.Routed", True)
        with pytest.raises(Exception, match="unknown job queue 'b'"):
            rt.jobs.create(JobRequest("routing.Routed", TargetSpec(), queue="b"))
        view = rt.jobs.create(JobRequest("routing.Routed", TargetSpec()))
        assert view.queue == "a"
        assert [q.waiting for q in QueueService(rt.ctx).all() if q.name == "a"] == [1]
    finally:
        rt.close()

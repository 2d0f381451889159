"""Plan records follow their classes by the rules of ARCHITECTURE.md section 3, one test per rule.

Each test edits real plan files in the runtime's plans dir and refreshes with ``plans sync`` (the
service call, or the command), as an operator would.
"""

from __future__ import annotations

import io
import json
import re
import textwrap
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.cli import run
from otter_tui.errors import ConflictError, NotFoundError, UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import Job, PlanKind, PlanRecord, Schedule
from tests.fixtures_core import ACTOR, FIXED_NOW, make_runtime

pytestmark = pytest.mark.both_stores

KEY = "hello.Hello"
REPO_PLANS = Path(__file__).resolve().parent.parent / "plans"


def hello(grouping: str = "Examples", description: str = "Say hello.", soft: int = 10) -> str:
    return textwrap.dedent(
        f'''
        from otter_tui.plan import OrchestrationPlan, RunContext

        class Hello(OrchestrationPlan):
            """{description}"""

            name = "Hello"
            grouping = "{grouping}"
            soft_time_limit = {soft}
            time_limit = 60

            async def run(self, ctx: RunContext) -> None:
                ctx.log("hello")
        '''
    )


def write_plan(rt: Runtime, text: str, name: str = "hello.py") -> Path:
    path = rt.settings.plans_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    """A runtime (no demo inventory) whose plans dir holds ``hello.py``, synced once."""
    runtime = make_runtime(tmp_path, seed=False)
    write_plan(runtime, hello())
    runtime.plans.sync()
    yield runtime
    runtime.close()


def run_now(rt: Runtime) -> None:
    rt.jobs.create(JobRequest(plan=KEY))


# the rules -----------------------------------------------------------------------------------


def test_a_new_class_gets_a_disabled_installed_record_that_cannot_run(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, seed=False)
    write_plan(runtime, hello())
    report = runtime.plans.sync()
    view = runtime.plans.show(KEY)
    assert report.created == [KEY]
    assert (view.enabled, view.installed, view.grouping) == (False, True, "Examples")
    with pytest.raises(ConflictError, match="disabled"):
        run_now(runtime)
    runtime.plans.set_enabled(KEY, True)
    run_now(runtime)
    runtime.close()


def test_a_refresh_takes_class_changes_and_keeps_enabled(rt: Runtime) -> None:
    rt.plans.set_enabled(KEY, True)
    write_plan(rt, hello(grouping="Greetings", soft=20))
    report = rt.plans.sync()
    view = rt.plans.show(KEY)
    assert report.updated == [KEY] and report.created == []
    assert view.grouping == "Greetings" and view.metadata["soft_time_limit"] == 20
    assert view.enabled is True


def test_overrides_survive_a_refresh_while_other_fields_follow_the_class(rt: Runtime) -> None:
    rt.plans.override(KEY, "grouping", "Ops")
    rt.plans.override(KEY, "approval_required", "yes")
    write_plan(rt, hello(grouping="Greetings", description="Say hi.", soft=20))
    rt.plans.sync()
    view = rt.plans.show(KEY)
    assert view.grouping == "Ops" and view.metadata["approval_required"] is True
    assert view.description == "Say hi." and view.metadata["soft_time_limit"] == 20
    assert view.overridden == ("grouping", "approval_required")


def test_clearing_an_override_restores_the_class_value(rt: Runtime) -> None:
    rt.plans.override(KEY, "grouping", "Ops")
    write_plan(rt, hello(grouping="Greetings"))
    rt.plans.sync()
    assert rt.plans.show(KEY).grouping == "Ops"
    view = rt.plans.clear_override(KEY, "grouping")
    assert view.grouping == "Greetings" and view.overridden == ()
    rt.plans.sync()
    assert rt.plans.show(KEY).grouping == "Greetings"


def test_a_cleared_override_of_an_uninstalled_plan_comes_back_at_the_next_sync(
    rt: Runtime,
) -> None:
    rt.plans.override(KEY, "grouping", "Ops")
    path = rt.settings.plans_dir / "hello.py"
    path.unlink()
    rt.plans.sync()
    assert rt.plans.clear_override(KEY, "grouping").grouping == "Ops"
    write_plan(rt, hello(grouping="Back"))
    rt.plans.sync()
    assert rt.plans.show(KEY).grouping == "Back"


def test_a_missing_file_uninstalls_and_reappearing_reinstalls_with_its_enabled_state(
    rt: Runtime,
) -> None:
    rt.plans.set_enabled(KEY, True)
    run_now(rt)
    path = rt.settings.plans_dir / "hello.py"
    text = path.read_text()
    path.unlink()
    assert rt.plans.sync().uninstalled == [KEY]
    view = rt.plans.show(KEY)
    assert (view.installed, view.enabled) == (False, True)
    with pytest.raises(ConflictError, match="not installed"):
        run_now(rt)
    path.write_text(text)
    report = rt.plans.sync()
    assert report.created == [] and KEY in report.updated
    view = rt.plans.show(KEY)
    assert (view.installed, view.enabled) == (True, True)
    with rt.db.session() as s:
        record_id = s.scalar(select(PlanRecord.id).where(PlanRecord.key == KEY))
        assert s.scalars(select(Job.plan_id)).all() == [record_id]


def test_an_uninstalled_plan_cannot_be_enabled(rt: Runtime) -> None:
    (rt.settings.plans_dir / "hello.py").unlink()
    rt.plans.sync()
    with pytest.raises(ConflictError, match="not installed"):
        rt.plans.set_enabled(KEY, True)
    assert rt.plans.show(KEY).enabled is False


def add_schedule(rt: Runtime) -> int:
    with rt.db.transaction() as s:
        record = s.scalar(select(PlanRecord).where(PlanRecord.key == KEY))
        assert record is not None
        schedule = Schedule(
            name="nightly",
            plan_id=record.id,
            plan_key=KEY,
            plan_name=record.name,
            kind=PlanKind.ORCHESTRATION,
            cron="0 3 * * *",
            enabled=True,
            next_due_at=FIXED_NOW + timedelta(hours=1),
        )
        s.add(schedule)
        s.flush()
        return schedule.id


def test_delete_keeps_jobs_and_schedules_with_a_null_plan_and_disables_the_schedules(
    rt: Runtime,
) -> None:
    rt.plans.set_enabled(KEY, True)
    run_now(rt)
    schedule_id = add_schedule(rt)
    rt.plans.delete(KEY)
    with rt.db.session() as s:
        job = s.scalars(select(Job)).one()
        schedule = s.get(Schedule, schedule_id)
        assert schedule is not None
        assert (job.plan_id, job.plan_key, job.plan_name) == (None, KEY, "Hello")
        assert (schedule.plan_id, schedule.plan_name, schedule.enabled) == (None, "Hello", False)
        assert schedule.next_due_at is None
    with pytest.raises(NotFoundError):
        rt.plans.show(KEY)


def test_a_reinstalled_plan_is_a_new_disabled_record_not_reconnected(rt: Runtime) -> None:
    rt.plans.set_enabled(KEY, True)
    run_now(rt)
    schedule_id = add_schedule(rt)
    rt.plans.delete(KEY)
    assert rt.plans.sync().created == [KEY]
    assert rt.plans.show(KEY).enabled is False
    with rt.db.session() as s:
        assert s.scalars(select(Job.plan_id)).one() is None
        schedule = s.get(Schedule, schedule_id)
        assert schedule is not None and (schedule.plan_id, schedule.enabled) == (None, False)


def test_bad_overrides_are_one_line_and_change_nothing(rt: Runtime) -> None:
    before = rt.plans.show(KEY)
    with pytest.raises(UsageError, match="'key' cannot be overridden"):
        rt.plans.override(KEY, "key", "x")
    with pytest.raises(UsageError, match="takes true or false"):
        rt.plans.override(KEY, "hidden", "maybe")
    with pytest.raises(UsageError, match="must exceed soft_time_limit"):
        rt.plans.override(KEY, "time_limit", "5")
    assert rt.plans.show(KEY) == before


# the command line ----------------------------------------------------------------------------


@pytest.fixture
def cli(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[Cli]:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)
    assert rt.settings.source is not None
    yield Cli(rt.settings.source, capsys)


class Cli:
    def __init__(self, config: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.config, self.capsys = config, capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        code = run(["--config", str(self.config), *args], actor=ACTOR)
        out, err = self.capsys.readouterr()
        return code, out, err


def rows(out: str) -> dict[str, list[str]]:
    """``plans list`` table rows by key, split on runs of two or more spaces."""
    lines = out.splitlines()
    split = [re.split(r"\s{2,}", line.strip()) for line in lines]
    return {row[0]: row for row in split[1:]}


def test_plans_list_shows_grouping_enabled_installed_overridden_and_load_errors(
    rt: Runtime, cli: Cli
) -> None:
    write_plan(rt, "def broken(:\n", name="broken.py")
    assert cli("plans", "override", KEY, "grouping", "Ops")[0] == 0
    code, out, err = cli("plans", "list")
    header = out.splitlines()[0].split()
    assert code == 0
    assert header == ["KEY", "KIND", "GROUPING", "NAME", "ENABLED", "INSTALLED", "OVERRIDDEN"]
    assert rows(out)[KEY] == [KEY, "orchestration", "Ops", "Hello", "no", "yes", "grouping"]
    assert err.startswith("load error: ") and "broken.py:1" in err and "Traceback" not in err


def test_plans_list_json_has_plans_and_errors(rt: Runtime, cli: Cli) -> None:
    write_plan(rt, "def broken(:\n", name="broken.py")
    code, out, _ = cli("plans", "list", "--json")
    data = json.loads(out)
    plan = data["plans"][0]
    assert code == 0 and plan["key"] == KEY
    assert (plan["enabled"], plan["installed"], plan["overridden"]) == (False, True, [])
    assert len(data["errors"]) == 1 and "broken.py:1" in data["errors"][0]


def test_overrides_survive_plans_sync_on_the_command_line(rt: Runtime, cli: Cli) -> None:
    cli("plans", "override", KEY, "description", "Pinned.")
    write_plan(rt, hello(grouping="Greetings", description="Changed."))
    code, out, _ = cli("plans", "sync")
    assert code == 0 and "1 updated" in out
    shown = json.loads(cli("plans", "show", KEY, "--json")[1])
    assert (shown["description"], shown["grouping"]) == ("Pinned.", "Greetings")
    code, out, _ = cli("plans", "clear-override", KEY, "description")
    assert code == 0 and "'Changed.' (from the class)" in out


def test_a_missing_file_shows_as_not_installed(rt: Runtime, cli: Cli) -> None:
    (rt.settings.plans_dir / "hello.py").unlink()
    code, out, _ = cli("plans", "sync")
    assert code == 0 and f"uninstalled: {KEY}" in out
    assert rows(cli("plans", "list")[1])[KEY][5] == "no"


def test_plan_command_mistakes_are_one_line_exit_2(cli: Cli) -> None:
    for args, message in [
        (("plans", "enable", "nosuch"), "unknown plan 'nosuch'"),
        (("plans", "override", KEY, "colour", "red"), "'colour' cannot be overridden"),
        (("plans", "clear-override", KEY, "colour"), "'colour' cannot be overridden"),
        (("plans", "delete", "nosuch", "--yes"), "unknown plan 'nosuch'"),
    ]:
        code, _, err = cli(*args)
        assert code == 2 and err.count("\n") == 1 and message in err, (args, err)


def test_delete_on_the_command_line_asks_first(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, _, err = cli("plans", "delete", KEY)
    assert code == 1 and "aborted" in err
    assert cli("plans", "show", KEY)[0] == 0
    code, out, _ = cli("plans", "delete", KEY, "--yes")
    assert code == 0 and f"deleted plan record '{KEY}'" in out


def test_the_example_plans_sync_disabled_and_list_without_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    runtime = make_runtime(tmp_path, seed=False, sections={"paths": {"plans_dir": str(REPO_PLANS)}})
    runtime.close()
    cli = Cli(tmp_path / "config.toml", capsys)
    assert cli("plans", "sync")[0] == 0
    code, out, err = cli("plans", "list")
    table = rows(out)
    assert code == 0 and err == ""
    assert {"demo_config.DemoConfig", "demo_deploy.DemoDeploy"} <= set(table)
    assert all(row[4] == "no" and row[5] == "yes" for row in table.values())


def test_plans_sync_reports_a_plan_that_start_up_already_found(rt: Runtime, cli: Cli) -> None:
    write_plan(rt, hello().replace("Hello", "Other"), name="other.py")
    code, out, _ = cli("plans", "sync")
    assert code == 0 and "1 new" in out and "new (disabled): other.Other" in out
    assert "0 new" in cli("plans", "sync")[1]

"""Scoped grants: a permission everywhere, or within an environment (with its children), a role
or a plan; checked for every target of a job at creation, at run time, and for approvals."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.errors import PermissionDenied
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.services.schedules import ScheduleFields
from otter_tui.targeting import TargetSpec
from tests.engine_support import run_now
from tests.fixtures_core import ACTOR, FixedClock, db_file, make_runtime, table_snapshot

PLANS = Path(__file__).resolve().parent.parent / "plans"
DEPLOY = "demo_deploy.DemoDeploy"


@pytest.fixture
def rt(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    """The demo (web1, web2, db1 in ``dev``), plus ``prod`` with ``prod-web`` and child
    ``dev-eu`` of ``dev`` with ``eu-web``; ``bob`` may run jobs in ``dev`` only."""
    runtime = make_runtime(tmp_path, clock=clock, sections={"paths": {"plans_dir": str(PLANS)}})
    runtime.plans.set_enabled(DEPLOY, True)
    inv = runtime.inventory
    inv.add_environment("prod")
    inv.add_environment("dev-eu", parent="dev")
    inv.add_server(
        "prod-web", "localhost", transport="local", roles=("web",), environments=("prod",)
    )
    inv.add_server(
        "eu-web", "localhost", transport="local", roles=("db",), environments=("dev-eu",)
    )
    runtime.users.add("bob")
    runtime.users.grant("bob", "jobs.run", "environment", "dev")
    yield runtime
    runtime.close()


def as_user(rt: Runtime, name: str) -> Runtime:
    return replace(rt, ctx=rt.ctx.as_user(name))


def deploy(rt: Runtime, targets: TargetSpec) -> int:
    return rt.jobs.create(JobRequest(DEPLOY, targets, {"version": "2"})).id


def test_an_environment_grant_covers_its_servers_and_its_childrens_only(rt: Runtime) -> None:
    bob = as_user(rt, "bob")
    deploy(bob, TargetSpec(servers=("demo-web1", "eu-web")))
    deploy(bob, TargetSpec(environments=("dev",)))
    with pytest.raises(PermissionDenied) as refused:
        deploy(bob, TargetSpec(roles=("web",)))
    assert str(refused.value) == (
        "user 'bob' lacks permission 'jobs.run' on server 'prod-web' "
        "(holds jobs.run for environment dev)"
    )


def test_role_and_plan_grants(rt: Runtime) -> None:
    rt.users.add("carol")
    rt.users.grant("carol", "jobs.run", "role", "db")
    carol = as_user(rt, "carol")
    deploy(carol, TargetSpec(servers=("demo-db1", "eu-web")))
    with pytest.raises(PermissionDenied, match="on server 'demo-web1'"):
        deploy(carol, TargetSpec(servers=("demo-web1",)))
    rt.users.grant("carol", "jobs.run", "plan", "Demo deploy")  # by its name; stored by key
    deploy(carol, TargetSpec(servers=("demo-web1", "prod-web")))
    [view] = [u for u in rt.users.list() if u.name == "carol"]
    assert "jobs.run for plan demo_deploy.DemoDeploy" in view.permissions


def test_checked_again_when_the_job_starts(rt: Runtime) -> None:
    bob = as_user(rt, "bob")
    job = deploy(bob, TargetSpec(roles=("db",)))  # demo-db1 and eu-web: both in dev
    rt.inventory.set_memberships("prod-web", add_roles=("db",))  # the role grows into prod
    assert run_now(rt, job) == "failed"
    assert rt.jobs.show(job).error == (
        "could not start: user 'bob' lacks permission 'jobs.run' on server 'prod-web' "
        "(holds jobs.run for environment dev)"
    )
    assert rt.jobs.show(job).server_runs == ()


def test_approvals_are_scoped_the_same_way(rt: Runtime) -> None:
    rt.plans.override(DEPLOY, "approval_required", "true")
    rt.users.grant("bob", "jobs.run", "environment", "prod")
    rt.users.add("carol")
    rt.users.grant("carol", "jobs.approve", "environment", "prod")
    bob, carol = as_user(rt, "bob"), as_user(rt, "carol")
    prod_job = deploy(bob, TargetSpec(servers=("prod-web",)))
    dev_job = deploy(bob, TargetSpec(servers=("demo-web1",)))
    assert carol.approvals.approve(prod_job).state == "queued"
    with pytest.raises(PermissionDenied) as refused:
        carol.approvals.approve(dev_job)
    assert str(refused.value) == (
        "user 'carol' lacks permission 'jobs.approve' on server 'demo-web1' "
        "(holds jobs.approve for environment prod)"
    )
    assert rt.jobs.show(dev_job).state == "pending_approval"


# the command line --------------------------------------------------------------------------------


def cli(rt: Runtime, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--config", str(rt.settings.source), "users", *args], actor=ACTOR)
    out, err = capsys.readouterr()
    return code, out, err


def test_users_grant_and_revoke_with_a_scope(
    rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(rt, capsys, "grant", "bob", "jobs.approve", "--role", "web")[:2] == (
        0,
        "granted jobs.approve for role web to 'bob'\n",
    )
    [bob] = [u for u in rt.users.list() if u.name == "bob"]
    assert bob.permissions == ("jobs.approve for role web", "jobs.run for environment dev")
    assert cli(rt, capsys, "revoke", "bob", "jobs.run", "--environment", "dev")[0] == 0
    [bob] = [u for u in rt.users.list() if u.name == "bob"]
    assert bob.permissions == ("jobs.approve for role web",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["grant", "nobody", "jobs.run"], "unknown user 'nobody'"),
        (["grant", "bob", "jobs.run", "--environment", "staging"], "unknown environment 'staging'"),
        (["grant", "bob", "jobs.run", "--role", "nope"], "unknown role 'nope'"),
        (["grant", "bob", "jobs.run", "--plan", "nope.Nope"], "unknown plan 'nope.Nope'"),
        (
            ["grant", "bob", "jobs.run", "--role", "web", "--environment", "dev"],
            "give at most one of --environment, --role and --plan",
        ),
        (
            ["grant", "bob", "inventory.edit", "--environment", "dev"],
            "permission 'inventory.edit' cannot be scoped (only jobs.run, jobs.approve can)",
        ),
        (
            ["revoke", ACTOR, "admin"],
            f"'{ACTOR}' is the last administrator: grant admin to someone else first",
        ),
    ],
)
def test_bad_input_is_one_line_exit_2_and_changes_nothing(
    rt: Runtime, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    before = users_tables(rt)
    code, out, err = cli(rt, capsys, *args)
    assert (code, out, err) == (2, "", f"otter-tui: error: {message}\n")
    assert users_tables(rt) == before


def users_tables(rt: Runtime) -> dict[str, list[tuple[object, ...]]]:
    """Users, their grants and the audit trail, read with a plain sqlite3 connection."""
    tables = table_snapshot(db_file(rt.settings.source.parent))  # type: ignore[union-attr]
    return {name: tables[name] for name in ("users", "user_permissions", "audit_events")}


def test_the_last_admin_can_hand_over(rt: Runtime, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(rt, capsys, "grant", "bob", "admin")[0] == 0
    assert cli(rt, capsys, "revoke", ACTOR, "admin")[0] == 0
    assert [(u.name, u.is_admin) for u in rt.users.list()] == [(ACTOR, False), ("bob", True)]


def test_a_schedule_is_saved_only_for_targets_its_author_may_run(rt: Runtime) -> None:
    rt.users.grant("bob", "schedules.edit")
    bob = as_user(rt, "bob")
    fields = ScheduleFields(plan=DEPLOY, cron="@daily", variables={"version": "2"})
    bob.schedules.add("dev-nightly", replace(fields, targets=TargetSpec(environments=("dev",))))
    with pytest.raises(PermissionDenied, match="on server 'prod-web'"):
        bob.schedules.add("prod-nightly", replace(fields, targets=TargetSpec(roles=("web",))))
    assert [s.name for s in rt.schedules.list_schedules()] == ["dev-nightly"]

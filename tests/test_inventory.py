"""Inventory services: servers, roles, environments, memberships, users; all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from otter_tui.errors import ConflictError, NotFoundError, PermissionDenied, UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.inventory import InventoryService, ServerView
from otter_tui.services.users import UserService
from otter_tui.store.models import AuditEvent
from otter_tui.targeting import Target, TargetSpec, resolve_targets
from tests.fixtures_core import (
    ACTOR,
    FIXED_NOW,
    FixedClock,
    make_runtime,
    store_rows,
)

pytestmark = pytest.mark.both_stores


def names(views: list[ServerView]) -> list[str]:
    return [v.name for v in views]


# the demo inventory ---------------------------------------------------------------------------


def test_first_start_seeds_the_demo_and_makes_the_user_admin(tmp_path: Path) -> None:
    runtime = make_runtime(tmp_path, fresh=True)
    try:
        servers = {s.name: s for s in runtime.inventory.list_servers()}
        assert list(servers) == ["demo-db1", "demo-web1", "demo-web2"]
        assert servers["demo-web1"].roles == ("demo", "web")
        assert servers["demo-db1"].environments == ("dev",)
        assert all(s.transport == "local" and s.active for s in servers.values())
        assert [r.name for r in runtime.inventory.list_roles()] == ["db", "demo", "web"]
        assert runtime.variables.resolve("demo-web2", "web") == {
            "motd_message": "Managed by otter-tui",
            "app_port": "8080",
            "log_level": "debug",
            "root": str(tmp_path / "data" / "sandbox" / "demo-web2"),
        }
        assert (tmp_path / "data" / "sandbox" / "demo-web2").is_dir()
        assert [(u.name, u.is_admin) for u in runtime.users.list()] == [(ACTOR, True)]
    finally:
        runtime.close()


def test_the_demo_is_seeded_once(runtime: Runtime, tmp_path: Path) -> None:
    runtime.inventory.remove_server("demo-db1")
    runtime.close()
    again = make_runtime(tmp_path)
    try:
        assert names(again.inventory.list_servers()) == ["demo-web1", "demo-web2"]
    finally:
        again.close()


# servers ----------------------------------------------------------------------------------------


def test_add_server_with_memberships(runtime: Runtime) -> None:
    inv = runtime.inventory
    view = inv.add_server(
        "web3", "10.0.0.3", port=2222, user="ops", roles=("web", "web"), environments=("dev",)
    )
    assert view.roles == ("web",)
    assert view.host == "10.0.0.3" and view.port == 2222 and view.transport == "ssh"
    assert inv.show_server("web3") == view
    assert "web3" in inv.show_role("web").servers
    assert "web3" in inv.show_environment("dev").servers


def test_a_local_server_needs_no_host(runtime: Runtime) -> None:
    assert runtime.inventory.add_server("here", transport="local").host == "localhost"


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "demo-web1", "host": "h"}, ConflictError, "server 'demo-web1' already exists"),
        ({"name": "x", "host": "h", "roles": ("nope",)}, NotFoundError, "unknown role 'nope'"),
        (
            {"name": "x", "host": "h", "environments": ("prod",)},
            NotFoundError,
            "unknown environment 'prod'",
        ),
        ({"name": "bad name", "host": "h"}, UsageError, "invalid server name 'bad name'"),
        ({"name": "-x", "host": "h"}, UsageError, "invalid server name '-x'"),
        ({"name": "x" * 101, "host": "h"}, UsageError, "invalid server name"),
        ({"name": "x"}, UsageError, "server 'x': an ssh server needs a host"),
        ({"name": "x", "host": "h", "port": 70000}, UsageError, "port 70000 is out of range"),
        ({"name": "x", "host": "h", "transport": "telnet"}, UsageError, "unknown transport"),
    ],
)
def test_add_server_refuses_bad_input_and_changes_nothing(
    runtime: Runtime,
    tmp_path: Path,
    kwargs: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    before = store_rows(runtime)
    with pytest.raises(error) as err:
        runtime.inventory.add_server(**kwargs)  # type: ignore[arg-type]
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert store_rows(runtime) == before


def test_update_server_changes_only_what_is_given(runtime: Runtime) -> None:
    runtime.inventory.add_server("web3", "10.0.0.3", user="ops", description="first")
    view = runtime.inventory.update_server("web3", port=2200, description="moved")
    assert (view.host, view.port, view.user, view.description) == (
        "10.0.0.3",
        2200,
        "ops",
        "moved",
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "nope", "port": 22}, NotFoundError, "unknown server 'nope'"),
        ({"name": "web3", "port": 0}, UsageError, "port 0 is out of range"),
        ({"name": "web3", "transport": "ftp"}, UsageError, "unknown transport 'ftp'"),
        ({"name": "web3", "host": ""}, UsageError, "server 'web3': an ssh server needs a host"),
    ],
)
def test_update_server_refuses_bad_input(
    runtime: Runtime, kwargs: dict[str, object], error: type[Exception], message: str
) -> None:
    runtime.inventory.add_server("web3", "10.0.0.3")
    with pytest.raises(error) as err:
        runtime.inventory.update_server(**kwargs)  # type: ignore[arg-type]
    assert message in str(err.value)
    assert runtime.inventory.show_server("web3").host == "10.0.0.3"


def test_an_inactive_server_is_left_out_of_jobs_until_reactivated(runtime: Runtime) -> None:
    spec = TargetSpec(roles=("web",))
    runtime.inventory.update_server("demo-web1", active=False)
    assert runtime.inventory.show_server("demo-web1").active is False
    targets = resolve_targets(spec, runtime.inventory.targeting_inventory())
    assert targets == [Target("demo-web2")]

    runtime.inventory.update_server("demo-web1", active=True)
    targets = resolve_targets(spec, runtime.inventory.targeting_inventory())
    assert targets == [Target("demo-web1"), Target("demo-web2")]


def test_targeting_sees_roles_and_environments_from_the_store(runtime: Runtime) -> None:
    runtime.inventory.add_environment("dev-eu", parent="dev")
    runtime.inventory.add_server("eu1", transport="local", roles=("web", "db"))
    runtime.inventory.set_memberships("eu1", add_environments=("dev-eu",))
    spec = TargetSpec(roles=("web", "db"), environments=("dev",))
    assert resolve_targets(spec, runtime.inventory.targeting_inventory()) == [
        Target("demo-web1", "web"),
        Target("demo-web2", "web"),
        Target("eu1", "web"),
        Target("demo-db1", "db"),
        Target("eu1", "db"),
    ]


def test_remove_server(runtime: Runtime) -> None:
    runtime.inventory.remove_server("demo-web2")
    assert names(runtime.inventory.list_servers()) == ["demo-db1", "demo-web1"]
    assert runtime.inventory.show_role("web").servers == ("demo-web1",)
    with pytest.raises(NotFoundError, match="unknown server 'demo-web2'"):
        runtime.inventory.remove_server("demo-web2")


# memberships ------------------------------------------------------------------------------------


def test_memberships_are_added_and_removed(runtime: Runtime) -> None:
    runtime.inventory.add_environment("staging")
    view = runtime.inventory.set_memberships(
        "demo-db1", add_roles=("web",), remove_roles=("demo",), add_environments=("staging",)
    )
    assert view.roles == ("db", "web")
    assert view.environments == ("dev", "staging")
    assert runtime.inventory.show_server("demo-db1") == view


def test_a_bad_name_in_a_membership_change_changes_nothing(
    runtime: Runtime, tmp_path: Path
) -> None:
    before = store_rows(runtime)
    with pytest.raises(NotFoundError, match="unknown role 'nope'"):
        runtime.inventory.set_memberships("demo-db1", add_roles=("web",), remove_roles=("nope",))
    assert store_rows(runtime) == before


# roles and environments -------------------------------------------------------------------------


def test_removing_a_role_keeps_its_servers(runtime: Runtime) -> None:
    runtime.inventory.remove_role("web")
    assert names(runtime.inventory.list_servers()) == ["demo-db1", "demo-web1", "demo-web2"]
    assert runtime.inventory.show_server("demo-web1").roles == ("demo",)
    assert "app_port" not in runtime.variables.resolve("demo-web1")


def test_removing_a_parent_environment_keeps_its_children(runtime: Runtime) -> None:
    runtime.inventory.add_environment("dev-eu", parent="dev")
    assert runtime.inventory.show_environment("dev-eu").parent == "dev"
    runtime.inventory.remove_environment("dev")
    views = {e.name: e for e in runtime.inventory.list_environments()}
    assert list(views) == ["dev-eu"]
    assert views["dev-eu"].parent is None
    assert runtime.inventory.show_server("demo-web1").environments == ()


def test_environments_nest_but_never_in_a_cycle(runtime: Runtime) -> None:
    inv = runtime.inventory
    inv.add_environment("eu", parent="dev")
    inv.add_environment("eu-1", parent="eu")
    with pytest.raises(UsageError, match="environment 'eu-1' is inside 'dev': that is a cycle"):
        inv.set_environment_parent("dev", "eu-1")
    with pytest.raises(UsageError, match="cycle"):
        inv.set_environment_parent("dev", "dev")
    assert inv.show_environment("dev").parent is None
    assert inv.set_environment_parent("eu-1", None).parent is None


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda i: i.add_role("web"), ConflictError, "role 'web' already exists"),
        (lambda i: i.add_role("we b"), UsageError, "invalid role name 'we b'"),
        (lambda i: i.add_environment("dev"), ConflictError, "environment 'dev' already exists"),
        (lambda i: i.add_environment("x", parent="nope"), NotFoundError, "unknown environment"),
        (lambda i: i.remove_role("nope"), NotFoundError, "unknown role 'nope'"),
        (lambda i: i.show_environment("nope"), NotFoundError, "unknown environment 'nope'"),
        (lambda i: i.set_environment_parent("dev", "nope"), NotFoundError, "unknown environment"),
    ],
)
def test_role_and_environment_errors(
    runtime: Runtime,
    tmp_path: Path,
    call: Callable[[InventoryService], object],
    error: type[Exception],
    message: str,
) -> None:
    before = store_rows(runtime)
    with pytest.raises(error) as err:
        call(runtime.inventory)
    assert message in str(err.value)
    assert store_rows(runtime) == before


# permissions and audit --------------------------------------------------------------------------


def test_every_change_is_audited_with_who_and_when(runtime: Runtime, clock: FixedClock) -> None:
    clock.advance(60)
    runtime.inventory.add_role("cache")
    with runtime.db.session() as s:
        event = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.actor, event.action, event.object_name) == (ACTOR, "role.add", "cache")
    assert event.at == FIXED_NOW.replace(minute=FIXED_NOW.minute + 1)


def test_a_user_needs_inventory_edit_to_change_the_inventory(runtime: Runtime) -> None:
    runtime.users.add("bob")
    bob = InventoryService(runtime.ctx.as_user("bob"))
    with pytest.raises(PermissionDenied, match=r"'bob' lacks permission 'inventory\.edit'"):
        bob.add_role("cache")
    assert names(bob.list_servers()) == names(runtime.inventory.list_servers())  # reading is fine

    runtime.users.grant("bob", "inventory.edit")
    bob.add_role("cache")
    runtime.users.revoke("bob", "inventory.edit")
    with pytest.raises(PermissionDenied):
        bob.remove_role("cache")


def test_an_unknown_user_may_change_nothing(runtime: Runtime) -> None:
    stranger = InventoryService(runtime.ctx.as_user("mallory"))
    with pytest.raises(PermissionDenied, match="user 'mallory' is not known to otter-tui"):
        stranger.remove_server("demo-web1")
    assert "demo-web1" in names(runtime.inventory.list_servers())


def test_users_and_grants(runtime: Runtime) -> None:
    users = runtime.users
    users.add("carol", permissions=("jobs.run", "jobs.run"))
    assert users.grant("carol", "jobs.approve").permissions == ("jobs.approve", "jobs.run")
    assert users.revoke("carol", "jobs.run").permissions == ("jobs.approve",)
    assert users.bootstrap() is False  # there are users already: nobody becomes admin
    with pytest.raises(ConflictError, match="user 'carol' already exists"):
        users.add("carol")
    with pytest.raises(UsageError, match=r"unknown permission 'jobs\.fly'"):
        users.add("dave", permissions=("jobs.fly",))
    with pytest.raises(NotFoundError, match="unknown user 'erin'"):
        users.grant("erin", "jobs.run")
    assert [u.name for u in users.list()] == [ACTOR, "carol"]


def test_only_a_user_with_users_manage_adds_users(runtime: Runtime) -> None:
    runtime.users.add("bob", permissions=("inventory.edit",))
    with pytest.raises(PermissionDenied, match=r"users\.manage"):
        UserService(runtime.ctx.as_user("bob")).add("eve", admin=True)
    assert [u.name for u in runtime.users.list()] == [ACTOR, "bob"]

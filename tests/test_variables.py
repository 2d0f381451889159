"""The variable cascade: job > server > environment (child over parent) > role > global."""

from __future__ import annotations

import pytest

from otter_tui.errors import NotFoundError, PermissionDenied, UsageError
from otter_tui.runtime import Runtime
from otter_tui.variables import cascade, environment_chain, server_layers

pytestmark = pytest.mark.both_stores


def resolve(
    *,
    roles: tuple[str, ...] = (),
    envs: tuple[str, ...] = (),
    role_vars: dict[str, dict[str, str]] | None = None,
    env_vars: dict[str, dict[str, str]] | None = None,
    parents: dict[str, str | None] | None = None,
    server_vars: dict[str, str] | None = None,
    global_vars: dict[str, str] | None = None,
    role: str | None = None,
    job: dict[str, str] | None = None,
) -> dict[str, str]:
    layers = server_layers(
        global_vars=global_vars or {},
        role_vars=role_vars or {},
        environment_vars=env_vars or {},
        environment_parents=parents or {e: None for e in envs},
        server_roles=roles,
        server_environments=envs,
        server_vars=server_vars or {},
        role_in_context=role,
    )
    return cascade([*layers, job or {}])


@pytest.mark.parametrize(
    ("scopes", "winner"),
    [
        (("global", "role", "env", "server", "job"), "job"),
        (("global", "role", "env", "server"), "server"),
        (("global", "role", "env"), "env"),
        (("global", "role"), "role"),
        (("global",), "global"),
    ],
)
def test_the_closest_scope_wins(scopes: tuple[str, ...], winner: str) -> None:
    def layer(scope: str) -> dict[str, str]:
        return {"v": scope} if scope in scopes else {}

    result = resolve(
        roles=("web",),
        envs=("prod",),
        global_vars=layer("global"),
        role_vars={"web": layer("role")},
        env_vars={"prod": layer("env")},
        server_vars=layer("server"),
        job=layer("job"),
    )
    assert result == {"v": winner}


def test_names_from_every_scope_are_merged() -> None:
    result = resolve(
        roles=("web",),
        envs=("prod",),
        global_vars={"a": "1"},
        role_vars={"web": {"b": "2"}},
        env_vars={"prod": {"c": "3"}},
        server_vars={"d": "4"},
        job={"e": "5"},
    )
    assert result == {"a": "1", "b": "2", "c": "3", "d": "4", "e": "5"}


def test_child_environment_beats_its_parent() -> None:
    result = resolve(
        envs=("prod-eu",),
        parents={"prod": None, "prod-eu": "prod"},
        env_vars={"prod": {"region": "any", "tier": "prod"}, "prod-eu": {"region": "eu"}},
    )
    assert result == {"region": "eu", "tier": "prod"}


def test_grandchild_beats_child_beats_parent() -> None:
    parents = {"prod": None, "prod-eu": "prod", "prod-eu-1": "prod-eu"}
    assert environment_chain("prod-eu-1", parents) == ["prod", "prod-eu", "prod-eu-1"]
    env_vars = {"prod": {"a": "p", "b": "p", "c": "p"}, "prod-eu": {"a": "e", "b": "e"}}
    env_vars["prod-eu-1"] = {"a": "1"}
    result = resolve(envs=("prod-eu-1",), parents=parents, env_vars=env_vars)
    assert result == {"a": "1", "b": "e", "c": "p"}


def test_child_wins_even_when_the_server_is_also_in_the_parent() -> None:
    # The child's name sorts before its parent's: name order alone would let the parent win.
    parents = {"zone": None, "a-rack": "zone"}
    result = resolve(
        envs=("zone", "a-rack"),
        parents=parents,
        env_vars={"zone": {"ntp": "zone-ntp"}, "a-rack": {"ntp": "rack-ntp"}},
    )
    assert result["ntp"] == "rack-ntp"


def test_unrelated_environments_apply_in_name_order() -> None:
    result = resolve(
        envs=("beta", "alpha"), env_vars={"alpha": {"x": "alpha"}, "beta": {"x": "beta"}}
    )
    assert result["x"] == "beta"


def test_role_in_context_beats_the_servers_other_roles() -> None:
    role_vars = {"api": {"port": "9000"}, "web": {"port": "8080"}}
    assert resolve(roles=("web", "api"), role_vars=role_vars, role="api")["port"] == "9000"
    assert resolve(roles=("web", "api"), role_vars=role_vars, role="web")["port"] == "8080"
    # no role in context: roles in name order, the last name wins
    assert resolve(roles=("web", "api"), role_vars=role_vars)["port"] == "8080"


def test_an_environment_beats_even_the_role_in_context() -> None:
    result = resolve(
        roles=("web",),
        envs=("prod",),
        role="web",
        role_vars={"web": {"port": "8080"}},
        env_vars={"prod": {"port": "443"}},
    )
    assert result["port"] == "443"


def test_environment_cycle_does_not_hang() -> None:
    assert environment_chain("a", {"a": "b", "b": "a"}) == ["b", "a"]


# through the service and the database ---------------------------------------------------------


@pytest.fixture
def fleet(empty_runtime: Runtime) -> Runtime:
    inv, var = empty_runtime.inventory, empty_runtime.variables
    for role in ("web", "api"):
        inv.add_role(role)
    inv.add_environment("prod")
    inv.add_environment("prod-eu", parent="prod")
    inv.add_server("web1", "10.0.0.1", roles=("web", "api"), environments=("prod-eu",))
    inv.add_server("db1", "10.0.0.2", environments=("prod",))
    var.set("global", None, "motd", "hello")
    var.set("global", None, "port", "80")
    var.set("role", "web", "port", "8080")
    var.set("role", "api", "port", "9000")
    var.set("environment", "prod", "log_level", "warning")
    var.set("environment", "prod", "dns", "10.0.0.53")
    var.set("environment", "prod-eu", "log_level", "info")
    var.set("server", "web1", "max_conn", "100")
    return empty_runtime


def test_resolve_reads_the_cascade_from_the_store(fleet: Runtime) -> None:
    resolved = fleet.variables.resolve("web1", "api", {"max_conn": "5"})
    assert resolved == {
        "motd": "hello",
        "port": "9000",
        "log_level": "info",
        "dns": "10.0.0.53",
        "max_conn": "5",
    }
    assert fleet.variables.resolve("web1", "web")["port"] == "8080"
    assert fleet.variables.resolve("db1") == {
        "motd": "hello",
        "port": "80",
        "log_level": "warning",
        "dns": "10.0.0.53",
    }


def test_reparenting_an_environment_changes_what_servers_inherit(fleet: Runtime) -> None:
    fleet.inventory.set_environment_parent("prod-eu", None)
    assert "dns" not in fleet.variables.resolve("web1")


def test_setting_twice_replaces_the_value(fleet: Runtime) -> None:
    fleet.variables.set("server", "web1", "max_conn", "200")
    rows = [v for v in fleet.variables.list("server", "web1") if v.name == "max_conn"]
    assert [(v.owner, v.value) for v in rows] == [("web1", "200")]


def test_unset_falls_back_to_the_next_scope(fleet: Runtime) -> None:
    fleet.variables.unset("environment", "prod-eu", "log_level")
    assert fleet.variables.resolve("web1")["log_level"] == "warning"
    with pytest.raises(NotFoundError, match=r"no environment variable 'log_level' on 'prod-eu'"):
        fleet.variables.unset("environment", "prod-eu", "log_level")


def test_list_filters_by_scope_and_owner(fleet: Runtime) -> None:
    assert sorted((v.owner, v.name) for v in fleet.variables.list("role")) == [
        ("api", "port"),
        ("web", "port"),
    ]
    assert [v.name for v in fleet.variables.list("environment", "prod")] == ["dns", "log_level"]
    assert [v.name for v in fleet.variables.list("global")] == ["motd", "port"]


def test_removing_a_server_removes_its_variables(fleet: Runtime) -> None:
    fleet.inventory.remove_server("web1")
    assert fleet.variables.list("server") == []
    fleet.inventory.add_server("web1", "10.0.0.9")
    assert "max_conn" not in fleet.variables.resolve("web1")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda v: v.set("server", "nope", "a", "1"), NotFoundError, "unknown server 'nope'"),
        (lambda v: v.set("role", None, "a", "1"), UsageError, "a role variable needs"),
        (lambda v: v.set("galaxy", None, "a", "1"), UsageError, "unknown scope 'galaxy'"),
        (lambda v: v.set("global", None, "bad name", "1"), UsageError, "invalid variable name"),
        (lambda v: v.resolve("nope"), NotFoundError, "unknown server 'nope'"),
        (lambda v: v.resolve("web1", "nope"), NotFoundError, "unknown role 'nope'"),
        (lambda v: v.resolve("db1", "web"), UsageError, "server 'db1' is not in role 'web'"),
    ],
)
def test_bad_input_is_a_one_line_error(
    fleet: Runtime, call: object, error: type[Exception], message: str
) -> None:
    before = fleet.variables.list()
    with pytest.raises(error) as err:
        call(fleet.variables)  # type: ignore[operator]
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert fleet.variables.list() == before


def test_a_user_without_inventory_edit_cannot_set_variables(fleet: Runtime) -> None:
    fleet.users.add("bob", permissions=("jobs.run",))
    bob = type(fleet.variables)(fleet.ctx.as_user("bob"))
    with pytest.raises(PermissionDenied, match=r"'bob' lacks permission 'inventory\.edit'"):
        bob.set("global", None, "motd", "pwned")
    assert fleet.variables.resolve("db1")["motd"] == "hello"

"""Targeting: which servers a job runs on, with which role in context (Otter's rules)."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otter_tui.errors import NotFoundError
from otter_tui.targeting import (
    Inventory,
    InventoryServer,
    Target,
    TargetSpec,
    resolve_targets,
)


def server(name: str, roles: str = "", envs: str = "", active: bool = True) -> InventoryServer:
    return InventoryServer(name, active, frozenset(roles.split()), frozenset(envs.split()))


# app1 is in two roles; euweb is in prod-eu, a child of prod; old1 is inactive.
FLEET = Inventory(
    servers=[
        server("web2", "web", "test"),
        server("web1", "web", "prod"),
        server("db1", "db", "prod"),
        server("app1", "web db", "prod"),
        server("old1", "web", "prod", active=False),
        server("euweb", "web", "prod-eu"),
        server("lone"),
    ],
    roles=frozenset({"web", "db", "cache"}),
    environment_parents={"prod": None, "test": None, "prod-eu": "prod"},
)


def runs(*pairs: str) -> list[Target]:
    """``"web1"`` -> no role in context; ``"web1@web"`` -> role web in context."""
    out = []
    for pair in pairs:
        name, _, role = pair.partition("@")
        out.append(Target(name, role or None))
    return out


CASES = [
    ("no targets: one run with no server", TargetSpec(), [Target(None)]),
    (
        "servers directly, in the order given",
        TargetSpec(servers=("web2", "db1")),
        runs("web2", "db1"),
    ),
    ("a server listed twice runs once", TargetSpec(servers=("db1", "db1")), runs("db1")),
    ("a listed inactive server is left out", TargetSpec(servers=("old1", "web1")), runs("web1")),
    (
        "a listed inactive server runs when included",
        TargetSpec(servers=("old1", "web1"), include_inactive=True),
        runs("old1", "web1"),
    ),
    (
        "roles only: every active server of the role, by name, no role in context",
        TargetSpec(roles=("web",)),
        runs("app1", "euweb", "web1", "web2"),
    ),
    (
        "roles only: servers of ANY listed role, each once",
        TargetSpec(roles=("web", "db")),
        runs("app1", "db1", "euweb", "web1", "web2"),
    ),
    ("roles only: a role with no servers gives no runs", TargetSpec(roles=("cache",)), []),
    ("environments only", TargetSpec(environments=("test",)), runs("web2")),
    (
        "environments only: a child environment's servers are in its parent",
        TargetSpec(environments=("prod",)),
        runs("app1", "db1", "euweb", "web1"),
    ),
    (
        "environments only: servers of ANY listed environment, each once",
        TargetSpec(environments=("prod", "test")),
        runs("app1", "db1", "euweb", "web1", "web2"),
    ),
    (
        "environments only: inactive servers included when asked",
        TargetSpec(environments=("prod-eu", "prod"), include_inactive=True),
        runs("app1", "db1", "euweb", "old1", "web1"),
    ),
    (
        "roles and environments: per role, in role order, NOT de-duplicated across roles",
        TargetSpec(roles=("web", "db"), environments=("prod",)),
        runs("app1@web", "euweb@web", "web1@web", "app1@db", "db1@db"),
    ),
    (
        "roles and environments: the role order given is the run order",
        TargetSpec(roles=("db", "web"), environments=("prod",)),
        runs("app1@db", "db1@db", "app1@web", "euweb@web", "web1@web"),
    ),
    (
        "roles and environments: only servers of the role that are in a listed environment",
        TargetSpec(roles=("web",), environments=("test",)),
        runs("web2@web"),
    ),
    (
        "roles and environments: inactive included when asked",
        TargetSpec(roles=("web",), environments=("prod",), include_inactive=True),
        runs("app1@web", "euweb@web", "old1@web", "web1@web"),
    ),
    (
        "roles and environments: a role listed twice counts once",
        TargetSpec(roles=("db", "db"), environments=("prod",)),
        runs("app1@db", "db1@db"),
    ),
    (
        "direct servers first, then the servers of the roles",
        TargetSpec(servers=("lone",), roles=("db",)),
        runs("lone", "app1", "db1"),
    ),
    (
        "a server both listed directly and in a listed role runs once",
        TargetSpec(servers=("web1",), roles=("web",)),
        runs("web1", "app1", "euweb", "web2"),
    ),
    (
        "a server listed directly and in a listed environment runs once",
        TargetSpec(servers=("db1",), environments=("prod",)),
        runs("db1", "app1", "euweb", "web1"),
    ),
    (
        "direct servers run without a role even when roles+environments are listed",
        TargetSpec(servers=("web1",), roles=("web",), environments=("prod",)),
        runs("web1", "app1@web", "euweb@web", "web1@web"),
    ),
]


@pytest.mark.parametrize(("spec", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_targeting_rules(spec: TargetSpec, expected: list[Target]) -> None:
    assert resolve_targets(spec, FLEET) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (TargetSpec(servers=("nope",)), "unknown server 'nope'"),
        (TargetSpec(roles=("web", "nope")), "unknown role 'nope'"),
        (TargetSpec(roles=("web",), environments=("staging",)), "unknown environment 'staging'"),
    ],
)
def test_unknown_names_are_one_line_errors(spec: TargetSpec, message: str) -> None:
    with pytest.raises(NotFoundError) as err:
        resolve_targets(spec, FLEET)
    assert str(err.value) == message


def test_a_spec_resolved_again_gives_its_own_copy_and_unknown_names_always_fail() -> None:
    spec = TargetSpec(roles=("db",))
    first = resolve_targets(spec, FLEET)
    first.append(Target("intruder"))
    assert resolve_targets(spec, FLEET) == [Target("app1"), Target("db1")]
    for _ in range(2):
        with pytest.raises(NotFoundError, match="unknown role 'nosuch'"):
            resolve_targets(TargetSpec(roles=("nosuch",)), FLEET)


def test_spec_round_trips_through_its_stored_form() -> None:
    spec = TargetSpec(("a",), ("web", "db"), ("prod",), include_inactive=True)
    assert TargetSpec.from_dict(spec.as_dict()) == spec
    assert spec.describe() == "servers a roles web,db in env prod (incl. inactive)"
    assert TargetSpec(environments=("prod",)).describe() == "envs prod"
    assert TargetSpec().describe() == "no targets"


# properties --------------------------------------------------------------------------------

ROLES = ("web", "db", "cache", "queue")
ENVS = {"prod": None, "test": None, "prod-eu": "prod", "prod-eu-1": "prod-eu"}
NAMES = tuple(f"s{i}" for i in range(12))


SERVERS = st.lists(
    st.builds(
        InventoryServer,
        st.sampled_from(NAMES),
        st.booleans(),
        st.frozensets(st.sampled_from(ROLES)),
        st.frozensets(st.sampled_from(sorted(ENVS))),
    ),
    max_size=8,
    unique_by=lambda s: s.name,
)


@st.composite
def inventories(draw: st.DrawFn) -> Inventory:
    return Inventory(draw(SERVERS), frozenset(ROLES), ENVS)


@st.composite
def specs(draw: st.DrawFn, inventory: Inventory, direct: bool = True) -> TargetSpec:
    names = [s.name for s in inventory.servers]
    servers = draw(st.lists(st.sampled_from(names), max_size=4)) if names and direct else []
    return TargetSpec(
        tuple(servers),
        tuple(draw(st.lists(st.sampled_from(ROLES), max_size=3))),
        tuple(draw(st.lists(st.sampled_from(sorted(ENVS)), max_size=3))),
        draw(st.booleans()),
    )


@st.composite
def cases(draw: st.DrawFn, direct: bool = True) -> tuple[Inventory, TargetSpec]:
    inventory = draw(inventories())
    return inventory, draw(specs(inventory, direct))


def _eligible(inventory: Inventory, spec: TargetSpec) -> list[InventoryServer]:
    return [s for s in inventory.servers if s.active or spec.include_inactive]


@settings(max_examples=50, deadline=None)
@given(cases())
def test_every_server_is_active_unless_inactive_are_included(
    case: tuple[Inventory, TargetSpec],
) -> None:
    inventory, spec = case
    active = {s.name: s.active for s in inventory.servers}
    for target in resolve_targets(spec, inventory):
        if target.server is not None and not spec.include_inactive:
            assert active[target.server]


@settings(max_examples=50, deadline=None)
@given(cases(direct=False))
def test_roles_only_runs_each_server_of_any_role_once(case: tuple[Inventory, TargetSpec]) -> None:
    inventory, spec = case
    spec = TargetSpec(roles=spec.roles, include_inactive=spec.include_inactive)
    result = resolve_targets(spec, inventory)
    if not spec.roles:
        assert result == [Target(None)]
        return
    names = [t.server for t in result]
    assert len(names) == len(set(names))
    expected = {s.name for s in _eligible(inventory, spec) if s.roles & set(spec.roles)}
    assert set(names) == expected
    assert all(t.role is None for t in result)


@settings(max_examples=50, deadline=None)
@given(cases(direct=False))
def test_roles_and_environments_count_is_sum_over_roles(
    case: tuple[Inventory, TargetSpec],
) -> None:
    inventory, spec = case
    if not (spec.roles and spec.environments):
        return
    envs = inventory.environment_closure(spec.environments)
    result = resolve_targets(spec, inventory)
    expected = sum(
        len([s for s in _eligible(inventory, spec) if role in s.roles and s.environments & envs])
        for role in set(spec.roles)
    )
    assert len(result) == expected
    for target in result:
        assert target.role in spec.roles


@settings(max_examples=50, deadline=None)
@given(cases(), st.randoms(use_true_random=False))
def test_order_is_deterministic_whatever_the_inventory_order(
    case: tuple[Inventory, TargetSpec], rnd: random.Random
) -> None:
    inventory, spec = case
    shuffled = list(inventory.servers)
    rnd.shuffle(shuffled)
    again = Inventory(shuffled, inventory.roles, inventory.environment_parents)
    assert resolve_targets(spec, inventory) == resolve_targets(spec, again)


@settings(max_examples=50, deadline=None)
@given(cases())
def test_no_run_is_made_twice(case: tuple[Inventory, TargetSpec]) -> None:
    inventory, spec = case
    result = resolve_targets(spec, inventory)
    assert len(result) == len(set(result))
    assert result == [Target(None)] or all(t.server is not None for t in result)

"""The example plans in plans/ are documentation: they must load and work on the demo inventory.

They run here the way the engine runs them, on a demo-like server (a sandbox ``root``), on the
local transport and over SSH.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otter_tui.errors import UsageError
from otter_tui.plan import (
    ConfigurationPlan,
    OrchestrationPlan,
    PlanClassInfo,
    RunContext,
    ServerInfo,
    Status,
    StepFailed,
    collect_all,
    load_plans,
    remediate,
    validate_variables,
)
from otter_tui.transport.base import Transport
from otter_tui.transport.local import LocalTransport
from tests.fixtures_ssh import MakeTransport

PLANS = Path(__file__).resolve().parent.parent / "plans"


@pytest.fixture(scope="module")
def examples() -> dict[str, PlanClassInfo]:
    result = load_plans(PLANS)
    assert result.errors == []
    return {info.key: info for info in result.plans}


@pytest.fixture(params=["local", "ssh"])
def target(request: pytest.FixtureRequest) -> Transport:
    if request.param == "local":
        return LocalTransport("demo-web1")
    make: MakeTransport = request.getfixturevalue("ssh_transport")
    return make(0)


def demo_server(root: Path, role: str | None = "demo") -> ServerInfo:
    variables = {"root": str(root), "motd_message": "Hello from tests", "app_port": "9090"}
    return ServerInfo("demo-web1", roles=("demo", "web"), role=role, variables=variables)


def test_both_examples_load_with_their_kinds(examples: dict[str, PlanClassInfo]) -> None:
    assert examples["demo_config.DemoConfig"].kind == "configuration"
    assert examples["demo_config.DemoConfig"].roles == ("demo",)
    assert examples["demo_deploy.DemoDeploy"].kind == "orchestration"


async def test_demo_config_remediates_the_sandbox_then_is_clean(
    examples: dict[str, PlanClassInfo], target: Transport, tmp_path: Path
) -> None:
    plan = examples["demo_config.DemoConfig"].cls()
    assert isinstance(plan, ConfigurationPlan)
    server = demo_server(tmp_path)
    items = list(plan.operations(server))
    assert {i.status for i in await collect_all(items, target)} == {Status.DRIFTED}
    done = await remediate(items, target, False, lambda level, text: None)
    assert {i.status for i in done} == {Status.CHANGED}
    assert (tmp_path / "etc/motd").read_text().startswith("Hello from tests\n")
    assert (tmp_path / "etc/app.conf").read_text() == "log_level = info\nport = 9090\n"
    assert (tmp_path / "srv/app").is_dir()
    assert {i.status for i in await collect_all(items, target)} == {Status.DESIRED}


def test_demo_config_refuses_a_server_without_a_sandbox(
    examples: dict[str, PlanClassInfo],
) -> None:
    plan = examples["demo_config.DemoConfig"].cls()
    assert isinstance(plan, ConfigurationPlan)
    with pytest.raises(UsageError, match="set the server variable 'root'"):
        list(plan.operations(ServerInfo("prod1")))


async def run_deploy(
    info: PlanClassInfo, target: Transport, server: ServerInfo, simulation: bool
) -> tuple[RunContext, list[str]]:
    plan = info.cls()
    assert isinstance(plan, OrchestrationPlan)
    lines: list[str] = []
    ctx = RunContext(
        transport=target,
        server=server,
        variables=validate_variables(info.cls, {"version": "1.4.2"}),
        simulation=simulation,
        log=lambda level, text: lines.append(text),
    )
    await plan.run(ctx)
    return ctx, lines


async def test_demo_deploy_simulates_then_deploys_and_verifies(
    examples: dict[str, PlanClassInfo], target: Transport, tmp_path: Path
) -> None:
    info, server = examples["demo_deploy.DemoDeploy"], demo_server(tmp_path)
    ctx, lines = await run_deploy(info, target, server, simulation=True)
    assert list(tmp_path.iterdir()) == [], "a simulation changes nothing"
    assert ctx.would_change == 3 and ctx.unknowns == 1 and ctx.changes == 0
    assert any(line.startswith("would run: touch") for line in lines)

    ctx, lines = await run_deploy(info, target, server, simulation=False)
    current = tmp_path / "srv/app/current"
    assert (current / "VERSION").read_text() == "1.4.2\n"
    assert (current / "app.env").read_text() == "WORKERS=2\n"
    assert (tmp_path / "srv/app/restart.txt").exists(), "the demo-role part ran"
    assert lines[-1] == "verified: 1.4.2 is live"


async def test_demo_deploy_skips_the_role_part_outside_the_demo_role(
    examples: dict[str, PlanClassInfo], tmp_path: Path
) -> None:
    info = examples["demo_deploy.DemoDeploy"]
    await run_deploy(info, LocalTransport("w"), demo_server(tmp_path, role="web"), False)
    assert (tmp_path / "srv/app/current/VERSION").exists()
    assert not (tmp_path / "srv/app/restart.txt").exists()


async def test_demo_deploy_needs_a_version(examples: dict[str, PlanClassInfo]) -> None:
    with pytest.raises(UsageError, match="missing required variable 'version'"):
        validate_variables(examples["demo_deploy.DemoDeploy"].cls, {})


async def test_demo_deploy_without_a_sandbox_fails_before_changing_anything(
    examples: dict[str, PlanClassInfo],
) -> None:
    info = examples["demo_deploy.DemoDeploy"]
    with pytest.raises(StepFailed, match="no 'root' variable"):
        await run_deploy(info, LocalTransport("prod1"), ServerInfo("prod1"), False)

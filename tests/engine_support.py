"""Helpers for the engine tests: a runtime whose plans dir holds the test plans, fleet servers
in its inventory, and a way to run a job to its end with the real engine.

The plans below are written into the test's own plans dir, as a user would write them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from otter_tui.engine.local_run import run_claimed
from otter_tui.events import LogLine
from otter_tui.runtime import Runtime
from otter_tui.services.context import system_clock
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.store.models import JobState
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from tests.fixtures_core import make_runtime

PLANS = '''\
from __future__ import annotations

import asyncio

from otter_tui.plan import Command, ConfigurationPlan, Int, OrchestrationPlan, Text
from otter_tui.plan import operations as ops


class Echo(OrchestrationPlan):
    """Prints ``lines`` numbered lines; a server with variable ``fail`` fails its command."""

    name = "Echo"
    variables = {"lines": Int(default=3)}

    async def run(self, ctx):
        await ctx.shell(Command.shell(f"seq 1 {ctx.vars['lines']}"))
        if ctx.server.var("fail", ""):
            await ctx.shell(Command.shell("echo boom >&2; exit 3"))
        ctx.log(f"done on {ctx.server.name}")


class Staggered(OrchestrationPlan):
    """Each server waits its own ``delay`` (a server variable) before it prints and ends."""

    name = "Staggered"

    async def run(self, ctx):
        await ctx.shell(Command.shell(f"echo start; sleep {ctx.server.var('delay', '0')}"))
        ctx.log(f"done on {ctx.server.name}")


class Sleeper(OrchestrationPlan):
    """Runs ``sleep SECONDS`` (unique per test, so pgrep can find it on the server)."""

    name = "Sleeper"
    is_singleton = True
    variables = {"seconds": Text(default="1")}

    async def run(self, ctx):
        await ctx.shell(Command.shell(f"echo sleeping; sleep {ctx.vars['seconds']}"))


class Limited(OrchestrationPlan):
    """A soft limit of 1 s: the sleep is ended and the ``finally`` cleans up."""

    name = "Limited"
    soft_time_limit = 1
    time_limit = 3
    variables = {"seconds": Text(default="1")}

    async def run(self, ctx):
        try:
            await ctx.shell(Command.shell(f"sleep {ctx.vars['seconds']}"))
        finally:
            ctx.log("cleaned up")


class Stubborn(OrchestrationPlan):
    """Ignores the soft limit (starts another sleep); the hard limit of 2 s kills it."""

    name = "Stubborn"
    soft_time_limit = 1
    time_limit = 2
    variables = {"seconds": Text(default="1")}

    async def run(self, ctx):
        try:
            await ctx.shell(Command.shell(f"sleep {ctx.vars['seconds']}"))
        except asyncio.CancelledError:
            ctx.log("ignoring the request to stop")
            await ctx.shell(Command.shell(f"sleep {ctx.vars['seconds']}"))


class FleetConfig(ConfigurationPlan):
    """Three items under the server's ``root``."""

    name = "Fleet configuration"
    roles = ("fleet",)

    def operations(self, server):
        root = server.var("root")
        yield ops.file(f"{root}/motd", content=f"hello {server.name}\\n", mode=0o644)
        yield ops.directory(f"{root}/app", mode=0o755)
        yield ops.line(f"{root}/app.conf", "level = info", regex=r"^level\\s*=")
'''

PLAN_KEYS = ("Echo", "Staggered", "Sleeper", "Limited", "Stubborn", "FleetConfig")


def engine_runtime(
    tmp_path: Path,
    fleet: SshdFleet | None = None,
    *,
    engine: dict[str, Any] | None = None,
    retention: dict[str, Any] | None = None,
    database: dict[str, Any] | None = None,
    clock: Callable[[], Any] = system_clock,
    url: str | None = None,
    jobs: dict[str, Any] | None = None,
) -> Runtime:
    """A runtime on its own SQLite file (or the database at ``url``) with the test plans enabled
    and a real clock."""
    plans = tmp_path / "plans"
    plans.mkdir(parents=True, exist_ok=True)
    (plans / "engine_plans.py").write_text(PLANS)
    sections: dict[str, dict[str, Any]] = {
        "engine": {"lease_seconds": 3, "cancel_grace_seconds": 3, **(engine or {})}
    }
    if fleet is not None:
        sections["ssh"] = {
            "known_hosts": str(fleet.known_hosts),
            "client_keys": [str(fleet.client_key)],
            "use_agent": False,
            "ssh_config": "",
            "connect_timeout": 5.0,
        }
    if retention:
        sections["retention"] = retention
    if database:
        sections["database"] = database
    if jobs:
        sections["jobs"] = jobs
    rt = make_runtime(tmp_path, seed=False, clock=clock, sections=sections, url=url)  # type: ignore[arg-type]
    for name in PLAN_KEYS:
        rt.plans.set_enabled(f"engine_plans.{name}", True)
    return rt


def add_fleet(
    rt: Runtime, fleet: SshdFleet, indexes: range | list[int], roles: tuple[str, ...] = ("fleet",)
) -> list[str]:
    """Put fleet servers into the inventory (role ``fleet``); returns their names."""
    for role in roles:
        if role not in {r.name for r in rt.inventory.list_roles()}:
            rt.inventory.add_role(role)
    names = []
    for i in indexes:
        server = fleet.servers[i]
        rt.inventory.add_server(
            server.name, server.host, port=server.port, user=server.user, roles=roles
        )
        names.append(server.name)
    return names


def add_local(rt: Runtime, name: str, roles: tuple[str, ...] = ("fleet",)) -> str:
    for role in roles:
        if role not in {r.name for r in rt.inventory.list_roles()}:
            rt.inventory.add_role(role)
    rt.inventory.add_server(name, "localhost", transport="local", roles=roles)
    return name


def create(rt: Runtime, plan: str, targets: TargetSpec, **variables: str) -> JobView:
    request = JobRequest(plan=f"engine_plans.{plan}", targets=targets, variables=variables)
    return rt.jobs.create(request)


def run_now(rt: Runtime, job_id: int, on_line: Callable[[LogLine], None] | None = None) -> str:
    """Claim and run ``job_id`` in this process with the real engine; its final state."""
    state = asyncio.run(run_claimed(rt.ctx, job_id, plans=rt.plans, on_line=on_line))
    assert state is not None, f"job {job_id} was claimed elsewhere"
    return JobState(state).value


def log_text(rt: Runtime, job_id: int, server: str | None = None) -> list[str]:
    lines = rt.jobs.logs(job_id, limit=10_000_000)
    return [x.text for x in lines if server is None or x.server == server]


Snapshot = dict[str, tuple[bytes, int, int]]


def snapshot(root: Path) -> Snapshot:
    """Every path under ``root`` with its content, mode and mtime (a change to any shows)."""
    out: Snapshot = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        data = path.read_bytes() if path.is_file() else b""
        out[str(path)] = (data, st.st_mode, st.st_mtime_ns)
    return out

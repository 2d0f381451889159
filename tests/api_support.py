"""Helpers for the API tests: a runtime with test plans and a dev/prod inventory, and a real
uvicorn serving it on 127.0.0.1 (port 0: a free one) in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from otter_tui.api import ApiServer
from otter_tui.api_settings import Bind
from otter_tui.runtime import Runtime
from otter_tui.services.api_keys import ApiKeyService
from tests.fixtures_core import FixedClock, make_runtime

PLANS = '''\
from otter_tui.plan import Int, OrchestrationPlan, Secret, Text


class Greet(OrchestrationPlan):
    """Greets ``who`` (required) ``times`` times, then warns once."""

    name = "Greet"
    variables = {"who": Text(help="whom to greet"), "times": Int(default=1)}

    async def run(self, ctx):
        for _ in range(int(ctx.vars["times"])):
            ctx.log(f"hello {ctx.vars['who']}")
        ctx.warn("that was loud")


class Secretive(OrchestrationPlan):
    """Needs a token, which must never be stored."""

    name = "Secretive"
    variables = {"token": Secret()}

    async def run(self, ctx):
        ctx.log("ok")


class Gated(OrchestrationPlan):
    """Needs an approval."""

    name = "Gated"
    approval_required = True

    async def run(self, ctx):
        ctx.log("approved and ran")
'''
PLAN_KEYS = ("api_plans.Greet", "api_plans.Secretive", "api_plans.Gated")
GUARD = 20.0


def api_runtime(
    tmp_path: Path, *, sections: dict[str, dict[str, Any]] | None = None, clock: Any = None
) -> Runtime:
    """Demo inventory (``dev``) plus ``prod`` with server ``prod1``; test plans enabled; users
    ``alice`` (admin), ``bob`` (may run and approve) and ``carol`` (may only look)."""
    plans = tmp_path / "plans"
    plans.mkdir(parents=True, exist_ok=True)
    (plans / "api_plans.py").write_text(PLANS)
    rt = make_runtime(tmp_path, clock=clock or FixedClock(), sections=sections)
    for key in PLAN_KEYS:
        rt.plans.set_enabled(key, True)
    rt.inventory.add_environment("prod", "production")
    rt.inventory.add_server("prod1", "localhost", transport="local", environments=("prod",))
    rt.users.add("bob", permissions=("jobs.run", "jobs.approve", "jobs.cancel"))
    rt.users.add("carol")
    return rt


def issue_key(rt: Runtime, owner: str, scope: str, **limits: tuple[str, ...]) -> str:
    """A key named ``OWNER-SCOPE``, issued by ``owner``; the token."""
    keys = ApiKeyService(rt.ctx.as_user(owner))
    return keys.add(f"{owner}-{scope}", scope, **limits)[1]  # type: ignore[arg-type]


@contextmanager
def serving(runtime: Runtime, host: str = "127.0.0.1") -> Iterator[str]:
    """A real uvicorn on a free port of ``host`` until the block ends; yields its base URL."""
    started = threading.Event()
    box: dict[str, Any] = {}

    async def main() -> None:
        server = ApiServer(runtime, Bind(host, 0))
        stop = asyncio.Event()
        box["stop"] = (asyncio.get_running_loop(), stop)
        await server.start()
        box["port"] = server.port
        started.set()
        await stop.wait()
        await server.stop()

    def run() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the test, not lost in the thread
            box["error"] = exc
            started.set()

    thread = threading.Thread(target=run, name="api-under-test", daemon=True)
    thread.start()
    assert started.wait(GUARD), "the API did not start"
    if "error" in box:
        raise box["error"]
    try:
        yield f"http://{host}:{box['port']}"
    finally:
        loop, stop = box["stop"]
        loop.call_soon_threadsafe(stop.set)
        thread.join(GUARD)

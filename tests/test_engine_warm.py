"""A long-lived engine (console, daemon) keeps SSH connections warm between jobs, and closes
a server's connections when its record is edited or removed, in this process or another."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

from otter_tui.engine.runner import Engine
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.claims import ClaimService
from otter_tui.targeting import TargetSpec
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.pool import ConnectionPool
from tests.engine_support import add_fleet, create, engine_runtime, log_text


async def run_job(rt: Runtime, engine: Engine, names: list[str]) -> str:
    job = create(rt, "Echo", TargetSpec(servers=tuple(names)), lines="1")
    assert ClaimService(rt.ctx, "test-worker", 30).claim(job.id)
    state = await engine.run_job(job.id)
    assert state.value == "succeeded", log_text(rt, job.id)
    return state.value


def pool_of(engine: Engine) -> ConnectionPool:
    assert engine.warm is not None
    return engine.warm.pool


def test_a_second_job_on_the_same_servers_reuses_their_connections(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    names = add_fleet(rt, ssh_fleet, range(3))

    async def scenario() -> None:
        engine = Engine(rt.ctx, EventBus(), plans=rt.plans, warm=True)
        await engine.start()
        try:
            await run_job(rt, engine, names)
            pool = pool_of(engine)
            assert (pool.opened, pool.reused, len(pool)) == (3, 0, 3)
            await run_job(rt, engine, names)
            assert (pool.opened, pool.reused, len(pool)) == (3, 3, 3)
        finally:
            await engine.close()
        assert len(pool) == 0

    asyncio.run(scenario())


def test_editing_or_removing_a_server_closes_its_connection(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    names = add_fleet(rt, ssh_fleet, range(3))

    async def scenario() -> None:
        engine = Engine(rt.ctx, EventBus(), plans=rt.plans, warm=True)
        await engine.start()
        try:
            await run_job(rt, engine, names)
            pool = pool_of(engine)
            rt.inventory.update_server(names[0], description="moved to rack 4")
            rt.inventory.remove_server(names[1])
            assert engine.warm is not None
            await engine.warm.check()
            assert [key.name for key in pool.idle_keys()] == [names[2]]
            await run_job(rt, engine, [names[0], names[2]])
            assert (pool.opened, pool.reused) == (4, 1)
        finally:
            await engine.close()

    asyncio.run(scenario())


def test_the_one_shot_engine_keeps_nothing(tmp_path: Path, ssh_fleet: SshdFleet) -> None:
    rt = engine_runtime(tmp_path, ssh_fleet)
    names = add_fleet(rt, ssh_fleet, range(1))

    async def scenario() -> None:
        engine = Engine(rt.ctx, EventBus(), plans=rt.plans)
        await engine.start()
        try:
            await run_job(rt, engine, names)
            assert engine.warm is None
        finally:
            await engine.close()

    asyncio.run(scenario())


def test_new_ssh_settings_close_the_kept_connections_and_use_a_new_pool(
    tmp_path: Path, ssh_fleet: SshdFleet
) -> None:
    """A daemon's SIGHUP with changed ``[ssh]``: connections made under the old settings (other
    keys, other known_hosts) are not lent to runs under the new ones."""
    rt = engine_runtime(tmp_path, ssh_fleet)
    names = add_fleet(rt, ssh_fleet, range(2))

    async def scenario() -> None:
        engine = Engine(rt.ctx, EventBus(), plans=rt.plans, warm=True)
        await engine.start()
        try:
            await run_job(rt, engine, names)
            old = pool_of(engine)
            new = dataclasses.replace(
                rt.settings, ssh=dataclasses.replace(rt.settings.ssh, pool_size=1)
            )
            await engine.use_ssh_settings(new)
            assert len(old) == 0 and pool_of(engine) is not old
            await run_job(rt, engine, names)
            assert (pool_of(engine).opened, pool_of(engine).size, len(pool_of(engine))) == (2, 1, 1)
        finally:
            await engine.close()

    asyncio.run(scenario())

"""A plan exclusive per server: two jobs of it never run on one server at once, whichever worker
(process, connection pool) runs them; the later one logs ``waiting for server X`` and waits its
turn; a cancel reaches it while it waits; the record override turns it off."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.engine.runner import Engine
from otter_tui.engine.worker import Worker
from otter_tui.events import EventBus
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.services.plans import PlanService
from otter_tui.targeting import TargetSpec
from tests.engine_support import add_local, engine_runtime, log_text
from tests.fixtures_ssh import wait_until
from tests.test_jobs_claims import own_context

pytestmark = pytest.mark.both_stores

PLAN = '''
import asyncio
from pathlib import Path

from otter_tui.plan import OrchestrationPlan, Text


class Deploy(OrchestrationPlan):
    """Holds its server for a second, or until ``release`` exists when that names a file."""

    name = "Deploy"
    exclusive = True
    variables = {"release": Text(default="")}

    async def run(self, ctx):
        ctx.log("switching")
        release = str(ctx.vars["release"])
        if not release:
            await asyncio.sleep(1)
        for _ in range(600):
            if not release or Path(release).exists():
                break
            await asyncio.sleep(0.05)
        ctx.log("switched")
'''
DEPLOY = "deploy.Deploy"


@pytest.fixture
async def two_workers(tmp_path: Path, store_url: str | None) -> AsyncIterator[Runtime]:
    """A runtime with the Deploy plan, and two workers on their own connection pools."""
    rt = engine_runtime(tmp_path, url=store_url)
    (tmp_path / "plans" / "deploy.py").write_text(PLAN)
    rt.plans.sync()
    rt.plans.set_enabled(DEPLOY, True)
    add_local(rt, "here")
    contexts = [own_context(rt) for _ in range(2)]
    engines = [Engine(ctx, EventBus(), plans=PlanService(ctx)) for ctx in contexts]
    workers = [
        Worker(e, poll_seconds=0.05, name=f"w{i}", prune_every=None) for i, e in enumerate(engines)
    ]
    for engine, worker in zip(engines, workers, strict=True):
        await engine.start()
        await worker.start()
    yield rt
    for engine, worker in zip(engines, workers, strict=True):
        await worker.stop(5)
        await engine.close()
    for ctx in contexts:
        ctx.db.dispose()
    rt.close()


def deploy(rt: Runtime, release: Path | None = None) -> JobView:
    variables = {"release": str(release)} if release else {}
    return rt.jobs.create(JobRequest(DEPLOY, TargetSpec(servers=("here",)), variables))


async def finished(rt: Runtime, *jobs: JobView) -> list[JobView]:
    def done() -> bool:
        return all(rt.jobs.show(j.id).state not in ("queued", "running") for j in jobs)

    assert await wait_until(done, timeout=30)
    return [rt.jobs.show(j.id) for j in jobs]


async def test_the_later_job_waits_for_the_server_and_never_overlaps(two_workers: Runtime) -> None:
    rt = two_workers
    first, second = await finished(rt, deploy(rt), deploy(rt))
    assert (first.state, second.state) == ("succeeded", "succeeded")
    runs = sorted((first.server_runs[0], second.server_runs[0]), key=lambda r: str(r.started_at))
    assert runs[0].finished_at is not None and runs[1].started_at is not None
    assert runs[1].started_at >= runs[0].finished_at
    waited = [j for j in (first, second) if any("waiting" in t for t in log_text(rt, j.id))]
    assert len(waited) == 1
    other = first if waited[0] is second else second
    assert f"waiting for server here (job {other.id} runs Deploy there)" in log_text(
        rt, waited[0].id
    )


async def test_a_cancel_reaches_a_job_waiting_for_its_server(
    two_workers: Runtime, tmp_path: Path
) -> None:
    rt = two_workers
    release = tmp_path / "release"
    first = deploy(rt, release)  # holds the server until the test releases it
    # "switching" is logged once it holds the server's lock; "running" alone is not enough: a
    # loaded worker can still be preparing the job when the second one takes the lock first
    assert await wait_until(lambda: "switching" in log_text(rt, first.id), timeout=20)
    second = deploy(rt)
    assert await wait_until(
        lambda: "waiting for server here" in " ".join(log_text(rt, second.id)), timeout=20
    )
    rt.jobs.cancel(second.id)
    assert await wait_until(lambda: rt.jobs.show(second.id).state == "cancelled", timeout=20)
    release.touch()
    one, two = await finished(rt, first, second)
    assert (one.state, two.state) == ("succeeded", "cancelled")
    assert two.server_runs[0].error == "cancelled while waiting for its server"
    assert "switching" not in log_text(rt, second.id)


async def test_the_record_override_turns_it_off(two_workers: Runtime) -> None:
    rt = two_workers
    rt.plans.override(DEPLOY, "exclusive", "false")
    first, second = await finished(rt, deploy(rt), deploy(rt))
    assert not any("waiting" in t for j in (first, second) for t in log_text(rt, j.id))
    one, two = first.server_runs[0], second.server_runs[0]
    assert one.started_at and two.started_at and one.finished_at and two.finished_at
    assert max(one.started_at, two.started_at) < min(one.finished_at, two.finished_at)


async def test_no_wait_refuses_while_the_server_is_busy(
    two_workers: Runtime,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = two_workers
    first = deploy(rt)
    assert await wait_until(lambda: "switching" in log_text(rt, first.id), timeout=10)
    args = ["--config", str(tmp_path / "config.toml"), "run", DEPLOY, "--servers", "here"]
    assert run([*args, "--no-wait", "--detach"], actor="alice") == 2
    assert capsys.readouterr().err == (
        f"otter-tui: error: server here is busy: job {first.id} runs 'Deploy' there, which is "
        "exclusive per server (run without --no-wait to wait for it)\n"
    )
    assert [j.id for j in rt.jobs.recent()] == [first.id]
    await finished(rt, first)
    assert run([*args, "--no-wait", "--detach"], actor="alice") == 0

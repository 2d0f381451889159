"""Sections out of sight (behind a job's detail, or while another section is shown): the changes
that come in meanwhile do not reload them, since nobody sees it and the keys wait for the event
loop (a hidden Jobs list reloaded 69 times while a 500-server job streamed); each reloads when
it is shown again, and then shows every change."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.events import JobStateChanged
from otter_tui.runtime import Runtime
from screens.drift import DriftScreen
from screens.job_detail import JobDetailScreen
from screens.jobs import JobsScreen
from screens.servers import ServersScreen
from tests.screens_support import SIZE, deploy_runtime, rows, settle, until
from tests.test_screens_jobs import console, deploy, open_first_job, open_section


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def count_loads(screen: JobsScreen | DriftScreen) -> list[int]:
    """Count the section's reads of the store from now on (one number, in a list)."""
    loads, start = [0], screen._loads.start

    def counted() -> object:
        loads[0] += 1
        return start()

    screen._loads.start = counted
    return loads


async def test_the_jobs_list_behind_a_job_detail_waits_to_reload_until_shown_again(
    runtime: Runtime,
) -> None:
    deploy(runtime)
    app, bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_job(pilot)
        assert isinstance(app.screen, JobDetailScreen)
        jobs = app.screen_stack[-2]
        assert isinstance(jobs, JobsScreen)
        loads = count_loads(jobs)
        later = deploy(runtime, "2.0.0")
        for state in ("queued", "running", "succeeded"):
            await bus.publish(JobStateChanged(later.id, state, runtime.ctx.now()))
        await settle(pilot)
        assert loads == [0]
        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is jobs and loads[0] >= 1  # the change feed's tick may add one
        assert rows(app, "#jobs")[0][0] == str(later.id)


async def test_a_section_shown_again_reads_what_changed_while_another_was_shown(
    runtime: Runtime,
) -> None:
    app, bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_section(pilot, "2")
        assert rows(app, "#jobs") == []
        await open_section(pilot, "7")
        drift = app.screen
        assert isinstance(drift, DriftScreen)
        jobs = app.get_screen_stack("jobs")[-1]
        assert isinstance(jobs, JobsScreen)
        loads = count_loads(jobs)
        job = deploy(runtime)
        await bus.publish(JobStateChanged(job.id, "queued", runtime.ctx.now()))
        await settle(pilot)
        assert loads == [0]
        await open_section(pilot, "2")
        assert loads[0] >= 1 and rows(app, "#jobs")[0][0] == str(job.id)


async def test_the_servers_list_follows_the_store_only_when_shown(runtime: Runtime) -> None:
    """Another process adds a server while the Jobs section is shown: the change feed sees it,
    the hidden Servers list is not read again until the operator goes back to it."""
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        servers = app.screen
        assert isinstance(servers, ServersScreen)
        reads, reload = [0], servers._shown.reload
        servers._shown.reload = lambda: (reads.__setitem__(0, reads[0] + 1), reload())
        await open_section(pilot, "2")
        seen = app.feed.last["audit"]
        runtime.inventory.add_server("web-03", "10.0.0.7", roles=["web"])
        await until(pilot, lambda: app.feed.last["audit"] != seen)
        await settle(pilot)
        assert reads == [0] and servers._shown.waiting
        await open_section(pilot, "1")
        assert reads == [1]
        assert "web-03" in [row[0] for row in rows(app, "#servers")]


async def test_changes_for_the_list_behind_a_job_detail_do_not_repaint_the_detail_whole(
    runtime: Runtime,
) -> None:
    """Textual repaints the whole top screen after each message a screen under it handles: the
    Jobs list behind a job's detail, sent each event of a 500-server run, had the detail
    repainted whole 200-300 times in ten seconds. Events reach a section without a message."""
    deploy(runtime)
    app, bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_job(pilot)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        await settle(pilot)
        compositor, full = detail._compositor, [0]
        render_full = compositor.render_full_update

        def counted(simplify: bool = False) -> object:
            full[0] += 1
            return render_full(simplify=simplify)

        compositor.render_full_update = counted  # type: ignore[method-assign]
        later = deploy(runtime, "2.0.0")
        for state in ("queued", "running", "succeeded") * 4:
            await bus.publish(JobStateChanged(later.id, state, runtime.ctx.now()))
            await pilot.pause()
        await settle(pilot)
        assert full == [0]

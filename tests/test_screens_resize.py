"""A job's screen is laid out once when it opens: its own first Resize (the size it was just laid
out at) does not lay it, and the section under it, out again. A real resize of the terminal
still lays it out, with its breakpoint classes (``screens/breakpoints.LaidOutOnce``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.screen import Screen

from otter_tui.runtime import Runtime
from screens.job_detail import JobDetailScreen
from screens.jobs import JobsScreen
from tests.screens_support import SIZE, deploy_runtime, settle
from tests.test_screens_jobs import console, deploy, open_first_job


@pytest.fixture
def runtime(tmp_path: Path) -> Iterator[Runtime]:
    yield from deploy_runtime(tmp_path)


def counting(monkeypatch: pytest.MonkeyPatch, cls: type, name: str) -> list[Any]:
    """Record the object of every call of ``cls.name`` from now on."""
    calls: list[Any] = []
    real = getattr(cls, name)

    def counted(self: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(self)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, counted)
    return calls


async def test_opening_a_job_leaves_the_list_under_it_alone(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy(runtime)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await settle(pilot)
        laid_out = counting(monkeypatch, Screen, "_refresh_layout")
        await pilot.press("enter")
        await settle(pilot)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        assert not [s for s in laid_out if isinstance(s, JobsScreen)]  # nothing to see there
        assert laid_out.count(detail) >= 1


async def test_a_resized_terminal_still_lays_the_job_out_with_its_breakpoints(
    runtime: Runtime,
) -> None:
    deploy(runtime)
    app, _bus = console(runtime, runs_jobs=False)
    async with app.run_test(size=SIZE) as pilot:
        await open_first_job(pilot)
        detail = app.screen
        assert isinstance(detail, JobDetailScreen)
        assert detail.has_class("-wide") and detail.has_class("-tall")
        await pilot.resize_terminal(100, 30)
        await settle(pilot)
        assert detail.has_class("-narrow") and detail.has_class("-short")
        assert not detail.has_class("-wide")
        assert detail.size == (100, 30)
        assert detail.query_one("#runs").region.right <= 100
        await pilot.resize_terminal(*SIZE)
        await settle(pilot)
        assert detail.has_class("-wide") and detail.size == SIZE

"""Search and filter driven with Pilot: ``/`` on Jobs filters the list in the database; ``/`` in a
job searches its stored log, highlights the text, n / N step through matches (the next page read
when needed), the selected server run filters, Esc goes back to the log."""

from __future__ import annotations

import threading

import pytest
from rich.text import Text
from textual.widgets import DataTable, Input

from otter_tui.errors import OtterError
from otter_tui.runtime import Runtime
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import Job, JobState
from otter_tui.targeting import TargetSpec
from screens.app import OtterApp
from screens.job_detail import JobDetailScreen
from tests.screens_support import DEPLOY, SIZE, rows, settle, until
from tests.test_job_search import add_job_with_log
from tests.test_job_search import runtime as runtime


@pytest.fixture
def jobs(runtime: Runtime) -> tuple[int, int]:
    request = JobRequest(DEPLOY, TargetSpec(roles=("demo",)), {"version": "1"})
    failed, other = runtime.jobs.create(request), runtime.jobs.create(request)
    with runtime.db.transaction() as s:
        job = s.get(Job, failed.id)
        assert job is not None
        job.state, job.error = JobState.FAILED, "disk full"
    return failed.id, other.id


async def test_slash_filters_jobs_by_state_and_esc_clears(
    runtime: Runtime,
    jobs: tuple[int, int],
) -> None:
    failed, other = jobs
    app = OtterApp(runtime)
    async with app.run_test(size=(80, 24)) as pilot:
        await app.run_action("section('jobs')")
        await settle(pilot)
        assert [r[0] for r in rows(app, "#jobs")] == [str(other), str(failed)]
        await pilot.press("slash", *"state:failed", "enter")
        await settle(pilot)
        await until(pilot, lambda: [r[0] for r in rows(app, "#jobs")] == [str(failed)])
        count = str(app.screen.query_one("#jobs-count").render())
        assert count.startswith("1 job matching 'state:failed'")
        await pilot.press("escape")
        await settle(pilot)
        await until(pilot, lambda: len(rows(app, "#jobs")) == 2)
        await pilot.press("slash", *"state:nope", "enter")
        await settle(pilot)
        assert len(rows(app, "#jobs")) == 2


async def test_slash_in_a_job_searches_its_stored_log_with_n_and_a_server_filter(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("screens.log_search.PAGE", 3)
    lines = [
        ("web1" if i % 2 else "db1", f"line {i} {'Boom' if i % 5 == 0 else 'ok'}")
        for i in range(1, 41)
    ]
    job_id, _runs = add_job_with_log(runtime, lines)
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        await app.run_action("section('jobs')")
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, JobDetailScreen) and screen.view.id == job_id
        await pilot.press("slash", *"boom", "enter")
        await settle(pilot)
        table: DataTable[Text] = screen.query_one("#log-matches", DataTable)
        assert [r[0] for r in rows(app, "#log-matches")] == ["5", "10", "15"]
        cell = table.get_cell_at((0, 3))
        assert cell.plain == "line 5 Boom"
        assert any(
            span.style == "reverse" and cell.plain[span.start : span.end] == "Boom"
            for span in cell.spans
        )
        await pilot.press("n", "n")
        assert table.cursor_row == 2
        await pilot.press("n")  # past the page: the next one is read
        await settle(pilot)
        await until(pilot, lambda: table.row_count == 6)
        await pilot.press("N")
        assert table.cursor_row == 1
        await pilot.press("escape")
        await settle(pilot)
        assert not screen.has_class("-searching")
        await pilot.press("down")  # the first server run: db1 (the even lines)
        await settle(pilot)
        await pilot.press("slash")
        search_input = screen.query_one("#log-search-input")
        search_input.value = "boom"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await settle(pilot)
        servers = {r[2] for r in rows(app, "#log-matches")}
        assert servers == {"db1"}
        status = str(screen.query_one("#log-search-status").render())
        assert "in db1" in status


async def test_a_new_search_replaces_the_matches_when_its_read_ends(
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last search's matches stay under "searching..." until the new ones replace them in
    one go (the table is not emptied first); n / N wait for the new ones; a failed search
    leaves its error line and no stale matches; an emptied search calls the read off."""
    lines = [
        ("web1", f"line {i} {'Boom' if i % 5 == 0 else 'Bang' if i % 7 == 0 else 'ok'}")
        for i in range(1, 41)
    ]
    job_id, _runs = add_job_with_log(runtime, lines)
    search = runtime.search
    real = search.log_matches
    gate = threading.Event()
    reads: list[str] = []

    def gated(job: int, text: str, **kwargs: object) -> object:
        reads.append(text)
        if text == "fail":
            raise OtterError("the search went wrong")
        gate.wait(10)
        return real(job, text, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(search, "log_matches", gated)
    app = OtterApp(runtime)
    async with app.run_test(size=SIZE) as pilot:
        app.open_job(job_id)
        await until(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        screen = app.screen
        gate.set()
        await pilot.press("slash", *"boom", "enter")
        await settle(pilot)
        assert [r[0] for r in rows(app, "#log-matches")] == [
            "5",
            "10",
            "15",
            "20",
            "25",
            "30",
            "35",
            "40",
        ]
        gate.clear()
        field = screen.query_one("#log-search-input", Input)
        field.value = "bang"
        field.focus()
        await pilot.press("enter")
        await until(pilot, lambda: "searching" in status(screen))
        assert [r[0] for r in rows(app, "#log-matches")][:2] == ["5", "10"]  # still the last
        screen.query_one("#log-matches", DataTable).focus()
        await pilot.press("n")  # no step in stale matches, no page read with the new text
        assert reads == ["boom", "bang"]
        gate.set()
        await settle(pilot)
        await until(
            pilot, lambda: [r[0] for r in rows(app, "#log-matches")] == ["7", "14", "21", "28"]
        )
        assert screen.query_one("#log-matches", DataTable).cursor_row == 0
        assert status(screen).startswith("4 matches for 'bang'")
        field.value = "fail"
        field.focus()
        await pilot.press("enter")
        await settle(pilot)
        await until(pilot, lambda: "the search went wrong" in status(screen))
        assert rows(app, "#log-matches") == []
        gate.clear()
        field.value = "boom"
        await pilot.press("enter")  # on its way...
        field.value = ""
        await pilot.press("enter")  # ...and called off: its matches never show
        gate.set()
        await settle(pilot)
        assert rows(app, "#log-matches") == []


def status(screen: JobDetailScreen) -> str:
    return str(screen.query_one("#log-search-status").render())

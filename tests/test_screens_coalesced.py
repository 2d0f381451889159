"""How live screens read (screens/background.py): one read in flight, changes meanwhile folded
into one more read, with a spacing that read waits for its turn; and a read's result is let go
once handled (the collector's long-run thresholds are tested in test_heap.py)."""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import App
from textual.worker import Worker

from screens.background import Coalesced, Handoff, route_result, run_blocking
from tests.screens_support import until


class Loads:
    """Counts the reads started; ``timers`` holds what a screen's ``set_timer`` was asked."""

    def __init__(self) -> None:
        self.started = 0
        self.timers: list[tuple[float, Callable[[], None]]] = []

    def start(self) -> None:
        self.started += 1

    def later(self, seconds: float, callback: Callable[[], None]) -> None:
        self.timers.append((seconds, callback))


def test_changes_during_a_read_make_exactly_one_more_read() -> None:
    loads = Loads()
    coalesced = Coalesced(loads.start)
    coalesced.request()
    for _ in range(400):  # a 200-server job's state changes
        coalesced.request()
    assert loads.started == 1
    coalesced.done()
    assert loads.started == 2
    coalesced.done()
    assert loads.started == 2  # nothing changed during the second read


def test_with_a_spacing_the_next_read_waits_its_turn_and_takes_every_change() -> None:
    """A job detail reloads a 500-server job at most every 0.5 s, however fast its runs
    change; the first read after a quiet spell still starts at once."""
    loads = Loads()
    coalesced = Coalesced(loads.start, 0.5, loads.later)
    coalesced.request()
    assert loads.started == 1
    coalesced.request()
    coalesced.done()
    assert loads.started == 1 and [s for s, _ in loads.timers] == [0.5]
    coalesced.request()  # more changes while waiting: the same read covers them
    coalesced.request()
    loads.timers[0][1]()
    assert loads.started == 2 and len(loads.timers) == 1
    coalesced.done()
    assert loads.started == 2 and len(loads.timers) == 1  # quiet: no read, no timer
    coalesced.request()
    assert loads.started == 3  # at once


class Reads(App[None]):
    """Runs one blocking read and routes its result, as the live screens do."""

    got: list[object]
    worker: Worker[Handoff]

    def on_mount(self) -> None:
        self.got = []
        self.worker = run_blocking(self, lambda: ["a line"] * 1000, group="read")

    @on(Worker.StateChanged)
    def _done(self, event: Worker.StateChanged) -> None:
        route_result(event, {"read": self.got.append}, self.got.append)


async def test_a_read_is_let_go_once_handled() -> None:
    """Textual keeps a finished worker in a cycle; what it returned must not stay with it
    until a full collection (a log pane's reads were half the console's cyclic garbage)."""
    app = Reads()
    async with app.run_test() as pilot:
        await until(pilot, lambda: bool(app.got))
        assert app.got == [["a line"] * 1000]
        assert isinstance(app.worker.result, Handoff) and app.worker.result.value is None

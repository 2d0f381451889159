"""How live screens reload (screens/background.py ``Coalesced``): one read in flight, changes
meanwhile folded into one more read, and with a spacing that read waits for its turn."""

from __future__ import annotations

from collections.abc import Callable

from screens.background import Coalesced


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

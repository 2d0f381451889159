"""The collector pause around heavy imports gives back the collector as the caller had it."""

from __future__ import annotations

import gc

import pytest

from otter_tui import heap
from otter_tui.heap import collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_pause_restores_the_callers_collector_and_freezes_nothing_of_theirs(
    enabled: bool,
) -> None:
    """Inside the block nothing is collected; after it the collector is on or off as before
    (a program that switched it off keeps it off), and a heap that is not ours is not frozen."""
    frozen_before = gc.get_freeze_count()
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        assert gc.get_freeze_count() == frozen_before
    finally:
        (gc.enable if was else gc.disable)()


@pytest.mark.parametrize("ours", [True, False])
def test_a_long_run_in_our_process_collects_young_objects_less_often(
    ours: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The daemon and a job run by the command use the long-run thresholds (lines in flight
    die young: ~20% more lines stored a second), the daemon freezing what its start-up left;
    a program embedding otter-tui keeps its collector as it set it."""
    monkeypatch.setattr(heap, "_owned", ours)
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        heap.settle_for_long_run(freeze=True)
        assert gc.get_threshold() == (heap.LONG_RUN_THRESHOLDS if ours else before)
        assert (gc.get_freeze_count() > frozen) is ours
    finally:
        gc.set_threshold(*before)
        if not frozen:
            gc.unfreeze()  # a console test waits for the heap to be frozen by its own start

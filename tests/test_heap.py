"""The collector pause around heavy imports gives back the collector as the caller had it."""

from __future__ import annotations

import gc

import pytest

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

"""Keeping section switches fast: new section screens styled once, idle sections built ahead.

Two costs dominated a section's first switch (bench/ui_sections.py): Textual re-parses and
re-applies the whole stylesheet for a new mode's screen, twice (a new screen's
``_css_update_count`` is -1, so ``_init_mode`` and then ``switch_mode`` each call
``refresh_css``), although our screens bring no CSS of their own (it is all in otter.tcss and is
applied to their widgets when they mount); and building the screen itself (its module's import,
compose, the first load). :func:`styled_now` removes the first; :func:`prebuild_sections` moves
the second to after the first frame, one section at a time so keys are served in between, and
then collects once and freezes the heap: the collector's full passes (0.2-0.4 s each, the worst
switch times) stop rescanning the long-lived objects, and CPython defers the next full pass
until the objects that survived since grow past a quarter of what the last one kept. The
collector's thresholds are then those of a long run (``otter_tui.heap.freeze_for_long_run``).
"""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from textual.app import App
from textual.screen import Screen

from otter_tui.heap import freeze_for_long_run
from screens.context import ConsoleContext
from screens.sections import SECTIONS, Section

ScreenT = TypeVar("ScreenT", bound=Screen[Any])
PREBUILD_GAP = 0.05
"""Seconds between two sections built ahead: the event loop serves keys in between."""


def styled_now(app: App[Any], screen: ScreenT) -> ScreenT:
    """Mark a new section screen as styled with the app's current stylesheet.

    Only for screens with no CSS of their own: their widgets get the current styles when they
    mount. A theme change later still restyles them (the app's count moves on).
    """
    if not screen.CSS and not screen.css_path:
        screen._css_update_count = app._css_update_count
    return screen


def build_styled(app: App[Any], section: Section, ctx: ConsoleContext) -> Screen[None]:
    """Build ``section``'s screen (the app's factory for its mode), styled already."""
    return styled_now(app, section.build(ctx))


async def prebuild_sections(app: App[Any]) -> None:
    """Build (and mount, off screen) each mode's base screen not built yet, then freeze the heap.

    Uses Textual's ``_init_mode`` (what ``switch_mode`` does for a new mode, without making it
    current); a mode switched to meanwhile is skipped.
    """
    for mode in [section.mode for section in SECTIONS]:
        if app.return_code is not None or not app.is_running:
            return  # exiting: Textual closes the modes' stacks, and a new one breaks that
        if mode not in app._screen_stacks:
            await app._init_mode(mode)
            await asyncio.sleep(PREBUILD_GAP)
    freeze_for_long_run()

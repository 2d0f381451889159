"""A screen's breakpoint classes (``-narrow``, ``-short``...) set before its first layout.

Textual sets them when the screen gets its first Resize, which comes after the screen has been
laid out and painted once: every style is then applied again, each table forgets its rendered
rows, and the screen is painted a second time (30-40 ms for a job's screen with 501 server
runs). A screen that calls :func:`set_breakpoints` from ``compose`` is styled once, for the
size it is shown at; the Resize finds the classes already right and changes nothing.
"""

from __future__ import annotations

from typing import Any

from textual import events
from textual.geometry import Size
from textual.screen import Screen


def breakpoint_classes(screen: Screen[Any], size: Size) -> dict[str, bool]:
    """What Textual's ``Screen._on_resize`` would set for ``size``: each class on or off."""
    app = screen.app
    horizontal = screen.HORIZONTAL_BREAKPOINTS
    vertical = screen.VERTICAL_BREAKPOINTS
    axes = (
        (size.width, (app.HORIZONTAL_BREAKPOINTS if horizontal is None else horizontal) or []),
        (size.height, (app.VERTICAL_BREAKPOINTS if vertical is None else vertical) or []),
    )
    classes: dict[str, bool] = {}
    for dimension, breakpoints in axes:
        chosen = next((c for at, c in sorted(breakpoints, reverse=True) if dimension >= at), None)
        classes.update({name: name == chosen for _, name in breakpoints})
    return classes


def set_breakpoints(screen: Screen[Any]) -> None:
    """Set the classes for the app's size now (call it from the screen's ``compose``)."""
    screen.update_classes(breakpoint_classes(screen, screen.app.size), animate=False)


class LaidOutOnce(Screen[Any]):
    """A screen that skips the second layout of its first showing.

    A screen's first layout sizes the screen itself, which posts it a Resize; Textual's
    handler lays the screen out again at that same size, and every screen under it too: a
    second layout and repaint when a job's screen opens (15-20 ms of 300, bench/log_search.py).
    A Resize to the size the screen is already laid out at only (re)sets the breakpoint
    classes; a real resize of the terminal (a new size) goes to Textual's handler as before.
    """

    async def _on_resize(self, event: events.Resize) -> None:
        if event.size != self.outer_size:  # the size of its last layout (``size``: the app's)
            return
        self.update_classes(breakpoint_classes(self, event.size), animate=False)
        event.stop()
        event.prevent_default()

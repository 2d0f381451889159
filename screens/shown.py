"""Reloads that wait until their screen is shown.

A section's screen follows changes (the store's change feed, the engine's events) whether or not
it is shown: behind a job detail, or while another section is current. Reloading a hidden screen
is work nobody sees, done on the event loop the keys wait for: while a daemon ran a job on 500
servers, the hidden Servers, Jobs and Drift sections reloaded their tables on the console's loop
and key presses waited seconds (bench/keys.py). A reload asked for while the screen is hidden is
noted instead, and done once when the screen is shown again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.dom import DOMNode
from textual.screen import ModalScreen, Screen
from textual.signal import Signal

from otter_tui.events import Event


def shown(screen: Screen[Any]) -> bool:
    """``screen`` is on top of the current section's stack, or only dialogs are over it (a modal
    lets it show through). Textual's ``is_current`` also counts the screen under any pushed
    screen, such as the Jobs list under a job's detail, which is not seen."""
    stack = screen.app.screen_stack
    if screen not in stack:
        return False
    return all(isinstance(over, ModalScreen) for over in stack[stack.index(screen) + 1 :])


def listen(events: Signal[Event], node: DOMNode, callback: Callable[[Event], object]) -> None:
    """Subscribe ``node`` to the core's ``events``, ``callback`` called as each is published
    rather than posted to ``node`` as a message.

    A message handled by a screen under the top one makes Textual repaint the whole top screen:
    after it, the screen below refreshes its own region on the top screen and marks itself for
    a repaint again (``Screen._compositor_refresh``), which its next message sets off once more.
    With the Jobs list under a job's detail, each event of a 500-server run repainted the detail
    whole: 200-300 full repaints in a ten-second key bench (``bench/keys.py``). The callbacks
    are cheap, and a hidden screen only notes that it must reload (:class:`ShownReloads`)."""
    events.subscribe(node, callback, immediate=True)


class ShownReloads:
    """``request()`` reloads now if the screen is shown, else once it is (call :meth:`resumed`
    from the screen's ``on_screen_resume``)."""

    def __init__(self, screen: Screen[Any], reload: Callable[[], object]) -> None:
        self.screen = screen
        self.reload = reload
        self.waiting = False
        """A reload was asked for while the screen was hidden."""

    def request(self) -> None:
        if shown(self.screen):
            self.reload()
        else:
            self.waiting = True

    def resumed(self) -> None:
        if self.waiting:
            self.waiting = False
            self.reload()

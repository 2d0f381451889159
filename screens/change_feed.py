"""One shared change feed: the console follows what other processes change within a second.

The app reads the store's change markers (:mod:`otter_tui.services.changes`) every
:data:`FEED_SECONDS`, one read at a time in a thread worker, and publishes a :class:`StoreChanged`
with the kinds that moved on its ``core_events`` signal. Each section says which kinds it shows
(``Section.watches``, collected in :data:`WATCHES`) and reloads when one of them moved: one poll
for the whole console, not one per widget, and a quiet store costs one small read per tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.dom import DOMNode
from textual.signal import Signal

from otter_tui.events import Event
from screens.sections import SECTIONS
from screens.shown import listen, shown

if TYPE_CHECKING:  # imported on the first read: the first frame is painted before the store opens
    from otter_tui.services.changes import Marker
    from otter_tui.services.context import ServiceContext

log = logging.getLogger(__name__)
FEED_SECONDS = 0.5
"""How often the markers are read: a change by another process shows within about a second."""
WATCHES: Mapping[str, frozenset[str]] = {section.mode: section.watches for section in SECTIONS}
"""The kinds of change each section shows (from its entry in ``SECTIONS``)."""


@dataclass(frozen=True)
class StoreChanged(Event):
    """Rows of these kinds changed in the store (by any process) since the last read."""

    kinds: frozenset[str]

    def touches(self, section: str) -> bool:
        return bool(self.kinds & WATCHES.get(section, self.kinds))


class ChangeFeed:
    """Compares each read with the last and says what moved.

    The first read is taken when the feed is made, before any section loads: without it the
    first tick would report every kind and make every section built by then load twice (the
    Schedules section with 10,000 schedules painted in 0.55 s instead of 0.25 s when that tick
    fell during its first load). What changes after that read and before a section's own load
    moves a marker, so it still shows.
    """

    def __init__(self, ctx: ServiceContext, publish: Callable[[Event], None]) -> None:
        self.ctx = ctx
        self.publish = publish
        """Called on the UI thread with a :class:`StoreChanged` when something moved."""
        self.last: dict[str, Marker] = self._baseline()
        self.busy = False
        """A read is in flight: the next tick skips."""

    def _baseline(self) -> dict[str, Marker]:
        try:
            return self.read()
        except Exception:  # a store that fails now fails the ticks too; they say so
            log.warning("change feed: no first read; the first tick reloads every section")
            return {}

    def read(self) -> dict[str, Marker]:
        """Blocking: the markers now (call it from a thread worker)."""
        from otter_tui.services.changes import read_markers

        return read_markers(self.ctx)

    def got(self, markers: dict[str, Marker]) -> None:
        """On the UI thread: publish what moved since the previous read."""
        from otter_tui.services.changes import changed_kinds

        self.busy = False
        kinds = changed_kinds(self.last, markers)
        self.last = markers
        if kinds:
            self.publish(StoreChanged(kinds))


def follow_store(
    events: Signal[Event], node: DOMNode, section: str, reload: Callable[[], object]
) -> None:
    """Call ``reload`` (on the UI thread) when the feed says what ``section`` shows changed,
    while ``node``'s screen is shown: a hidden one must reload when it is shown again."""

    def changed(event: Event) -> None:
        if isinstance(event, StoreChanged) and event.touches(section) and shown(node.screen):
            reload()

    listen(events, node, changed)

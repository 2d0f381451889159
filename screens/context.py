"""What every section screen is built with: the services, the core's events and the job runner."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.signal import Signal

from otter_tui.events import Event

if TYPE_CHECKING:  # not at import: the console paints its first frame before it opens the runtime
    from otter_tui.runtime import Runtime
    from screens.job_runner import ConsoleRunner


@dataclass(frozen=True)
class ConsoleContext:
    """Handed to each section's screen by the app."""

    runtime: Runtime
    """The services every screen calls."""
    events: Signal[Event]
    """Every core event, on the UI thread."""
    runner: ConsoleRunner | None = None
    """Runs jobs in this process; None when nothing here runs jobs (a test, a read-only view)."""

"""UI-only messages shared by more than one screen."""

from __future__ import annotations

from textual.message import Message

from otter_tui.events import Event, Resync


class CoreEvent(Message):
    """An event from the core's bus, delivered on the UI thread by the app's bridge."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
        """The core event, unchanged."""

    def can_replace(self, message: Message) -> bool:
        # Two queued "reload everything" requests are one reload.
        return (
            isinstance(message, CoreEvent)
            and isinstance(message.event, Resync)
            and isinstance(self.event, Resync)
        )


class InventoryChanged(Message):
    """A pane changed the inventory: its screen reloads what it shows."""

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.select = select
        """The name to put the cursor on after the reload, if any."""


class JobsChanged(Message):
    """A screen created, cancelled or decided on a job: job lists reload what they show."""

    def __init__(self, select: int | None = None) -> None:
        super().__init__()
        self.select = select
        """The job to put the cursor on after the reload, if any."""


class ShowJobInList(Message):
    """A job was just created: the app goes to the Jobs section with the cursor on it."""

    def __init__(self, job_id: int) -> None:
        super().__init__()
        self.job_id = job_id
        """The new job."""

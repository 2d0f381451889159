"""What collecting and applying an operation report, and the typed failure of a step.

Collect answers "is this server as desired?" with one of three words, and "unknown" is an
honest answer: a step whose outcome cannot be known without a real run (a command with no
guard) never claims "no change". Apply answers "did I change anything?".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from otter_tui.errors import OtterError


class Status(enum.StrEnum):
    """The state of one managed item; collect gives the first three, a run adds the last two."""

    DESIRED = "desired"
    DRIFTED = "drifted"
    UNKNOWN = "unknown"
    ERROR = "error"
    CHANGED = "changed"


@dataclass(frozen=True)
class Collected:
    """The result of a read-only look at one item on one server."""

    status: Status
    diff: str = ""
    """For a drifted item: a unified diff (files, lines) or a short text of what would change."""
    reason: str = ""
    """For an unknown item: why the outcome cannot be known without a real run."""

    @classmethod
    def desired(cls) -> Collected:
        return cls(Status.DESIRED)

    @classmethod
    def drifted(cls, diff: str) -> Collected:
        return cls(Status.DRIFTED, diff=diff)

    @classmethod
    def unknown(cls, reason: str, diff: str = "") -> Collected:
        return cls(Status.UNKNOWN, diff=diff, reason=reason)


@dataclass(frozen=True)
class Applied:
    """The result of bringing one item to its desired state."""

    changed: bool
    message: str = ""


@dataclass(frozen=True)
class ItemResult:
    """One operation's outcome in a configuration run: what the engine records and shows."""

    description: str
    status: Status
    diff: str = ""
    message: str = ""
    """The reason for unknown, the error line, or what apply said."""


class StepFailed(OtterError):
    """A command of a plan exited non-zero (or could not run); the message names it, masked."""

    def __init__(self, message: str, *, command: str = "", exit_status: int | None = None):
        super().__init__(message)
        self.command = command
        """The command as it may be shown (secrets masked)."""
        self.exit_status = exit_status


class FactError(OtterError):
    """A read-only look at a server failed (permission denied, a tool missing)."""

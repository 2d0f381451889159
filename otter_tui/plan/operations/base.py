"""The shape every operation has, and the two helpers they share for running commands.

An operation is a value built in a plan (``file(...)``, ``line(...)``); it does nothing until
the engine calls :meth:`Operation.collect` (read-only commands only) and, for a drifted item
in a real run, :meth:`Operation.apply` (only the commands that must change something).
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from otter_tui.plan.results import Applied, Collected, FactError, StepFailed
from otter_tui.transport.base import Command, CommandResult, LineSink, Transport


class Operation(ABC):
    """One declarative item of desired state (Otter's Ensure operation, pyinfra's operation)."""

    @abstractmethod
    def describe(self) -> str:
        """The change this operation manages, in a few words: ``file /etc/motd (mode 0644)``."""

    async def collect(self, t: Transport) -> Collected:
        """Is the server as desired? A failed look is ``unknown`` with its reason, not a crash."""
        try:
            return await self.inspect(t)
        except FactError as exc:
            return Collected.unknown(str(exc))

    @abstractmethod
    async def inspect(self, t: Transport) -> Collected:
        """The collect logic; may raise ``FactError`` when the server cannot be read."""

    @abstractmethod
    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        """Make the change; raises ``StepFailed`` when a command fails."""

    def __str__(self) -> str:
        return self.describe()


async def run_checked(
    t: Transport, command: Command, on_line: LineSink | None = None
) -> CommandResult:
    """Run a changing command; a non-zero exit is a ``StepFailed`` naming the masked command."""
    result = await t.run(command, on_line)
    if not result.ok:
        raise step_failed(t.name, command, result)
    return result


def step_failed(server: str, command: Command, result: CommandResult) -> StepFailed:
    """The one-line error for a failed command, with stderr's last line as the hint."""
    hint = last_line(result.stderr) or last_line(result.stdout)
    shown = command.display()
    message = f"{server}: '{shown}' exited with status {result.exit_status}"
    if hint:
        message += f": {command_mask(command, hint)}"
    return StepFailed(message, command=shown, exit_status=result.exit_status)


async def read_fact(t: Transport, command: Command) -> str:
    """Run a read-only command whose failure means "cannot tell"; its stdout on success."""
    result = await t.run(command)
    if not result.ok:
        hint = last_line(result.stderr) or f"exit status {result.exit_status}"
        raise FactError(f"cannot read from {t.name}: {command_mask(command, hint)}")
    return result.stdout


def last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else ""


def command_mask(command: Command, text: str) -> str:
    """``text`` with the command's secrets masked (server output may echo them)."""
    return Command(text, command.secrets).display()

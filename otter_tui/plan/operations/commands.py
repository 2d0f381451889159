"""A command made idempotent by a guard, the way Otter, Ansible and Salt do it.

The guard is what collect runs, so it must be read-only:

- ``creates=path``: the command's job is done when ``path`` exists;
- ``unless=cmd``: done when ``cmd`` exits 0 (``unless="grep -q x /etc/f"``);
- ``onlyif=cmd``: needed only when ``cmd`` exits 0, so done when it exits non-zero.

With several guards, the command is needed only when every guard says so. Without any guard
nothing read-only can tell whether it is needed, so collect says ``unknown``, a simulation says
so, and a real remediation runs it every time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from otter_tui.errors import UsageError
from otter_tui.plan.operations.base import Operation, run_checked
from otter_tui.plan.operations.facts import path_info
from otter_tui.plan.results import Applied, Collected
from otter_tui.transport.base import Command, LineSink, Transport


@dataclass(frozen=True)
class CommandOp(Operation):
    """Run ``command`` when its guards say the job is not done yet."""

    command: Command
    creates: str | None = None
    unless: Command | None = None
    onlyif: Command | None = None

    @property
    def guarded(self) -> bool:
        return any(g is not None for g in (self.creates, self.unless, self.onlyif))

    def describe(self) -> str:
        guards = [f"creates {self.creates}" if self.creates else ""]
        guards += [f"unless {self.unless}" if self.unless else ""]
        guards += [f"onlyif {self.onlyif}" if self.onlyif else ""]
        shown = ", ".join(g for g in guards if g)
        return f"run {self.command.display()}" + (f" ({shown})" if shown else "")

    async def inspect(self, t: Transport) -> Collected:
        would = f"would run: {self.command.display()}"
        if not self.guarded:
            return Collected.unknown("no guard (creates, unless or onlyif): cannot tell", would)
        if await self._done(t):
            return Collected.desired()
        return Collected.drifted(would)

    async def _done(self, t: Transport) -> bool:
        """True as soon as one guard says the command is not needed."""
        if self.creates is not None and await path_info(t, self.creates) is not None:
            return True
        if self.unless is not None and (await t.run(self.unless)).ok:
            return True
        return self.onlyif is not None and not (await t.run(self.onlyif)).ok

    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        if self.guarded and await self._done(t):
            return Applied(False, "guard says done")
        result = await run_checked(t, self.command, on_line)
        return Applied(True, f"ran {self.command.display()} (exit status {result.exit_status})")


def command(
    cmd: str | Command,
    *,
    creates: str | None = None,
    unless: str | Command | None = None,
    onlyif: str | Command | None = None,
    secrets: Sequence[str] = (),
) -> CommandOp:
    """A shell line (or a ``Command``) run when its guard says so; ``secrets`` are masked."""
    if creates is not None and not creates.startswith("/"):
        raise UsageError(f"creates '{creates}' must be an absolute path")
    return CommandOp(
        _as_command(cmd, secrets),
        creates,
        None if unless is None else _as_command(unless, secrets),
        None if onlyif is None else _as_command(onlyif, secrets),
    )


def _as_command(cmd: str | Command, secrets: Sequence[str]) -> Command:
    if isinstance(cmd, Command):
        return Command(cmd.line, (*cmd.secrets, *secrets))
    if not cmd.strip():
        raise UsageError("command: the command line is empty")
    return Command.shell(cmd, secrets)

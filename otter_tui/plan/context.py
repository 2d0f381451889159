"""What an orchestration plan's ``run(ctx)`` works through: one server (or none), one run.

The engine builds a :class:`RunContext` per server run and passes it in; there are no globals.
In a simulation every step follows the plan's logic but changes nothing: ``shell`` logs
"would run" and returns a result marked unknown (so a plan branching on it should check
``result.unknown``), ``ensure`` collects and logs what would change, ``upload`` says what it
would write. ``probe`` is for read-only questions and runs even in simulation.

The tally (changes, would_change, unknowns, warnings) is what the engine records as the
outcome of the server run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from otter_tui.plan.drift import remediate_one
from otter_tui.plan.operations.base import Operation, step_failed
from otter_tui.plan.results import ItemResult, Status, StepFailed
from otter_tui.plan.server import ServerInfo
from otter_tui.plan.sinks import DEBUG, INFO, WARNING, LogSink, masked_lines, masked_log
from otter_tui.transport.base import Command, CommandResult, LineSink, Transport


@dataclass(frozen=True)
class ShellResult:
    """What ``ctx.shell`` or ``ctx.probe`` got back (unmasked: it is the plan's own data;
    anything it logs through ``ctx.log`` is masked)."""

    exit_status: int
    stdout: str = ""
    stderr: str = ""
    unknown: bool = False
    """True in simulation: the command did not run, so its outcome is not known."""

    @property
    def ok(self) -> bool:
        return self.exit_status == 0


@dataclass
class Tally:
    """Counts the engine reads after ``run`` to record the server run's outcome."""

    changes: int = 0
    would_change: int = 0
    unknowns: int = 0
    warnings: int = 0


class RunContext:
    """One server run of an orchestration plan: the server, its variables, and the steps."""

    def __init__(
        self,
        *,
        transport: Transport | None,
        server: ServerInfo | None,
        variables: Mapping[str, object],
        simulation: bool,
        log: LogSink,
        output: LineSink | None = None,
        secrets: Sequence[str] = (),
        role: str | None = None,
    ) -> None:
        self._transport = transport
        self.server = server
        """The server in context; ``None`` for a job with no targets."""
        self.role = role if role is not None else (server.role if server else None)
        """The role in context (the one the job targeted this server through), if any;
        defaults to ``server.role``."""
        self.vars = variables
        """The job's typed variables over the server's resolved ones."""
        self.simulation = simulation
        self.secrets = tuple(s for s in secrets if s)
        self._log = masked_log(log, self.secrets)
        self._on_line = masked_lines(output, self.secrets)
        self.tally = Tally()

    @property
    def changes(self) -> int:
        """Changes made (commands run, operations applied, files uploaded)."""
        return self.tally.changes

    @property
    def would_change(self) -> int:
        """In simulation: operations that would have changed something."""
        return self.tally.would_change

    @property
    def unknowns(self) -> int:
        """Steps whose outcome cannot be known without a real run (simulated commands)."""
        return self.tally.unknowns

    @property
    def warnings(self) -> int:
        return self.tally.warnings

    def in_role(self, name: str) -> bool:
        """Otter's ``for role`` block: the role in context is ``name``, or, with no role in
        context, the server has that role."""
        if self.role is not None:
            return self.role == name
        return self.server is not None and name in self.server.roles

    def log(self, text: str) -> None:
        """A line for the person reading the run's log."""
        self._log(INFO, text)

    def warn(self, text: str) -> None:
        """A warning line; the run is recorded as having warnings."""
        self.tally.warnings += 1
        self._log(WARNING, text)

    async def shell(self, cmd: str | Command, check: bool = True) -> ShellResult:
        """Run a changing command; in simulation only log it and return an unknown result.

        Raises ``StepFailed`` (masked command, exit status) when ``check`` and it exits non-zero.
        """
        command = self._command(cmd)
        if self.simulation:
            self._log(INFO, f"would run: {command.display()}")
            self.tally.unknowns += 1
            return ShellResult(0, unknown=True)
        self._log(INFO, f"run: {command.display()}")
        result = await self._run(command, self._on_line)
        self.tally.changes += 1
        if check and not result.ok:
            raise step_failed(self._target().name, command, result)
        return ShellResult(result.exit_status, result.stdout, result.stderr)

    async def probe(self, cmd: str | Command) -> ShellResult:
        """Run a read-only command, even in simulation; a non-zero exit is an answer, no error."""
        command = self._command(cmd)
        self._log(DEBUG, f"probe: {command.display()}")
        result = await self._run(command, None)
        return ShellResult(result.exit_status, result.stdout, result.stderr)

    async def ensure(self, op: Operation) -> ItemResult:
        """Collect ``op``; if drifted, apply it (simulation: log what would change)."""
        item = await remediate_one(
            op, self._target(), self.simulation, self._log, self.secrets, self._on_line
        )
        if item.status is Status.ERROR:
            raise StepFailed(f"{self._target().name}: {item.description}: {item.message}")
        self._count(item.status)
        return item

    async def upload(self, path: str, data: bytes | str, mode: int | None = None) -> None:
        """Write a file atomically (simulation: only say what would be written)."""
        payload = data.encode() if isinstance(data, str) else data
        if self.simulation:
            self._log(INFO, f"would upload: {path} ({len(payload)} bytes)")
            self.tally.would_change += 1
            return
        await self._target().write_file(path, payload, mode)
        self._log(INFO, f"uploaded: {path} ({len(payload)} bytes)")
        self.tally.changes += 1

    def _count(self, status: Status) -> None:
        if status is Status.CHANGED:
            self.tally.changes += 1
        elif status is Status.DRIFTED:
            self.tally.would_change += 1
        elif status is Status.UNKNOWN:
            self.tally.unknowns += 1

    def _command(self, cmd: str | Command) -> Command:
        if isinstance(cmd, Command):
            return Command(cmd.line, (*cmd.secrets, *self.secrets))
        return Command.shell(cmd, self.secrets)

    async def _run(self, command: Command, on_line: LineSink | None) -> CommandResult:
        return await self._target().run(command, on_line)

    def _target(self) -> Transport:
        if self._transport is None:
            raise StepFailed("this run has no server in context: target a server to run commands")
        return self._transport

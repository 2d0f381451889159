"""An in-memory transport for unit tests of logic (plans, engine), never for claims about SSH.

Files are a dict (their folders exist implicitly); commands are answered by scripted handlers,
first match wins, and every command is recorded so a test can assert what would have run on the
server. ``stat`` answers from the files, so looking at a path runs no command, as over SFTP.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from otter_tui.errors import TransportError
from otter_tui.transport.base import Command, CommandResult, FileStat, LineSink

Reply = CommandResult | Callable[[Command], CommandResult]
"""A fixed result, or a function computing one from the command."""
Matcher = str | re.Pattern[str] | Callable[[Command], bool]
"""A regex searched in the command line, or a predicate on the command."""


@dataclass(eq=False)
class FakeTransport:
    """A server made of ``files`` and ``handlers``; unmatched commands exit 127.

    Compared by identity (``eq=False``), like a real connection, so it can key the per-run
    caches operations keep (owner names), which need hashable transports.
    """

    name: str = "fake"
    files: dict[str, bytes] = field(default_factory=dict)
    modes: dict[str, int] = field(default_factory=dict)
    """Mode of each file written with an explicit mode."""
    unreadable: set[str] = field(default_factory=set)
    """Paths whose ``stat`` fails as if permission were denied."""
    handlers: list[tuple[Matcher, Reply]] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)
    """Every command run, in order."""
    connected: bool = False

    def on(self, matcher: Matcher, reply: Reply) -> FakeTransport:
        """Answer commands matching ``matcher`` with ``reply``; returns self for chaining."""
        self.handlers.append((matcher, reply))
        return self

    @property
    def lines(self) -> list[str]:
        """The command lines run so far (secrets included, as the server would see them)."""
        return [command.line for command in self.commands]

    async def connect(self) -> None:
        self.connected = True

    async def close(self) -> None:
        self.connected = False

    async def run(self, command: Command, on_line: LineSink | None = None) -> CommandResult:
        self.commands.append(command)
        result = self._reply(command)
        if on_line is not None:
            for line in result.stdout.splitlines():
                await _sent(on_line("stdout", line))
            for line in result.stderr.splitlines():
                await _sent(on_line("stderr", line))
        return result

    def _reply(self, command: Command) -> CommandResult:
        for matcher, reply in self.handlers:
            if _matches(matcher, command):
                return reply(command) if callable(reply) else reply
        return CommandResult(127, "", f"fake: no handler for {command.display()}\n")

    async def stat(self, path: str) -> FileStat | None:
        if path in self.unreadable:
            raise TransportError(f"{self.name}: cannot stat {path}: Permission denied")
        if path in self.files:
            return FileStat("file", self.modes.get(path, 0o644), 0, 0, len(self.files[path]))
        folder = path.rstrip("/") + "/"
        if folder == "/" or any(name.startswith(folder) for name in self.files):
            return FileStat("directory", 0o755, 0, 0, 4096)
        return None

    async def read_file(self, path: str, size_hint: int | None = None) -> bytes | None:
        return self.files.get(path)

    async def write_file(self, path: str, data: bytes, mode: int | None = None) -> None:
        self.files[path] = data
        if mode is not None:
            self.modes[path] = mode


async def _sent(waiting: Awaitable[None] | None) -> None:
    """Honour the sink's backpressure, as the real transports do."""
    if waiting is not None:
        await waiting


def _matches(matcher: Matcher, command: Command) -> bool:
    if isinstance(matcher, str | re.Pattern):
        return re.search(matcher, command.line) is not None
    return matcher(command)

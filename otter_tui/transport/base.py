"""The one small protocol every transport implements, and commands as values.

A command is a value (argv or a shell line, plus the secrets it carries), never a string glued
together at the call site: quoting happens in one place and secrets are masked in one place.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

Stream = Literal["stdout", "stderr"]
LineSink = Callable[[Stream, str], Awaitable[None] | None]
"""Called once per output line, as the line arrives, without its trailing newline.

It may return an awaitable to say "not so fast": the transport awaits it before reading any more
of the command's output, so the command blocks in its own writes (a full SSH window or pipe)
rather than its output piling up in this process. That is how log backpressure reaches the
server. Returning None (any plain callback) means "go on"; a sink needs no other hook."""

LinesSink = Callable[[Stream, list[str]], Awaitable[None] | None]
"""The batch form of a :data:`LineSink`: every complete line of one read, in order, in one call.
What it returns means the same (await before reading on)."""


class BatchSink:
    """A line sink that also takes a whole read's lines at once (see :data:`LinesSink`).

    Transports check for it: 100 servers printing 100,000 lines a second cost a Python call, a
    clock read and a counter update per line through a plain sink, which was most of the event
    loop's time; given a batch, the log stamps and counts each read once. Called with one line it
    still works as a plain :data:`LineSink`, so code that knows nothing of batches may use it.
    """

    __slots__ = ("lines",)

    def __init__(self, lines: LinesSink) -> None:
        self.lines = lines

    def __call__(self, stream: Stream, line: str) -> Awaitable[None] | None:
        return self.lines(stream, [line])


MASK = "********"


@dataclass(frozen=True)
class Command:
    """A command to run on a server.

    Built with :meth:`argv` (each word quoted for the remote shell) or :meth:`shell` (a line that
    the remote ``sh`` interprets, for pipes and ``&&``). ``secrets`` are values that must never be
    shown: :meth:`display` replaces each with a mask.
    """

    line: str
    """The exact line handed to ``sh -c`` on the server."""
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Values masked wherever the command is shown (logs, simulation, errors)."""

    @classmethod
    def argv(cls, *words: str, secrets: Sequence[str] = ()) -> Command:
        """A command from separate words; each is quoted, so spaces and ``$`` stay literal."""
        return cls(shlex.join(words), tuple(secrets))

    @classmethod
    def shell(cls, line: str, secrets: Sequence[str] = ()) -> Command:
        """A shell line, interpreted by ``sh`` on the server (pipes, ``&&``, redirects)."""
        return cls(line, tuple(secrets))

    def display(self) -> str:
        """The line as it may be shown to a person: every secret replaced by a mask."""
        return mask(self.line, self.secrets)

    def __str__(self) -> str:
        return self.display()


def mask(text: str, secrets: Sequence[str]) -> str:
    """Replace every non-empty secret (and its shell-quoted form) in ``text`` with a mask."""
    if not secrets:  # the common case, once per output line: no sort, no generator
        return text
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(shlex.quote(secret), MASK).replace(secret, MASK)
    return text


@dataclass(frozen=True)
class CommandResult:
    """What a finished command produced."""

    exit_status: int
    """The remote exit status; negative when the process was killed by a signal."""
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        """True when the command exited with status 0."""
        return self.exit_status == 0


FileKind = Literal["file", "directory", "link", "other"]
"""What is at a path; ``other`` is a fifo, socket or device."""


@dataclass(frozen=True)
class FileStat:
    """What ``lstat`` says about a path (a symlink itself, not what it points to).

    Numeric ids, not names: SFTP (version 3, what OpenSSH speaks) reports only numbers, and
    most operations never manage ownership, so names are resolved only when one does.
    """

    kind: FileKind
    mode: int
    """Permission bits only, e.g. ``0o644``."""
    uid: int
    gid: int
    size: int
    target: str | None = None
    """For a link, where it points, exactly as written; ``None`` for anything else."""


class Transport(Protocol):
    """A connection to one server, held for the whole of a server run.

    Every method is a coroutine on the caller's loop. Cancelling a :meth:`run` ends the process
    on the server (not just the local wait) before the cancellation propagates.
    """

    name: str
    """The server's name, for messages."""

    async def connect(self) -> None:
        """Open the connection; raises ``TransportError`` / ``HostKeyError`` with one line."""

    async def run(self, command: Command, on_line: LineSink | None = None) -> CommandResult:
        """Run ``command`` under ``sh -c``, streaming each line to ``on_line`` as it arrives."""
        ...

    async def stat(self, path: str) -> FileStat | None:
        """The path's facts without following a link; ``None`` when nothing is there.

        Over SSH this is a request on the SFTP session that file reads and writes use anyway,
        so looking costs no new channel (no fork and shell on the server).
        """
        ...

    async def read_file(self, path: str, size_hint: int | None = None) -> bytes | None:
        """The file's bytes, or ``None`` when it does not exist.

        ``size_hint``: the size a ``stat`` just gave; over SFTP the file is then read in one
        request instead of asking its size first. A wrong hint costs time, never content."""
        ...

    async def write_file(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write atomically: a temp file in the same directory, then rename over ``path``."""

    async def close(self) -> None:
        """Close the connection; safe to call twice."""

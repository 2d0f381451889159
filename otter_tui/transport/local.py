"""Commands and files on this machine, for servers whose transport is ``local``.

The pieces every transport shares (:func:`pump_lines`, :class:`OutputTail`, :class:`Release`)
live in :mod:`otter_tui.transport.lines` and are re-exported here for existing imports.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import stat
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from otter_tui.errors import TransportError
from otter_tui.transport.base import Command, CommandResult, FileKind, FileStat, LineSink
from otter_tui.transport.lines import (
    COMPACT_PARTS,
    DEFAULT_OUTPUT_CAP,
    MAX_LINE,
    READ_CHUNK,
    OutputTail,
    Release,
    pump_lines,
)

__all__ = [
    "COMPACT_PARTS",
    "DEFAULT_OUTPUT_CAP",
    "KILL_GRACE",
    "MAX_LINE",
    "READ_CHUNK",
    "LocalTransport",
    "OutputTail",
    "Release",
    "pump_lines",
    "settle",
]

KILL_GRACE = 5.0
"""Seconds a cancelled command gets between SIGTERM and SIGKILL."""


class LocalTransport:
    """Runs ``sh -c LINE`` here, each command in its own process group.

    ``env`` is added to (not substituted for) this process's environment. Relative paths, for
    commands and files alike, are relative to ``cwd`` (default: the current directory).
    """

    def __init__(
        self,
        name: str,
        cwd: str | None = None,
        env: Mapping[str, str] | None = None,
        *,
        output_cap: int = DEFAULT_OUTPUT_CAP,
        kill_grace: float = KILL_GRACE,
    ) -> None:
        self.name = name
        self.cwd = cwd
        self._env = {**os.environ, **env} if env else None
        self._output_cap = output_cap
        self._kill_grace = kill_grace

    async def connect(self) -> None:
        """Check that the working directory exists; there is nothing to open."""
        if self.cwd is not None and not Path(self.cwd).is_dir():
            raise TransportError(f"{self.name}: working directory {self.cwd} does not exist")

    async def close(self) -> None:
        """Nothing to close; present for the protocol."""

    async def run(self, command: Command, on_line: LineSink | None = None) -> CommandResult:
        """Run ``command``; on cancellation (or a failing sink) its whole process group ends."""
        process = await self._spawn(command)
        assert process.stdout is not None and process.stderr is not None
        out, err = OutputTail(self._output_cap), OutputTail(self._output_cap)
        release = Release()
        pumps = [
            asyncio.create_task(pump_lines(process.stdout.read, "stdout", on_line, out, release)),
            asyncio.create_task(pump_lines(process.stderr.read, "stderr", on_line, err, release)),
        ]
        try:
            for pump in pumps:
                await asyncio.shield(pump)
            status = await process.wait()
        except BaseException:
            await asyncio.shield(asyncio.ensure_future(self._stop(process, pumps, release)))
            raise
        return CommandResult(status, out.text(), err.text())

    async def _spawn(self, command: Command) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                "/bin/sh",
                "-c",
                command.line,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=self.cwd,
                env=self._env,
                start_new_session=True,
            )
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot start {command.display()}: {exc}") from None

    async def _stop(
        self,
        process: asyncio.subprocess.Process,
        pumps: list[asyncio.Task[None]],
        release: Release,
    ) -> None:
        """SIGTERM the group; SIGKILL it if output is still open after the grace period.

        Open output means some member still holds the pipes, so "exited" is judged by EOF on
        both streams plus the leader's exit, not by the leader alone.
        """
        _signal_group(process.pid, signal.SIGTERM)
        release.set()  # after the signal: a pump held by backpressure reads the last output
        leader = asyncio.ensure_future(process.wait())
        waiters: set[asyncio.Future[Any]] = {*pumps, leader}
        _done, pending = await asyncio.wait(waiters, timeout=self._kill_grace)
        if pending:
            _signal_group(process.pid, signal.SIGKILL)
            await asyncio.wait(waiters, timeout=self._kill_grace)
        settle(waiters)

    async def stat(self, path: str) -> FileStat | None:
        """``lstat`` here, in a thread (a slow disk must not stall the loop); None if absent."""
        return await asyncio.to_thread(self._stat, self._path(path))

    def _stat(self, path: Path) -> FileStat | None:
        try:
            return file_stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot stat {path}: {exc.strerror}") from None

    async def read_file(self, path: str, size_hint: int | None = None) -> bytes | None:
        """The file's bytes, or None when it (or a parent directory) does not exist."""
        return await asyncio.to_thread(self._read, self._path(path))

    def _read(self, path: Path) -> bytes | None:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot read {path}: {exc.strerror}") from None

    async def write_file(self, path: str, data: bytes, mode: int | None = None) -> None:
        """Write atomically (temp file beside it, then rename over it).

        ``mode`` None keeps an existing file's permissions (a new file gets the umask default).
        A symlink at ``path`` is replaced by a regular file, as with any rename.
        """
        await asyncio.to_thread(self._write, self._path(path), data, mode)

    def _write(self, path: Path, data: bytes, mode: int | None) -> None:
        try:
            write_atomically(path, data, mode)
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot write {path}: {exc.strerror}") from None

    def _path(self, path: str) -> Path:
        return Path(self.cwd or ".") / path


def file_stat(path: Path) -> FileStat:
    """The facts of ``path`` itself (a link is not followed); raises ``OSError``."""
    st = path.lstat()
    target = os.readlink(path) if stat.S_ISLNK(st.st_mode) else None
    return FileStat(
        file_kind(st.st_mode), st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_size, target
    )


def file_kind(mode: int) -> FileKind:
    """The kind from ``st_mode``'s type bits, as both stat and SFTP report them."""
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "directory"
    return "link" if stat.S_ISLNK(mode) else "other"


def write_atomically(path: Path, data: bytes, mode: int | None) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never a partial one.

    The temp file is created 0600 whenever the final mode is known, so new content is never
    briefly readable with looser permissions than the file it replaces.
    """
    keep = mode if mode is not None else _existing_mode(path)
    temp = path.with_name(f".{path.name}.otter-{secrets.token_hex(4)}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if keep is not None else 0o666)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            if keep is not None:
                os.fchmod(handle.fileno(), keep)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _existing_mode(path: Path) -> int | None:
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        return None


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; some filesystems refuse, which is harmless."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def settle(futures: Iterable[asyncio.Future[Any]]) -> None:
    """Cancel what is still running and mark failures as seen, so nothing is left dangling.

    The caller is already propagating the error that stopped the command; a second one (a sink
    that also failed later) must not surface as "exception was never retrieved".
    """
    for future in futures:
        if future.done():
            if not future.cancelled():
                future.exception()
        else:
            future.cancel()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)

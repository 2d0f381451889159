"""Files over SFTP: look, read and write, with as few requests as the answer allows.

The SSH transport's file half (``ssh.py`` keeps the connection and maps errors): each function
takes the connection's one SFTP session. Missing files are ``None``; any other refusal is the
``asyncssh.SFTPError`` the caller turns into one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import posixpath
import secrets
import stat
from collections.abc import Awaitable
from typing import TypeVar, cast

import asyncssh

from otter_tui.transport.base import FileStat
from otter_tui.transport.local import file_kind

ONE_REQUEST_READ = 32 * 1024
"""Files up to this size (the SFTP read length every server honours) read or write in one
request."""

T = TypeVar("T")


async def sftp_stat(sftp: asyncssh.SFTPClient, path: str) -> FileStat | None:
    """``lstat`` (and, for a link, ``readlink``); None when nothing is there."""
    try:
        attrs = await sftp.lstat(path)
        mode = attrs.permissions or 0
        target = await sftp.readlink(path) if stat.S_ISLNK(mode) else None
    except asyncssh.SFTPNoSuchFile:
        return None
    return FileStat(
        file_kind(mode), mode & 0o7777, attrs.uid or 0, attrs.gid or 0, attrs.size or 0, target
    )


async def sftp_read(
    sftp: asyncssh.SFTPClient, path: str, size_hint: int | None = None
) -> bytes | None:
    """The file's bytes, or None when it does not exist.

    With ``size_hint`` (from the ``lstat`` just done) the file is read with one request for one
    byte more than the hint: getting exactly the hint means the file ends there, so no ``fstat``
    request is needed first. Anything else (shorter, longer, a file bigger than one request) is
    read the ordinary way, so a wrong hint never truncates what is read.
    """
    try:
        if size_hint is not None and size_hint < ONE_REQUEST_READ:
            # block_size 0: one plain read request, not asyncssh's parallel reader (which asks
            # again after a short read to find the end); the close goes with it (see _together).
            handle = await sftp.open(path, "rb", encoding=None, block_size=0)
            data = cast(bytes, (await _together(handle.read(size_hint + 1, 0), handle.close()))[0])
            if len(data) == size_hint:
                return data
        async with sftp.open(path, "rb", encoding=None) as whole_file:
            whole: bytes = await whole_file.read()
            return whole
    except asyncssh.SFTPNoSuchFile:
        return None


async def sftp_write(sftp: asyncssh.SFTPClient, path: str, data: bytes, mode: int | None) -> None:
    """Write to a temp name beside ``path``, then ``posix-rename`` it into place (see
    ``SshTransport.write_file``); a refused step removes the temp file before raising."""
    directory, base = posixpath.split(path)
    temp = posixpath.join(directory, f".{base}.otter-{secrets.token_hex(4)}.tmp")
    try:
        keep = mode if mode is not None else await _mode(sftp, path)
        attrs = asyncssh.SFTPAttrs(permissions=0o600) if keep is not None else None
        # "x": exclusive create, so nothing already at the temp name is written through.
        # block_size 0 (data up to one request): one write request, sent with the chmod and
        # the close; a bigger file goes through asyncssh's parallel writer, then the same two.
        small = len(data) <= ONE_REQUEST_READ
        handle = await sftp.open(
            temp, "xb", attrs or asyncssh.SFTPAttrs(), encoding=None, block_size=0 if small else -1
        )
        if not small:
            await _write_or_close(handle, data)
        # The chmod is on the open handle (fchmod: the umask plays no part); the server runs
        # the requests in order, so the close comes after the write and the mode.
        await _together(
            *([handle.write(data, 0)] if small else []),
            *([handle.chmod(keep)] if keep is not None else []),
            handle.close(),
        )
        await sftp.posix_rename(temp, path)
    except asyncssh.SFTPError:
        with contextlib.suppress(asyncssh.SFTPError):
            await sftp.remove(temp)
        raise


async def _together(*requests: Awaitable[T]) -> list[T]:
    """Send requests on one SFTP session at once and wait for every answer.

    Started in order in one turn of the loop, they leave in one write (see ``coalesce.py``)
    and the server answers them in order: one round trip instead of one each. Each runs to its
    end even if one before it fails (a close is never skipped); the first failure is raised.
    """
    results = await asyncio.gather(*requests, return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return cast(list[T], results)


async def _write_or_close(handle: asyncssh.SFTPClientFile, data: bytes) -> None:
    """asyncssh's parallel write of a big file; a refused write still closes the handle."""
    try:
        await handle.write(data, 0)
    except asyncssh.SFTPError:
        with contextlib.suppress(asyncssh.SFTPError):
            await handle.close()
        raise


async def _mode(sftp: asyncssh.SFTPClient, path: str) -> int | None:
    try:
        attrs = await sftp.stat(path)
    except asyncssh.SFTPNoSuchFile:
        return None
    return None if attrs.permissions is None else attrs.permissions & 0o7777

"""Files and directories: their presence, content, mode and ownership.

``file`` writes content atomically (``Transport.write_file``: a temp file then a rename), so a
reader never sees half a file. An existing file keeps its mode unless one is given. Neither
operation replaces a different kind of thing at the path (a directory where a file belongs):
that is reported as drift and refused at apply, because deleting it is the operator's call.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass

from otter_tui.errors import UsageError
from otter_tui.plan.operations.base import Operation, run_checked
from otter_tui.plan.operations.facts import (
    PathInfo,
    looked_or_fresh,
    metadata_drift,
    path_info,
    remember_look,
)
from otter_tui.plan.operations.paths import (
    check_path,
    details,
    fix_metadata,
    parse_mode,
    read_bytes,
    refuse_kind,
    text_diff,
    write_new_file,
)
from otter_tui.plan.results import Applied, Collected
from otter_tui.transport.base import Command, LineSink, Transport


@dataclass(frozen=True)
class FileOp(Operation):
    """A file that exists with this content and metadata, or does not exist at all."""

    path: str
    content: bytes | None = None
    """``None`` manages only existence and metadata (a missing file is created empty)."""
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    absent: bool = False

    def describe(self) -> str:
        if self.absent:
            return f"file {self.path} is absent"
        return f"file {self.path}" + details(self.mode, self.owner, self.group)

    async def inspect(self, t: Transport) -> Collected:
        info = await path_info(t, self.path)
        remember_look(t, self.path, info)
        if self.absent:
            return Collected.desired() if info is None else Collected.drifted(self._removal(info))
        if info is not None and info.kind != "file":
            return Collected.drifted(f"{self.path} is a {info.kind}, expected a file")
        lines = await self._content_drift(t, info)
        if info is not None:
            lines += await metadata_drift(t, info, self.mode, self.owner, self.group)
        return Collected.drifted("\n".join(lines)) if lines else Collected.desired()

    async def _content_drift(self, t: Transport, info: PathInfo | None) -> list[str]:
        if info is None:
            return [text_diff(self.path, None, self.content or b"") or f"create {self.path}"]
        if self.content is None:
            return []
        current = await read_bytes(t, self.path, info.size)
        return [] if current == self.content else [text_diff(self.path, current, self.content)]

    def _removal(self, info: PathInfo) -> str:
        if info.kind == "file":
            return f"remove file {self.path}"
        return f"{self.path} is a {info.kind}, expected no file there"

    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        info = await looked_or_fresh(t, self.path)
        if self.absent:
            return await self._remove(t, info, on_line)
        if info is not None and info.kind != "file":
            raise refuse_kind(t, self.path, info.kind, "file")
        wrote = await self._write_if_needed(t, info, on_line)
        if wrote and self.owner is None and self.group is None:
            # The write set the wanted mode (or kept the old one) and ownership is not managed:
            # nothing is left to fix, and the confirming collect looks at the result anyway.
            return Applied(True, "wrote content")
        info = await path_info(t, self.path) if wrote else info
        assert info is not None, "the file exists: it was there or was just written"
        fixed = await fix_metadata(t, self.path, info, (self.mode, self.owner, self.group), on_line)
        changes = (["wrote content"] if wrote else []) + fixed
        return Applied(bool(changes), "; ".join(changes) or "already as desired")

    async def _write_if_needed(
        self, t: Transport, info: PathInfo | None, on_line: LineSink | None
    ) -> bool:
        if info is not None and (
            self.content is None or await t.read_file(self.path, info.size) == self.content
        ):
            return False
        data = self.content or b""
        if info is None:
            await write_new_file(t, self.path, data, self.mode, on_line)
        else:
            await t.write_file(self.path, data, self.mode if self.mode is not None else info.mode)
        return True

    async def _remove(
        self, t: Transport, info: PathInfo | None, on_line: LineSink | None
    ) -> Applied:
        if info is None:
            return Applied(False, "already absent")
        if info.kind != "file":
            raise refuse_kind(t, self.path, info.kind, "file")
        await run_checked(t, Command.argv("rm", "-f", "--", self.path), on_line)
        return Applied(True, f"removed {self.path}")


@dataclass(frozen=True)
class DirectoryOp(Operation):
    """A directory that exists with this metadata, or does not exist (removed recursively)."""

    path: str
    mode: int | None = None
    owner: str | None = None
    group: str | None = None
    absent: bool = False

    def describe(self) -> str:
        if self.absent:
            return f"directory {self.path} is absent"
        return f"directory {self.path}" + details(self.mode, self.owner, self.group)

    async def inspect(self, t: Transport) -> Collected:
        info = await path_info(t, self.path)
        if info is None:
            return Collected.desired() if self.absent else Collected.drifted(f"create {self.path}")
        if info.kind != "directory":
            return Collected.drifted(f"{self.path} is a {info.kind}, expected a directory")
        if self.absent:
            return Collected.drifted(f"remove directory {self.path} and everything in it")
        lines = await metadata_drift(t, info, self.mode, self.owner, self.group)
        return Collected.drifted("\n".join(lines)) if lines else Collected.desired()

    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        info = await path_info(t, self.path)
        if info is not None and info.kind != "directory":
            raise refuse_kind(t, self.path, info.kind, "directory")
        if self.absent:
            if info is None:
                return Applied(False, "already absent")
            await run_checked(t, Command.argv("rm", "-rf", "--", self.path), on_line)
            return Applied(True, f"removed {self.path}")
        changes = []
        if info is None:
            await run_checked(t, Command.argv("mkdir", "-p", "--", self.path), on_line)
            info = await path_info(t, self.path)
            changes.append(f"created {self.path}")
        assert info is not None, "the directory exists: it was there or was just made"
        changes += await fix_metadata(
            t, self.path, info, (self.mode, self.owner, self.group), on_line
        )
        return Applied(bool(changes), "; ".join(changes) or "already as desired")


def file(
    path: str,
    content: str | bytes | None = None,
    *,
    template: str | None = None,
    variables: Mapping[str, object] | None = None,
    mode: int | str | None = None,
    owner: str | None = None,
    group: str | None = None,
    absent: bool = False,
) -> FileOp:
    """A file; ``template`` is ``string.Template`` text (``$name``) filled from ``variables``.

    Example: ``file(f"{root}/etc/motd", template="Welcome to $server\\n", variables=vars)``.
    """
    if content is not None and template is not None:
        raise UsageError(f"file {path}: give content or template, not both")
    if template is not None:
        content = render(path, template, variables or {})
    data = content.encode() if isinstance(content, str) else content
    return FileOp(check_path(path), data, parse_mode(mode), owner, group, absent)


def render(path: str, template: str, variables: Mapping[str, object]) -> str:
    """Fill ``$name`` / ``${name}`` placeholders; a missing one is a ``UsageError``."""
    try:
        return string.Template(template).substitute({k: str(v) for k, v in variables.items()})
    except KeyError as exc:
        raise UsageError(f"template for {path}: no value for ${exc.args[0]}") from None
    except ValueError as exc:
        raise UsageError(f"template for {path}: {exc}") from None


def directory(
    path: str,
    *,
    mode: int | str | None = None,
    owner: str | None = None,
    group: str | None = None,
    absent: bool = False,
) -> DirectoryOp:
    """A managed directory (created with its parents; ``absent=True`` removes it recursively)."""
    return DirectoryOp(check_path(path), parse_mode(mode), owner, group, absent)

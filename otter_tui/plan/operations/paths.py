"""Helpers shared by the path operations: mode parsing, diffs, parent folders, metadata fixes."""

from __future__ import annotations

import difflib
import posixpath

from otter_tui.errors import OtterError, UsageError
from otter_tui.plan.operations.base import run_checked
from otter_tui.plan.operations.facts import PathInfo, format_mode, metadata_drift, path_info
from otter_tui.plan.results import FactError, StepFailed
from otter_tui.transport.base import Command, LineSink, Transport


def parse_mode(mode: int | str | None) -> int | None:
    """A mode given as ``0o644``, ``"0644"`` or ``"644"``; a bad one is a ``UsageError``."""
    if mode is None:
        return None
    try:
        value = mode if isinstance(mode, int) else int(mode, 8)
    except ValueError:
        raise UsageError(f"mode {mode!r} is not an octal number like '0644'") from None
    if not 0 <= value <= 0o7777:
        raise UsageError(f"mode {mode!r} is out of range (0000 to 7777)")
    return value


def check_path(path: str) -> str:
    """Operations manage absolute paths only: a relative one would depend on the login dir."""
    if not path.startswith("/"):
        raise UsageError(f"path '{path}' must be absolute")
    return path


def details(mode: int | None, owner: str | None, group: str | None) -> str:
    """`` (mode 0644, owner app)``: the metadata an operation manages, for describe()."""
    parts = [f"mode {format_mode(mode)}" if mode is not None else ""]
    parts += [f"owner {owner}" if owner else "", f"group {group}" if group else ""]
    shown = ", ".join(p for p in parts if p)
    return f" ({shown})" if shown else ""


def text_diff(path: str, old: bytes | None, new: bytes) -> str:
    """A unified diff of a file's content; a short note when only line endings differ."""
    a = [] if old is None else old.decode("utf-8", "replace").splitlines()
    b = new.decode("utf-8", "replace").splitlines()
    before = "/dev/null" if old is None else f"{path} (current)"
    lines = difflib.unified_diff(a, b, before, f"{path} (desired)", lineterm="")
    diff = "\n".join(lines)
    if not diff and old != new:
        return f"{path}: content differs in line endings or the final newline"
    return diff


async def read_bytes(t: Transport, path: str, size_hint: int | None = None) -> bytes | None:
    """The file's bytes, ``None`` if missing; an unreadable file is a ``FactError``.

    ``size_hint``: the size a ``stat`` just reported, so the transport can skip asking again."""
    try:
        return await t.read_file(path, size_hint)
    except (OSError, OtterError) as exc:
        raise FactError(f"cannot read {path} on {t.name}: {exc}") from exc


async def ensure_parent(t: Transport, path: str, on_line: LineSink | None) -> None:
    """Create the parent folder of ``path`` when it is missing, so a first write succeeds."""
    parent = posixpath.dirname(path.rstrip("/")) or "/"
    if await path_info(t, parent) is None:
        await run_checked(t, Command.argv("mkdir", "-p", "--", parent), on_line)


async def write_new_file(
    t: Transport, path: str, data: bytes, mode: int | None, on_line: LineSink | None
) -> None:
    """Write a file that was not there, creating its folder only when the write says so.

    The folder almost always exists, so the write is tried first: looking before every write
    would cost a round trip per file. A write that fails for another reason fails again after
    the folder check, with the transport's own message.
    """
    try:
        await t.write_file(path, data, mode)
    except OtterError:
        await ensure_parent(t, path, on_line)
        await t.write_file(path, data, mode)


async def fix_metadata(
    t: Transport,
    path: str,
    info: PathInfo,
    wanted: tuple[int | None, str | None, str | None],
    on_line: LineSink | None,
) -> list[str]:
    """chmod / chown only the fields that differ; returns what was changed."""
    mode, owner, group = wanted
    changes = await metadata_drift(t, info, mode, owner, group)
    fields = {change.split(" ", 1)[0] for change in changes}
    if mode is not None and "mode" in fields:
        await run_checked(t, Command.argv("chmod", format_mode(mode), "--", path), on_line)
    owner_part = owner if owner is not None and "owner" in fields else ""
    group_part = group if group is not None and "group" in fields else ""
    if owner_part or group_part:
        spec = owner_part + (f":{group_part}" if group_part else "")
        await run_checked(t, Command.argv("chown", spec, "--", path), on_line)
    return changes


def refuse_kind(t: Transport, path: str, kind: str, expected: str) -> StepFailed:
    """Operations never replace a different kind of thing (a directory with a file, say)."""
    return StepFailed(f"{t.name}: {path} is a {kind}, not a {expected}: remove it first")

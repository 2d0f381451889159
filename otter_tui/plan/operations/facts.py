"""Read-only facts about paths on a server, from ``test``, GNU ``stat -c`` and ``readlink``.

Facts never change anything, so collect and simulation can run them freely. A missing path is
a normal answer (``None``), not an error; an unreadable one is a ``FactError`` (the operation
then reports "unknown" with the reason).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from otter_tui.plan.operations.base import read_fact
from otter_tui.plan.results import FactError
from otter_tui.transport.base import Command, Transport

KINDS = {
    "regular file": "file",
    "regular empty file": "file",
    "directory": "directory",
    "symbolic link": "link",
}


@dataclass(frozen=True)
class PathInfo:
    """What ``stat`` says about a path (not following a symlink)."""

    kind: str
    """``file``, ``directory``, ``link``, or ``other`` (a fifo, socket or device)."""
    mode: int
    """Permission bits, e.g. ``0o644``."""
    owner: str
    group: str


def stat_command(path: str) -> Command:
    """``stat`` the path if it exists (even as a dangling link), else print ``absent``."""
    p = shlex.quote(path)
    return Command.shell(
        f"if [ -e {p} ] || [ -L {p} ]; then stat -c '%F|%a|%U|%G' -- {p}; else echo absent; fi"
    )


async def path_info(t: Transport, path: str) -> PathInfo | None:
    """The path's kind, mode and ownership, or ``None`` when nothing is there."""
    out = (await read_fact(t, stat_command(path))).strip()
    if out == "absent":
        return None
    parts = out.split("|")
    if len(parts) != 4:
        raise FactError(f"cannot read {path} on {t.name}: unexpected stat output {out!r}")
    kind, mode, owner, group = parts
    return PathInfo(KINDS.get(kind, "other"), int(mode, 8), owner, group)


async def link_target(t: Transport, path: str) -> str:
    """Where the symlink at ``path`` points, as written (not resolved)."""
    return (await read_fact(t, Command.argv("readlink", "--", path))).rstrip("\n")


def format_mode(mode: int) -> str:
    """``0o644`` -> ``0644``, the way people write modes."""
    return f"{mode:04o}"


def metadata_drift(
    info: PathInfo, mode: int | None, owner: str | None, group: str | None
) -> list[str]:
    """One line per metadata field that differs from the wanted value (unset fields are free)."""
    lines = []
    if mode is not None and info.mode != mode:
        lines.append(f"mode {format_mode(info.mode)} -> {format_mode(mode)}")
    if owner is not None and info.owner != owner:
        lines.append(f"owner {info.owner} -> {owner}")
    if group is not None and info.group != group:
        lines.append(f"group {info.group} -> {group}")
    return lines

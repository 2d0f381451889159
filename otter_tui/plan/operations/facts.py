"""Read-only facts about paths on a server: ``Transport.stat``, plus owner and group names.

Facts never change anything, so collect and simulation can run them freely. A missing path is
a normal answer (``None``), not an error; an unreadable one is a ``FactError`` (the operation
then reports "unknown" with the reason).

Looking goes through ``Transport.stat`` rather than a ``stat`` command: over SSH that is a
request on the SFTP session a file operation opens anyway, where each command would cost the
server a new channel, a fork and a shell. ``stat`` gives numeric ids only, so names (which is
how plans give ``owner`` and ``group``, and how a diff shows them) are resolved with one
``getent`` command, only for operations that manage ownership, and remembered for the run.
"""

from __future__ import annotations

import contextlib
import weakref

from otter_tui.errors import OtterError
from otter_tui.plan.operations.base import read_fact
from otter_tui.plan.results import FactError
from otter_tui.transport.base import Command, FileStat, Transport

PathInfo = FileStat
"""What the operations know about a path: kind, mode, numeric ids, size, link target."""

_NAMES: weakref.WeakKeyDictionary[Transport, dict[tuple[str, int], str]] = (
    weakref.WeakKeyDictionary()
)
"""Per transport (so per server run): ``("passwd" | "group", id) -> name``. Only found names
are kept: an id without a name may get one later in the run (a plan step adding a user)."""


_LOOKED: weakref.WeakKeyDictionary[Transport, dict[str, PathInfo | None]] = (
    weakref.WeakKeyDictionary()
)
"""Per transport: what the last collect of a path found, until an apply takes it."""


def remember_look(t: Transport, path: str, info: PathInfo | None) -> None:
    """Keep what a collect just found for the apply that follows it.

    ``drift.remediate_one`` (the only caller of ``apply``) always collects an operation right
    before applying it, on the same transport, with nothing run in between; looking again at
    the start of the apply cost every changed file one more round trip to the server.
    """
    with contextlib.suppress(TypeError):  # an unhashable transport: apply looks again
        _LOOKED.setdefault(t, {})[path] = info


async def looked_or_fresh(t: Transport, path: str) -> PathInfo | None:
    """What the collect right before found (once), else a fresh look."""
    try:
        looked = _LOOKED.get(t, {})
    except TypeError:
        looked = {}
    if path in looked:
        return looked.pop(path)
    return await path_info(t, path)


async def path_info(t: Transport, path: str) -> PathInfo | None:
    """The path's kind, mode and ownership (a link itself), or ``None`` when nothing is there."""
    try:
        return await t.stat(path)
    except OtterError as exc:
        raise FactError(str(exc)) from exc


def format_mode(mode: int) -> str:
    """``0o644`` -> ``0644``, the way people write modes."""
    return f"{mode:04o}"


async def metadata_drift(
    t: Transport, info: PathInfo, mode: int | None, owner: str | None, group: str | None
) -> list[str]:
    """One line per metadata field that differs from the wanted value (unset fields are free).

    Names are looked up only when ``owner`` or ``group`` is managed, so most operations run no
    command at all here.
    """
    lines = []
    if mode is not None and info.mode != mode:
        lines.append(f"mode {format_mode(info.mode)} -> {format_mode(mode)}")
    user, group_name = await owner_names(t, info, owner is not None, group is not None)
    if owner is not None and not _same(owner, user, info.uid):
        lines.append(f"owner {user} -> {owner}")
    if group is not None and not _same(group, group_name, info.gid):
        lines.append(f"group {group_name} -> {group}")
    return lines


def _same(wanted: str, name: str, number: int) -> bool:
    """A wanted owner matches by name, or by number when given as one (``chown 1000``)."""
    return wanted in (name, str(number))


async def owner_names(t: Transport, info: PathInfo, user: bool, group: bool) -> tuple[str, str]:
    """The user and group names of the path's ids (the number where an id has no name).

    Only the names asked for and not yet known are looked up, all in one command, so managing
    ownership costs one channel per server run rather than one per operation.
    """
    try:
        cache = _NAMES.setdefault(t, {})
    except TypeError:  # an unhashable transport: look up every time
        cache = {}
    asked = [("passwd", info.uid, user), ("group", info.gid, group)]
    missing = [(db, number) for db, number, wanted in asked if wanted]
    missing = [key for key in missing if key not in cache]
    if missing:
        # One line per id, empty when it has no name, so the answers stay in order.
        script = "; ".join(f'echo "$(getent {db} {n} | cut -d: -f1)"' for db, n in missing)
        found = (await read_fact(t, Command.shell(script))).split("\n")
        cache.update({key: name for key, name in zip(missing, found, strict=False) if name})
    user_name = cache.get(("passwd", info.uid), str(info.uid))
    return user_name, cache.get(("group", info.gid), str(info.gid))

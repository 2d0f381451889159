"""The operations a plan declares: ``from otter_tui.plan import operations as ops``.

Each builder returns an immutable :class:`Operation` value; nothing touches a server until the
engine (or ``ctx.ensure``) collects it and, for a drifted item in a real run, applies it.

Builders on first use: each kind's module is imported when a plan first names it (``ops.file``
imports ``files`` only), so a start that runs an orchestration plan, or a drift check that only
manages files, does not build the classes of every other kind (~5 M instructions a kind).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from otter_tui.plan.operations.base import Operation

if TYPE_CHECKING:
    from otter_tui.plan.operations.commands import CommandOp, command
    from otter_tui.plan.operations.files import DirectoryOp, FileOp, directory, file
    from otter_tui.plan.operations.lines import LineOp, line
    from otter_tui.plan.operations.links import SymlinkOp, symlink
    from otter_tui.plan.operations.packages import PackageOp, package

_KINDS = {
    "CommandOp": "commands",
    "command": "commands",
    "DirectoryOp": "files",
    "FileOp": "files",
    "directory": "files",
    "file": "files",
    "LineOp": "lines",
    "line": "lines",
    "SymlinkOp": "links",
    "symlink": "links",
    "PackageOp": "packages",
    "package": "packages",
}
"""Each public name and the module (under this package) that defines it."""


def __getattr__(name: str) -> Any:
    """A builder or operation class, its module imported the first time one of it is asked."""
    kind = _KINDS.get(name)
    if kind is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{kind}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_KINDS})


__all__ = [
    "CommandOp",
    "DirectoryOp",
    "FileOp",
    "LineOp",
    "Operation",
    "PackageOp",
    "SymlinkOp",
    "command",
    "directory",
    "file",
    "line",
    "package",
    "symlink",
]

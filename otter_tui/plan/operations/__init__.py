"""The operations a plan declares: ``from otter_tui.plan import operations as ops``.

Each builder returns an immutable :class:`Operation` value; nothing touches a server until the
engine (or ``ctx.ensure``) collects it and, for a drifted item in a real run, applies it.
"""

from otter_tui.plan.operations.base import Operation
from otter_tui.plan.operations.commands import CommandOp, command
from otter_tui.plan.operations.files import DirectoryOp, FileOp, directory, file
from otter_tui.plan.operations.lines import LineOp, line
from otter_tui.plan.operations.links import SymlinkOp, symlink
from otter_tui.plan.operations.packages import PackageOp, package

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

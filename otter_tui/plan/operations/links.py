"""Symbolic links: ``path`` is a link to ``target`` (written as given, not resolved)."""

from __future__ import annotations

from dataclasses import dataclass

from otter_tui.plan.operations.base import Operation, run_checked
from otter_tui.plan.operations.facts import path_info
from otter_tui.plan.operations.paths import check_path, ensure_parent, refuse_kind
from otter_tui.plan.results import Applied, Collected
from otter_tui.transport.base import Command, LineSink, Transport


@dataclass(frozen=True)
class SymlinkOp(Operation):
    """A link at ``path`` pointing to ``target``; a file there is replaced, a directory refused."""

    path: str
    target: str

    def describe(self) -> str:
        return f"link {self.path} -> {self.target}"

    async def inspect(self, t: Transport) -> Collected:
        info = await path_info(t, self.path)
        if info is None:
            return Collected.drifted(f"create link {self.path} -> {self.target}")
        if info.kind != "link":
            return Collected.drifted(
                f"replace {info.kind} {self.path} with a link to {self.target}"
            )
        if info.target == self.target:
            return Collected.desired()
        return Collected.drifted(f"link {self.path}: target {info.target} -> {self.target}")

    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        info = await path_info(t, self.path)
        if info is not None and info.kind == "directory":
            raise refuse_kind(t, self.path, info.kind, "link")
        if info is not None and info.kind == "link" and info.target == self.target:
            return Applied(False, "already as desired")
        if info is None:
            await ensure_parent(t, self.path, on_line)
        # -n: replace a link to a directory instead of creating a link inside that directory.
        link = Command.argv("ln", "-sfn", "--", self.target, self.path)
        await run_checked(t, link, on_line)
        return Applied(True, f"linked {self.path} -> {self.target}")


def symlink(path: str, target: str) -> SymlinkOp:
    """Ensure ``path`` is a symbolic link to ``target``."""
    return SymlinkOp(check_path(path), target)

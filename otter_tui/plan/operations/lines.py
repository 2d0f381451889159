"""One line in a text file: present (appended, or replacing the lines a regex matches) or absent.

The file is read, edited in memory and written back atomically, keeping its mode; the diff of
collect is exactly what apply writes. A missing file is created (with its folder) when a line
must be present. Lines are compared whole, without their line ending.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from otter_tui.errors import UsageError
from otter_tui.plan.operations.base import Operation
from otter_tui.plan.operations.facts import path_info
from otter_tui.plan.operations.paths import check_path, read_bytes, text_diff, write_new_file
from otter_tui.plan.results import Applied, Collected
from otter_tui.transport.base import LineSink, Transport


@dataclass(frozen=True)
class LineOp(Operation):
    """``line`` is in ``path`` (or, with ``present=False``, no matching line is)."""

    path: str
    line: str
    present: bool = True
    regex: str | None = None
    """Lines matching this (``re.search``) are the ones replaced by ``line``, or removed."""

    def describe(self) -> str:
        where = f" (lines matching /{self.regex}/)" if self.regex else ""
        verb = "has" if self.present else "has no"
        return f"{self.path} {verb} line {self.line!r}{where}"

    def edited(self, old: bytes | None) -> bytes | None:
        """The file's new content, or ``None`` when nothing must change."""
        if old is None and not self.present:
            return None
        lines = (old or b"").decode("utf-8", "replace").splitlines()
        new = self._present(lines) if self.present else [x for x in lines if not self._hit(x)]
        if new == lines and old is not None:
            return None
        return "".join(f"{x}\n" for x in new).encode()

    def _present(self, lines: list[str]) -> list[str]:
        if self.regex is not None and any(self._hit(x) for x in lines):
            return [self.line if self._hit(x) else x for x in lines]
        return lines if self.line in lines else [*lines, self.line]

    def _hit(self, text: str) -> bool:
        if self.regex is None:
            return text == self.line
        return re.search(self.regex, text) is not None

    async def inspect(self, t: Transport) -> Collected:
        old = await read_bytes(t, self.path)
        new = self.edited(old)
        return (
            Collected.desired()
            if new is None
            else Collected.drifted(text_diff(self.path, old, new))
        )

    async def apply(self, t: Transport, on_line: LineSink | None = None) -> Applied:
        old = await read_bytes(t, self.path)
        new = self.edited(old)
        if new is None:
            return Applied(False, "already as desired")
        info = await path_info(t, self.path)
        if info is None:
            await write_new_file(t, self.path, new, None, on_line)
        else:
            await t.write_file(self.path, new, info.mode)
        return Applied(True, f"{'set' if self.present else 'removed'} line in {self.path}")


def line(path: str, line: str, *, present: bool = True, regex: str | None = None) -> LineOp:
    """Ensure a line is in a file: ``line(conf, "port = 8080", regex=r"^port\\s*=")``."""
    if "\n" in line or "\r" in line:
        raise UsageError(f"line for {path}: must be a single line")
    if regex is not None:
        try:
            re.compile(regex)
        except re.error as exc:
            raise UsageError(f"line for {path}: bad regex {regex!r}: {exc}") from None
    return LineOp(check_path(path), line, present, regex)

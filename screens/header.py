"""The header's title and sub-title: the section, who works on which database, who schedules.

At 80 columns the full form (``otter-tui · Schedules — alice @ /home/alice/.local/share/
otter-tui/otter.db · scheduler: this console``) was cut after the database path; under
:data:`NARROW` columns the title is the section alone, the database is named by its file
(SQLite) or host and name (PostgreSQL), and the status is shorter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otter_tui.runtime import Runtime

NARROW = 120
"""Under this many columns the header uses the compact forms (the app's ``-narrow`` too)."""


def database_label(runtime: Runtime, *, compact: bool = False) -> str:
    """A SQLite file's path (compact: its name), or a URL without password (compact: host/db)."""
    url = runtime.db.engine.url
    if runtime.db.is_sqlite:
        path = str(url.database or ":memory:")
        return PurePath(path).name if compact else path
    if compact:
        return f"{url.host or 'localhost'}/{url.database or ''}"
    return url.render_as_string(hide_password=True)


def compact_status(status: str) -> str:
    """``scheduler: this console`` -> ``sched: here``; the rest the same, shorter."""
    return (
        status.replace("scheduler: ", "sched: ")
        .replace("this console", "here")
        .replace("jobs: daemon ", "jobs: ")
    )


@dataclass(frozen=True)
class SubTitle:
    """The two forms of the sub-title's fixed part; :meth:`line` adds the status."""

    wide: str
    narrow: str

    @classmethod
    def of(cls, runtime: Runtime) -> SubTitle:
        actor = runtime.ctx.actor
        return cls(
            f"{actor} @ {database_label(runtime)}",
            f"{actor} @ {database_label(runtime, compact=True)}",
        )

    @staticmethod
    def title(app_title: str, section: str, width: int) -> str:
        """``otter-tui · Jobs``; under :data:`NARROW` columns ``Jobs``."""
        return f"{app_title} · {section}" if width >= NARROW else section

    def line(self, status: str, width: int) -> str:
        """The sub-title for a terminal ``width`` columns wide."""
        if width >= NARROW:
            return f"{self.wide} · {status}" if status else self.wide
        return f"{self.narrow} · {compact_status(status)}" if status else self.narrow

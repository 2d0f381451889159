"""The console's sections: one Textual mode each, switched to with its number key.

Adding a section is one :class:`Section` in ``SECTIONS`` plus its screen file: the mode, the
number key that switches to it, its Footer entry and its palette command all come from that
entry. A section's module is imported when its screen is first built, not at start: the first
frame needs only the first section's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from textual.screen import Screen

from screens.context import ConsoleContext


@dataclass(frozen=True)
class Section:
    """A top-level section of the console: a Textual mode with its own screen stack."""

    mode: str
    """The mode's name (``servers``, ``jobs``, ...)."""
    title: str
    """Shown in the Footer and the header."""
    screen: str
    """``module:Class`` of the section's base screen, built with the :class:`ConsoleContext`."""
    help: str = ""
    """What the section shows, for the command palette."""
    watches: frozenset[str] = frozenset({"audit"})
    """The kinds of store change it shows (``otter_tui.services.changes``): the shared change
    feed makes it reload when one of them moved."""

    def build(self, ctx: ConsoleContext) -> Screen[None]:
        """Import the section's module (first use only) and build its screen."""
        module_name, _, class_name = self.screen.partition(":")
        screen_class: Callable[[ConsoleContext], Screen[None]]
        screen_class = getattr(importlib.import_module(module_name), class_name)
        return screen_class(ctx)


SECTIONS: tuple[Section, ...] = (
    Section(
        "servers",
        "Servers",
        "screens.servers:ServersScreen",
        "servers, roles, environments",
        frozenset({"audit", "drift"}),
    ),
    Section(
        "jobs",
        "Jobs",
        "screens.jobs:JobsScreen",
        "jobs, their server runs and logs",
        frozenset({"jobs", "new_jobs", "audit"}),
    ),
    Section(
        "approvals",
        "Approvals",
        "screens.approvals:ApprovalsScreen",
        "jobs to decide on",
        frozenset({"jobs", "new_jobs", "audit"}),
    ),
    Section("plans", "Plans", "screens.plans:PlansScreen", "plan records and plan files"),
    Section("templates", "Templates", "screens.templates:TemplatesScreen", "job templates"),
    Section(
        "schedules",
        "Schedules",
        "screens.schedules:SchedulesScreen",
        "recurring jobs",
        frozenset({"audit", "firings", "jobs"}),
    ),
    Section(
        "drift",
        "Drift",
        "screens.drift:DriftScreen",
        "configuration drift",
        frozenset({"drift", "audit"}),
    ),
    Section(
        "audit",
        "Audit",
        "screens.audit:AuditScreen",
        "who did what, when: the audit trail",
        frozenset({"audit"}),
    ),
)
"""In Footer order; section N is switched to with the key N."""


def section_title(mode: str) -> str:
    """The title of the section shown in ``mode`` (the mode's name when it is no section)."""
    return next((s.title for s in SECTIONS if s.mode == mode), mode)

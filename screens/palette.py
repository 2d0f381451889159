"""The command palette (Ctrl+P): every section, every action of the screen in view, every plan.

- :class:`SectionCommands`: "go to Schedules" for each section (from ``SECTIONS``, so a new
  section gets its command with its entry) and "go to job 42" for a number typed;
- :class:`ScreenCommands`: the actions of the screen the palette was opened over, from its key
  bindings ("New (Schedules)", "Remediate (Drift)", "Approve (Approvals)"): whatever a key does
  there, the palette does, with the same checks (an action that does not apply is not offered);
- :class:`PlanCommands`: "run plan Demo deploy" for each plan that can run, opening the job form;
- the CLI tasks of :mod:`screens.tasks` and host-key trust (:mod:`screens.trust`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from screens.sections import SECTIONS, section_title

if TYPE_CHECKING:
    from screens.app import OtterApp

JOB_NUMBER = re.compile(r"^\s*(?:(?:go\s+to\s+)?job\s*)?#?(\d+)\s*$", re.IGNORECASE)


def _app(provider: Provider) -> OtterApp:
    from screens.app import OtterApp

    app = provider.app
    assert isinstance(app, OtterApp)
    return app


class SectionCommands(Provider):
    """Go to a section; go to a job by number."""

    def _commands(self) -> list[tuple[str, Callable[[], object], str]]:
        app = _app(self)
        return [
            (f"go to {section.title}", partial(app.action_section, section.mode), section.help)
            for section in SECTIONS
        ]

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands():
            yield DiscoveryHit(text, command, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            if score := matcher.match(text):
                yield Hit(score, matcher.highlight(text), command, help=help_text)
        if found := JOB_NUMBER.match(query):
            job_id = int(found.group(1))
            command = partial(_app(self).open_job, job_id)
            yield Hit(1.0, f"go to job {job_id}", command, help="its server runs and log")


class ScreenCommands(Provider):
    """The actions the keys of the current screen offer, as commands."""

    def _commands(self) -> list[tuple[str, str, str]]:
        screen = self.screen
        title = section_title(_app(self).current_mode)
        found: dict[str, tuple[str, str, str]] = {}
        for active in screen.active_bindings.values():
            binding = active.binding
            if not active.enabled or not binding.description or active.node is not screen:
                continue
            text = f"{binding.description} ({title})"
            found.setdefault(binding.action, (text, binding.action, f"key {binding.key}"))
        return list(found.values())

    def _run(self, action: str) -> None:
        self.screen.call_later(self.screen.run_action, action)

    async def discover(self) -> Hits:
        for text, action, help_text in self._commands():
            yield DiscoveryHit(text, partial(self._run, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, action, help_text in self._commands():
            if score := matcher.match(text):
                yield Hit(
                    score, matcher.highlight(text), partial(self._run, action), help=help_text
                )


class PlanCommands(Provider):
    """Run a plan: the job form of each enabled, installed plan."""

    async def startup(self) -> None:
        plans = _app(self).runtime.plans
        found = await asyncio.to_thread(plans.list)
        self.plans = [
            p for p in found if p.enabled and p.installed and not p.metadata.get("hidden")
        ]

    async def search(self, query: str) -> AsyncIterator[Hit]:
        matcher = self.matcher(query)
        for plan in getattr(self, "plans", []):
            text = f"run plan {plan.name}"
            if score := matcher.match(text):
                command = partial(_app(self).new_job_for, plan)
                yield Hit(score, matcher.highlight(text), command, help=plan.key)


def _task_commands() -> type[Provider]:
    from screens.tasks import TaskCommands

    return TaskCommands


def _trust_commands() -> type[Provider]:
    from screens.trust import TrustCommands

    return TrustCommands


CONSOLE_COMMANDS: set[type[Provider] | Callable[[], type[Provider]]] = {
    SectionCommands,
    ScreenCommands,
    PlanCommands,
    _task_commands,
    _trust_commands,
}
"""Every provider the console adds to Textual's own. The CLI tasks' and host-key trust's are
imported when the palette first opens (they import services the first frame does not need)."""

"""Plan record changes from the Plans section: override a field, clear an override, delete.

The same service calls as ``otter-tui plans override / clear-override / delete``: the field's
value is parsed and checked there (a hard limit must exceed the soft one), deleting keeps the
plan's jobs and schedules (disabled). ``plans.manage`` is asked before a form or a question
opens, so a user without it is told at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from textual.screen import Screen

from otter_tui.runtime import Runtime
from otter_tui.services.plans import PlanView
from otter_tui.store.models import OVERRIDABLE
from screens.background import run_blocking
from screens.modals import ConfirmModal, FormField, FormModal

SET, CLEAR = "set (pin against refreshes)", "clear (follow the class again)"


def override_fields(plan: PlanView) -> list[FormField]:
    pinned = [name for name in OVERRIDABLE if name in plan.overridden]
    first = pinned[0] if pinned else OVERRIDABLE[0]
    return [
        FormField("field", "Field", first, choices=tuple(OVERRIDABLE)),
        FormField("action", "Action", SET, choices=(SET, CLEAR)),
        FormField(
            "value",
            "Value",
            str(plan.metadata.get(first, "")),
            hint="for set: true/false, seconds, or text; queues comma-separated",
        ),
    ]


def apply_override(runtime: Runtime, key: str, values: Mapping[str, str]) -> PlanView:
    """Blocking: set or clear one override through the plan service."""
    plans, name = runtime.plans, values["field"]
    if values["action"] == CLEAR:
        return plans.clear_override(key, name)
    return plans.override(key, name, values["value"])


class PlanRecordActions:
    """Override and delete, for the screen that shows the plans (``done`` reloads it)."""

    def __init__(self, screen: Screen[None], runtime: Runtime, done: Callable[[str], None]) -> None:
        self.screen = screen
        self.runtime = runtime
        self.done = done
        """Called with a line to show once a change is saved."""
        self._then: Callable[[object], None] = lambda _: None
        self.handlers: dict[str, Callable[[object], None]] = {
            "plans-allowed": lambda result: self._then(result),
            "plans-delete": lambda key: self.done(f"plan record '{key}' deleted"),
        }
        """Worker group -> result handler, for the screen's ``route_result``."""

    def override(self, plan: PlanView) -> None:
        runtime, key = self.runtime, plan.key

        def open_form(_: object) -> None:
            form = FormModal(
                f"Override a field of {plan.name}",
                override_fields(plan),
                lambda values: apply_override(runtime, key, values),
            )
            self.screen.app.push_screen(form, self._overridden)

        self._when_allowed(open_form)

    def _overridden(self, view: PlanView | None) -> None:
        if view is not None:
            pinned = ", ".join(view.overridden) or "none"
            self.done(f"plan '{view.name}': overridden fields {pinned}")

    def delete(self, plan: PlanView) -> None:
        runtime, key = self.runtime, plan.key
        question = (
            f"Delete the record of plan {plan.name} ({key})?\n\nIts jobs keep their history; its "
            "schedules are disabled. A plan file still on disk comes back, disabled, at the "
            "next sync."
        )

        def delete() -> str:
            runtime.plans.delete(key)
            return key

        def answered(yes: bool | None) -> None:
            if yes:
                run_blocking(self.screen, delete, group="plans-delete")

        def ask(_: object) -> None:
            self.screen.app.push_screen(ConfirmModal(question), answered)

        self._when_allowed(ask)

    def _when_allowed(self, then: Callable[[object], None]) -> None:
        """Fail fast: ``plans.manage`` is checked before anything opens."""
        ctx = self.runtime.ctx
        self._then = then
        run_blocking(self.screen, lambda: ctx.check("plans.manage"), group="plans-allowed")

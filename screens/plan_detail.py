"""One plan record in full: description, variables schema, metadata and which fields are pinned."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from otter_tui.services.plans import PlanView
from screens.footer import OtterFooter


def variable_line(name: str, schema: dict[str, Any]) -> str:
    """``version  text, required: the version to deploy``."""
    parts = [str(schema.get("kind", "text")), "required" if schema.get("required") else "optional"]
    if schema.get("default") is not None:
        parts.append(f"default {schema['default']}")
    if schema.get("options"):
        parts.append("one of " + "/".join(str(o) for o in schema["options"]))
    if schema.get("sensitive"):
        parts.append("sensitive: never stored")
    help_text = f": {schema['help']}" if schema.get("help") else ""
    return f"{name}  {', '.join(parts)}{help_text}"


def describe_plan(plan: PlanView) -> Text:
    """Everything about the record, as plain text (user data appended, never parsed)."""
    text = Text()
    text.append(plan.name, style="bold")
    text.append(f"  {plan.kind} plan  ")
    text.append("enabled" if plan.enabled else "disabled", style="green" if plan.enabled else "red")
    if not plan.installed:
        text.append("  not installed (its file is gone)", style="red")
    text.append(f"\n{plan.key}  {plan.file}", style="dim")
    text.append(f"\n\n{plan.description or '(no description)'}\n")
    if plan.roles:
        text.append(f"\napplies to roles: {', '.join(plan.roles)}\n")
    text.append("\nVariables\n", style="bold")
    for name, schema in plan.variables.items():
        text.append(f"  {variable_line(name, schema)}\n")
    if not plan.variables:
        text.append("  (none)\n")
    text.append("\nMetadata (* overridden: plan sync leaves it as set)\n", style="bold")
    for field_name, value in plan.metadata.items():
        mark = "*" if field_name in plan.overridden else " "
        if field_name == "description" and mark == " ":
            continue  # shown in full above
        text.append(f" {mark}{field_name:<24}{value}\n")
    return text


class PlanDetailModal(ModalScreen[None]):
    """Read-only; Esc (or Enter) closes it."""

    BINDINGS = [
        Binding("escape", "dismiss", "Close"),
        Binding("enter", "dismiss", "Close", show=False),
    ]

    def __init__(self, plan: PlanView) -> None:
        super().__init__()
        self.plan = plan
        """The record shown."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog plan-detail"):
            yield Label(f"Plan {self.plan.name}", classes="dialog--title", markup=False)
            with VerticalScroll():
                yield Static(describe_plan(self.plan), id="plan-fields", markup=False)
        yield OtterFooter()

"""Command-line tasks without a section of their own, as palette commands with a form each:
variables, users and permissions, queues, moving an environment.

Each task names the permission its service requires; the palette command checks it first (a user
without it is told before filling anything), then the form's values go to the same service call
as the CLI command named in the title, which validates them and answers with its one line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial

from textual.app import App
from textual.command import DiscoveryHit, Hit, Hits, Provider

from otter_tui.errors import OtterError, UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.context import PERMISSIONS
from otter_tui.services.queues import QueueService
from otter_tui.services.variables import SCOPES
from screens.modals import FormField, FormModal

YES_NO = ("no", "yes")


def _names(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.replace(",", " ").split() if part)


@dataclass(frozen=True)
class Task:
    """One palette command: a form whose values one service call takes."""

    title: str
    """In the palette: ``set variable (vars set)``."""
    permission: str
    fields: Sequence[FormField]
    run: Callable[[Runtime, Mapping[str, str]], str]
    """Blocking: the service call; returns the line shown when it is done."""


def _set_variable(rt: Runtime, v: Mapping[str, str]) -> str:
    rt.variables.set(v["scope"], v["owner"] or None, v["name"], v["value"])
    return f"set {v['scope']} variable {v['name']}"


def _remove_variable(rt: Runtime, v: Mapping[str, str]) -> str:
    rt.variables.unset(v["scope"], v["owner"] or None, v["name"])
    return f"removed {v['scope']} variable {v['name']}"


def _add_user(rt: Runtime, v: Mapping[str, str]) -> str:
    rt.users.add(v["name"], admin=v["admin"] == "yes", permissions=_names(v["permissions"]))
    return f"user '{v['name']}' added"


def _grant(rt: Runtime, v: Mapping[str, str]) -> str:
    if v["action"] == "revoke":
        rt.users.revoke(v["user"], v["permission"])
        return f"{v['user']}: {v['permission']} revoked"
    rt.users.grant(v["user"], v["permission"])
    return f"{v['user']}: {v['permission']} granted"


def _add_queue(rt: Runtime, v: Mapping[str, str]) -> str:
    try:
        concurrency = int(v["concurrency"])
    except ValueError:
        raise UsageError(f"concurrency is a whole number, got {v['concurrency']!r}") from None
    service = QueueService(rt.ctx)  # as the CLI builds it
    service.add(v["name"], concurrency=concurrency, description=v["description"])
    return f"queue '{v['name']}' added"


def _move_environment(rt: Runtime, v: Mapping[str, str]) -> str:
    rt.inventory.set_environment_parent(v["name"], v["parent"] or None)
    return f"environment '{v['name']}' moved under {v['parent'] or 'the top'}"


VARIABLE = (
    FormField("scope", "Scope", "global", choices=SCOPES),
    FormField("owner", "Owner", "", "role, environment or server name (not for global)"),
    FormField("name", "Name", ""),
)
TASKS = (
    Task(
        "set variable (vars set)",
        "inventory.edit",
        (*VARIABLE, FormField("value", "Value", "")),
        _set_variable,
    ),
    Task("remove variable (vars rm)", "inventory.edit", VARIABLE, _remove_variable),
    Task(
        "add user (users add)",
        "users.manage",
        (
            FormField("name", "Name", ""),
            FormField("admin", "Admin", "no", choices=YES_NO),
            FormField("permissions", "Permissions", "", hint=", ".join(PERMISSIONS)),
        ),
        _add_user,
    ),
    Task(
        "grant or revoke a permission (users grant/revoke)",
        "users.manage",
        (
            FormField("user", "User", ""),
            FormField("permission", "Permission", PERMISSIONS[0], choices=tuple(PERMISSIONS)),
            FormField("action", "Action", "grant", choices=("grant", "revoke")),
        ),
        _grant,
    ),
    Task(
        "add job queue (queues add)",
        "plans.manage",
        (
            FormField("name", "Name", ""),
            FormField("concurrency", "Concurrency", "1"),
            FormField("description", "Description", ""),
        ),
        _add_queue,
    ),
    Task(
        "move environment (environments set --parent)",
        "inventory.edit",
        (FormField("name", "Environment", ""), FormField("parent", "New parent", "", "empty: top")),
        _move_environment,
    ),
)


async def open_task(app: App[object], runtime: Runtime, task: Task) -> None:
    """Check the permission (off the UI thread), then open the task's form."""
    try:
        await asyncio.to_thread(runtime.ctx.check, task.permission)
    except OtterError as error:
        app.notify(str(error), severity="error", markup=False)
        return

    def done(line: str | None) -> None:
        if line:
            app.notify(line, markup=False)

    form = FormModal(task.title, task.fields, partial(task.run, runtime))
    app.push_screen(form, done)


class TaskCommands(Provider):
    """The tasks above, in the palette."""

    def _command(self, task: Task) -> Callable[[], object]:
        app = self.app
        runtime: Runtime = getattr(app, "runtime")  # noqa: B009 - OtterApp, not imported here
        return lambda: app.run_worker(
            open_task(app, runtime, task), group="task", exit_on_error=False
        )

    async def discover(self) -> Hits:
        for task in TASKS:
            yield DiscoveryHit(task.title, self._command(task))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for task in TASKS:
            if score := matcher.match(task.title):
                yield Hit(score, matcher.highlight(task.title), self._command(task))

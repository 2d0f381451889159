"""The console app: one Textual mode per section, the header, and the bridge from the core's bus.

Adding a section is one :class:`Section` in ``SECTIONS`` plus its screen file: the mode, the
number key that switches to it and its Footer entry all come from that entry. A section's screen
is built with a :class:`ConsoleContext`: the runtime (the services), the app's ``core_events``
signal and the job runner. Its module is imported when the section is first shown, not at start.

The app owns the runner's and the scheduler's lives: it starts them once its first frame is
painted (so the console shows up before the engine is even imported) and stops them on exit (the
scheduler lets its lease go at once), after asking when jobs are still running here (those are
then marked ``interrupted``, never silently re-run). The header's sub-title says who
schedules: ``scheduler: this console`` or ``scheduler: daemon host:pid``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.signal import Signal

from otter_tui.events import Event, EventBus
from screens.context import ConsoleContext
from screens.job_runner import ConsoleRunner, console_runner, console_scheduler, status_line
from screens.messages import CoreEvent
from screens.modals import ConfirmModal

if TYPE_CHECKING:
    from otter_tui.runtime import Runtime
    from otter_tui.scheduler import Scheduler

EXIT_AFTER_FIRST_FRAME = "OTTER_TUI_EXIT_AFTER_FIRST_FRAME"
"""Set (to anything) to quit once the first screen is painted: the benchmark times start-up."""
BRIDGE_BACKLOG = 500
"""Pending UI messages above which the bridge stops draining the bus, so the UI's lossy
subscription overflows (and later resyncs) instead of the app's message queue growing."""
STATUS_SECONDS = 1.0
"""How often the header's "scheduler: ..." is refreshed (it reads memory, not the database)."""
SCHEDULER_STOP_SECONDS = 5.0
"""On exit, how long the scheduler gets to finish its pass and release its lease."""


@dataclass(frozen=True)
class Section:
    """A top-level section of the console: a Textual mode with its own screen stack."""

    mode: str
    """The mode's name (``servers``, ``jobs``, ...)."""
    title: str
    """Shown in the Footer and the header."""
    screen: Callable[[ConsoleContext], Screen[None]]
    """Builds the section's base screen."""
    key: str = ""
    """The key that switches to it; empty: its number in ``SECTIONS``."""


# Each section's module is imported when its screen is first built: the first frame needs only
# the first section's.


def servers_screen(ctx: ConsoleContext) -> Screen[None]:
    from screens.servers import ServersScreen

    return ServersScreen(ctx.runtime, ctx.events)


def jobs_screen(ctx: ConsoleContext) -> Screen[None]:
    from screens.jobs import JobsScreen

    return JobsScreen(ctx)


def approvals_screen(ctx: ConsoleContext) -> Screen[None]:
    from screens.approvals import ApprovalsScreen

    return ApprovalsScreen(ctx)


def plans_screen(ctx: ConsoleContext) -> Screen[None]:
    from screens.plans import PlansScreen

    return PlansScreen(ctx)


def templates_screen(ctx: ConsoleContext) -> Screen[None]:
    from screens.templates import TemplatesScreen

    return TemplatesScreen(ctx)


def audit_screen(ctx: ConsoleContext) -> Screen[None]:
    from screens.audit import AuditScreen

    return AuditScreen(ctx)


SECTIONS: tuple[Section, ...] = (
    Section("servers", "Servers", servers_screen),
    Section("jobs", "Jobs", jobs_screen),
    Section("approvals", "Approvals", approvals_screen),
    Section("plans", "Plans", plans_screen),
    Section("templates", "Templates", templates_screen),
    Section("audit", "Audit", audit_screen, key="8"),
)
"""In Footer order; section N is switched to with the key N."""


def database_label(runtime: Runtime) -> str:
    """The database as the header shows it: a SQLite file's path, or a URL without password."""
    url = runtime.db.engine.url
    if runtime.db.is_sqlite:
        return str(url.database or ":memory:")
    return url.render_as_string(hide_password=True)


class OtterApp(App[None]):
    """The otter-tui console."""

    CSS_PATH = "otter.tcss"
    TITLE = "otter-tui"
    DEFAULT_MODE = SECTIONS[0].mode
    BINDINGS = [
        *(
            Binding(section.key or str(number), f"section('{section.mode}')", section.title)
            for number, section in enumerate(SECTIONS, start=1)
        ),
        Binding("f1", "toggle_keys", "Keys"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(
        self,
        runtime: Runtime,
        bus: EventBus | None = None,
        runner: ConsoleRunner | None = None,
        scheduler: Scheduler | None = None,
        *,
        make_scheduler: Callable[[], Scheduler] | None = None,
    ) -> None:
        super().__init__()
        self.runtime = runtime
        """The services every screen calls."""
        self.bus = bus
        """The core's event bus; None when nothing in this process publishes."""
        self.runner = runner
        """Runs jobs in this process (started on mount, stopped on exit); None: none run here."""
        self.scheduler = scheduler
        """Creates jobs from schedules while no daemon does (started on mount); None: never."""
        self._make_scheduler = make_scheduler
        """Builds :attr:`scheduler` after the first frame, when none was given (it imports the
        scheduler, the job service and the cron parser, which the first frame does not need)."""
        self._scheduler_stop = asyncio.Event()
        self._scheduler_task: asyncio.Task[None] | None = None
        self.core_events: Signal[Event] = Signal(self, "core-events")
        """Every core event, on the UI thread; section screens subscribe to it."""
        self.base_sub_title = f"{runtime.ctx.actor} @ {database_label(runtime)}"
        self.sub_title = self.base_sub_title
        context = ConsoleContext(runtime, self.core_events, runner)
        for section in SECTIONS:
            self.add_mode(section.mode, partial(section.screen, context))

    async def on_mount(self) -> None:
        self._show_section_title(self.current_mode)
        if os.environ.get(EXIT_AFTER_FIRST_FRAME):
            self.call_after_refresh(self.exit)
        self.call_after_refresh(self._start_background)
        for warning in self.runtime.startup_warnings():
            self.notify(warning, title="Database", severity="warning", timeout=30)
        if self.bus is not None:
            self.run_worker(
                self._bridge(self.bus),
                name="event-bridge",
                group="core-events",
                exit_on_error=False,
            )

    async def _start_background(self) -> None:
        """Start the job runner and the scheduler once the first frame is painted.

        The first screen shows nothing they produce, and starting them imports the engine
        (asyncssh, the transports) and takes the scheduler's lease: the console paints first.
        An app already exiting (quit before its first paint) starts neither.
        """
        if self.return_code is not None:
            return
        if self.runner is not None:
            await self.runner.start()
        if self.scheduler is None and self._make_scheduler is not None:
            self.scheduler = self._make_scheduler()
        self._start_scheduler()

    async def on_unmount(self) -> None:
        await self._stop_scheduler()
        if self.runner is not None:
            await self.runner.stop()

    def _start_scheduler(self) -> None:
        if self.scheduler is not None:
            self._scheduler_stop.clear()
            self._scheduler_task = asyncio.create_task(
                self.scheduler.run(self._scheduler_stop), name="console-scheduler"
            )
        if self.scheduler is not None or self.runner is not None:
            self.show_status()
            self.set_interval(STATUS_SECONDS, self.show_status, name="scheduler-status")

    async def _stop_scheduler(self) -> None:
        """Stop scheduling and release the lease, so a daemon need not wait for it to expire."""
        task, self._scheduler_task = self._scheduler_task, None
        if task is None:
            return
        self._scheduler_stop.set()
        _done, late = await asyncio.wait({task}, timeout=SCHEDULER_STOP_SECONDS)
        for pending in late:
            pending.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pending

    def show_status(self) -> None:
        """Put who schedules (and runs queued jobs) in the header's sub-title."""
        status = status_line(self.scheduler, self.runner)
        line = f"{self.base_sub_title} · {status}" if status else self.base_sub_title
        if line != self.sub_title:
            self.sub_title = line

    async def action_quit(self) -> None:
        """Quit; when jobs run in this console, ask first (they would be interrupted)."""
        running = self.runner.running if self.runner is not None else []
        if not running:
            self.exit()
            return
        ids = ", ".join(str(job_id) for job_id in running)
        question = (
            f"Job(s) {ids} are running in this console.\n\nQuit anyway? They get a moment "
            "to finish; what is still running then is marked interrupted."
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmModal(question, confirm_label="Quit", deny_label="Stay"), answered)

    def action_section(self, mode: str) -> None:
        self.switch_mode(mode)
        self._show_section_title(mode)

    def action_toggle_keys(self) -> None:
        """Show or hide Textual's panel of the keys that work where the focus is."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    def _show_section_title(self, mode: str) -> None:
        titles = {section.mode: section.title for section in SECTIONS}
        self.title = f"{self.TITLE} · {titles.get(mode, mode)}"

    async def _bridge(self, bus: EventBus) -> None:
        """Turn the bus's events into messages; stop draining while the UI is far behind."""
        subscription = bus.subscribe(lossy=True)
        try:
            async for event in subscription:
                self.post_message(CoreEvent(event))
                while self.message_queue_size > BRIDGE_BACKLOG:
                    await asyncio.sleep(0.05)
        finally:
            bus.unsubscribe(subscription)

    @on(CoreEvent)
    def _core_event(self, message: CoreEvent) -> None:
        self.core_events.publish(message.event)


def run_console(runtime: Runtime, bus: EventBus | None = None) -> None:
    """Open the console on ``runtime`` until the user quits (the CLI's entry into the UI).

    Jobs run and schedules fire in the console's own process unless a daemon is running (see
    ``job_runner``).
    """
    bus = bus or EventBus()
    runner = console_runner(runtime, bus)
    make_scheduler = partial(console_scheduler, runtime, bus, runner.notify)
    OtterApp(runtime, bus, runner, make_scheduler=make_scheduler).run()

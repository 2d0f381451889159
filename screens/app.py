"""The console app: one Textual mode per section, the header, and the bridge from the core's bus.

The sections are data (:data:`screens.sections.SECTIONS`); each section's screen is built with
a :class:`ConsoleContext`: the runtime (the services), the app's ``core_events`` signal and the
job runner. The runner and the scheduler (:class:`screens.lifecycle.Background`) start after the
first frame and stop on exit, after asking when jobs still run here (then marked ``interrupted``).
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.signal import Signal
from textual.worker import Worker

from otter_tui.events import Event, EventBus
from screens import log_toasts
from screens.background import route_result, run_blocking
from screens.change_feed import FEED_SECONDS, ChangeFeed
from screens.context import ConsoleContext
from screens.header import SubTitle
from screens.lifecycle import Background
from screens.messages import CoreEvent, ShowJobInList
from screens.modals import ConfirmModal
from screens.palette import CONSOLE_COMMANDS
from screens.sections import SECTIONS, section_title
from screens.warm import build_styled, prebuild_sections

if TYPE_CHECKING:
    from otter_tui.log_file import LogFile
    from otter_tui.runtime import Runtime
    from otter_tui.scheduler import Scheduler
    from otter_tui.services.plans import PlanView
    from screens.job_runner import ConsoleRunner
    from screens.jobs import JobsScreen

log = logging.getLogger(__name__)
EXIT_AFTER_FIRST_FRAME = "OTTER_TUI_EXIT_AFTER_FIRST_FRAME"
"""Set (to anything) to quit once the first screen is painted: the benchmark times start-up."""
SECTION_KEYS = Binding.Group("Sections", compact=True)
"""The number keys show as one group in the Footer ("12345678 Sections"); F1 names each."""
BRIDGE_BACKLOG = 500
"""Pending UI messages above which the bridge stops draining the bus, so the UI's lossy
subscription overflows (and later resyncs) instead of the app's message queue growing."""
STATUS_SECONDS = 1.0
"""How often the header's "scheduler: ..." is refreshed (it reads memory, not the database)."""


class OtterApp(App[None]):
    """The otter-tui console."""

    CSS_PATH: ClassVar[str | None] = "otter.tcss"
    TITLE = "otter-tui"
    DEFAULT_MODE = SECTIONS[0].mode
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    """Every screen gets ``-narrow`` under 120 columns: side panes stack or collapse."""
    VERTICAL_BREAKPOINTS = [(0, "-short"), (36, "-tall")]
    """And ``-short`` under 36 rows: forms drop their padding, previews keep to a few lines."""
    COMMANDS = App.COMMANDS | CONSOLE_COMMANDS
    BINDINGS = [
        *(
            Binding(str(number), f"section('{section.mode}')", section.title, group=SECTION_KEYS)
            for number, section in enumerate(SECTIONS, start=1)
        ),
        Binding("f1", "toggle_keys", "Keys"),
        Binding("ctrl+q", "quit", "Quit", priority=True, show=False),
    ]

    runtime: Runtime  # the services every screen calls (set by attach: at once or once open)
    feed: ChangeFeed  # tells the screens what other processes changed (StoreChanged events)
    sub_titles: SubTitle  # the header's sub-title, wide and compact (show_status picks one)
    toasts: log_toasts.ToastHandler  # what is logged while the app runs, as notifications
    log_file: LogFile | None = None  # ... and in <data_dir>/console.log, once the runtime is open

    def __init__(
        self,
        runtime: Runtime | None,
        bus: EventBus | None = None,
        runner: ConsoleRunner | None = None,
        scheduler: Scheduler | None = None,
        *,
        make_scheduler: Callable[[], Scheduler] | None = None,
        prebuild: bool = False,
        threaded: bool = False,
    ) -> None:
        super().__init__()
        self.bus = bus
        """The core's event bus; None when nothing in this process publishes."""
        self.background = Background(runner, scheduler, make_scheduler, threaded=threaded)
        """The job runner and the scheduler of this console (started after the first frame)."""
        self.core_events: Signal[Event] = Signal(self, "core-events")
        """Every core event, on the UI thread; section screens subscribe to it."""
        self.prebuild = prebuild
        """Build the other sections after the first frame (the console; tests build on demand)."""
        if runtime is not None:
            self.attach(runtime)

    def attach(self, runtime: Runtime) -> None:
        """Give the app its services: the sections become available (``screens.opening``
        paints the first frame before the runtime is open and attaches it then)."""
        self.runtime = runtime
        self.feed = ChangeFeed(runtime.ctx, self.core_events.publish)
        self.sub_titles = SubTitle.of(runtime)
        context = ConsoleContext(runtime, self.core_events, self.background.runner)
        for section in SECTIONS:
            self.add_mode(section.mode, partial(build_styled, self, section, context))

    @property
    def runner(self) -> ConsoleRunner | None:
        """Runs jobs in this process; None: none run here."""
        return self.background.runner

    async def on_mount(self) -> None:
        self.toasts = log_toasts.install(self)
        if hasattr(self, "runtime"):  # else screens.opening attaches it, then calls opened()
            self.opened()

    def opened(self) -> None:
        """The runtime is attached and a section shown: start everything that reads the store."""
        self.show_status()
        self._open_log_file()
        if os.environ.get(EXIT_AFTER_FIRST_FRAME):
            self.call_after_refresh(self.exit)
        self.call_after_refresh(self._start_background)
        for warning in self.runtime.startup_warnings():
            self.notify(warning, title="Database", severity="warning", timeout=30)
        if self.bus is not None and self.background.threaded:
            self.background.spawn(self._bridge(self.bus), "event-bridge")
        elif self.bus is not None:
            self.run_worker(
                self._bridge(self.bus),
                name="event-bridge",
                group="core-events",
                exit_on_error=False,
            )

    async def _start_background(self) -> None:
        """Start the job runner and the scheduler once the first frame is painted.

        An app already exiting (quit before its first paint) starts neither.
        """
        if self.return_code is not None:
            return
        self.set_interval(FEED_SECONDS, self._read_changes, name="change-feed")
        await self.background.start()
        if problem := (self.runner.problem if self.runner is not None else None):
            self.notify(problem, severity="error", markup=False, timeout=30)
        if self.prebuild:
            self.run_worker(prebuild_sections(self), group="prebuild", exit_on_error=False)
        if self.background.active:
            self.show_status()
            self.set_interval(STATUS_SECONDS, self.show_status, name="scheduler-status")

    def _open_log_file(self) -> None:
        """``<data_dir>/console.log`` from now on (``otter_tui.log_file``); a one-line warning
        when it cannot be written, and the console goes on."""
        from otter_tui.log_file import open_log_file  # after the first frame, as the store is

        opened = open_log_file(self.runtime.settings.data_dir, self.runtime.ctx.now)
        if isinstance(opened, str):
            self.notify(opened, title="Log", severity="warning", markup=False, timeout=30)
        else:
            self.log_file = opened

    async def on_unmount(self) -> None:
        try:
            await self.background.stop()
        finally:
            log_toasts.uninstall(self.toasts)
            if self.log_file is not None:
                self.log_file.close()

    def on_resize(self) -> None:
        self.show_status()

    def show_status(self) -> None:
        """The header as wide as fits: the section, who, and who schedules (and runs jobs)."""
        width = self.size.width
        self.title = self.sub_titles.title(self.TITLE, section_title(self.current_mode), width)
        line = self.sub_titles.line(self.background.status(), width)
        if line != self.sub_title:
            self.sub_title = line

    async def action_quit(self) -> None:
        """Quit; when jobs run in this console, ask first (they would be interrupted)."""
        running = self.background.running()
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
        self.show_status()

    def open_job(self, job_id: int) -> None:
        """Show job ``job_id`` over the Jobs section (the palette's "go to job 42")."""
        self._on_jobs(lambda jobs: jobs.open_job(job_id))

    def new_job_for(self, plan: PlanView) -> None:
        """The job form of ``plan`` over the Jobs section (the palette's "run plan ...")."""
        self._on_jobs(lambda jobs: jobs.actions.new_job_for(plan))

    @on(ShowJobInList)
    def _show_in_jobs(self, message: ShowJobInList) -> None:
        """A job was created (from Plans, Jobs, a job's detail): Jobs, the cursor on it."""
        self._on_jobs(lambda jobs: jobs.action_reload(message.job_id))

    def _on_jobs(self, do: Callable[[JobsScreen], object]) -> None:
        from screens.jobs import JobsScreen

        self.action_section("jobs")

        def run() -> None:
            base = self.screen_stack[0]
            if isinstance(base, JobsScreen):
                do(base)

        self.call_later(run)

    def action_toggle_keys(self) -> None:
        """Show or hide Textual's panel of the keys that work where the focus is."""
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

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

    def _read_changes(self) -> None:
        """One read of the store's change markers at a time (see ``screens.change_feed``)."""
        if not self.feed.busy:
            self.feed.busy = True
            run_blocking(self, self.feed.read, group="change-feed")

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "change-feed":
            route_result(event, {"change-feed": self.feed.got}, self._feed_failed)

    def _feed_failed(self, line: str) -> None:
        self.feed.busy = False
        log.warning("change feed: %s", line)

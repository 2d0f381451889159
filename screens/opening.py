"""The console as the command line opens it: painted first, the runtime opened behind it.

Opening the runtime (SQLAlchemy and every service imported, config read, the database opened
and its schema checked, plan files loaded) takes longer than Textual takes to paint. So
:class:`OpeningApp` shows its frame first (header, "opening ..." and the keys) and opens the
runtime in a thread worker after that first paint; when it is open the sections are attached and
the one asked for is shown (a number key pressed meanwhile is remembered). A PostgreSQL server
that is slow to answer leaves the operator looking at a console that says what it waits for, not
at a blank terminal.

Opening can fail on the user's input (a malformed config.toml, an unreachable database, a schema
newer than this program): the app exits at once and :func:`run_console` raises that error again
after the terminal is restored, so the command line prints its one line and exit code as for any
other command.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual import on
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Header, Static
from textual.worker import Worker, WorkerState

from otter_tui.events import EventBus
from screens.app import EXIT_AFTER_FIRST_FRAME, OtterApp
from screens.lifecycle import Background
from screens.sections import SECTIONS

if TYPE_CHECKING:
    from otter_tui.runtime import Runtime

CSS_FILE = Path(__file__).with_name(OtterApp.CSS_PATH or "otter.tcss")
"""The console's stylesheet (the sections')."""
STARTING = "starting"
"""The mode shown until the runtime is open (removed then)."""
OPEN_GROUP = "open-runtime"
OPENING_KEYS = " 1-8 section (shown once open)  ctrl+q quit"
SECTION_FRAME = "section"
"""``OTTER_TUI_EXIT_AFTER_FIRST_FRAME=section``: quit once the first section is painted (after
the runtime is open) instead of after the very first frame; the benchmark times both."""


class StartingScreen(Screen[None]):
    """What the console shows while it opens: the header, what it waits for, the keys that work.

    The keys are one line of text, not a Footer: a Footer's ten key widgets cost more to lay out
    than the rest of the frame (bench: first frame), and the sections' own Footer shows them all
    a moment later.
    """

    DEFAULT_CSS = """
    StartingScreen #opening { padding: 1 2; }
    StartingScreen #opening-keys { dock: bottom; height: 1; background: $panel; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("Opening: reading the config, the database and the plans…", id="opening")
        yield Static(OPENING_KEYS, id="opening-keys", markup=False)


class OpeningApp(OtterApp):
    """:class:`OtterApp` started before its runtime exists; ``opener`` opens it (in a thread)."""

    DEFAULT_MODE: ClassVar[str] = STARTING
    CSS_PATH = None  # read when the sections are attached: the first frame needs none of it

    def __init__(self, opener: Callable[[], Runtime]) -> None:
        super().__init__(None, EventBus(), prebuild=True)
        self.opener = opener
        self.failure: BaseException | None = None
        """Why opening failed (re-raised by :func:`run_console` once the app has exited)."""
        self.wanted = SECTIONS[0].mode
        """The section to show once open: the first, or the last number key pressed."""
        self.use_command_palette = False  # its commands need the services: on once open
        self.add_mode(STARTING, StartingScreen)

    @property
    def is_open(self) -> bool:
        return self.current_mode != STARTING

    async def on_mount(self) -> None:
        self.title = f"{self.TITLE} · opening"
        if os.environ.get(EXIT_AFTER_FIRST_FRAME, SECTION_FRAME) not in ("", SECTION_FRAME):
            self.call_after_refresh(self.exit)  # the very first frame (``section``: later)
        else:
            self.call_after_refresh(self._open)

    def _open(self) -> None:
        if self.return_code is None:  # not quit before the first paint
            self.run_worker(
                self.opener, name=OPEN_GROUP, group=OPEN_GROUP, thread=True, exit_on_error=False
            )

    def show_status(self) -> None:
        if self.is_open:
            super().show_status()

    def action_section(self, mode: str) -> None:
        if self.is_open:
            super().action_section(mode)
        else:
            self.wanted = mode

    @on(Worker.StateChanged)
    async def _opening_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != OPEN_GROUP or self.return_code is not None:
            return  # someone else's worker, or the user quit while the runtime was opening
        if worker.state is WorkerState.SUCCESS and worker.result is not None:
            await self._attach_opened(worker.result)
        elif worker.state is WorkerState.ERROR:
            self.failure = worker.error
            self.exit(return_code=1)

    async def _attach_opened(self, runtime: Runtime) -> None:
        """Attach the runtime, build the runner and scheduler on it, show the section."""
        from screens.job_runner import console_runner, console_scheduler

        assert self.bus is not None
        runner = console_runner(runtime, self.bus)
        make_scheduler = partial(console_scheduler, runtime, self.bus, runner.notify)
        self.background = Background(runner, None, make_scheduler, threaded=True)
        self.stylesheet.read(CSS_FILE)
        self.refresh_css(animate=False)
        self.attach(runtime)
        await self.switch_mode(self.wanted)
        await self.remove_mode(STARTING)
        self.use_command_palette = True
        self.opened()


def run_console(opener: Callable[[], Runtime]) -> None:
    """Open the console until the user quits (the CLI's entry into the UI); ``opener`` opens the
    runtime once the first frame is painted. Raises what opening raised.

    Jobs run and schedules fire in the console's own process unless a daemon is running (see
    ``job_runner``).
    """
    app = OpeningApp(opener)
    app.run()
    if app.failure is not None:
        raise app.failure

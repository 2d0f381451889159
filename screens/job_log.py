"""A job's log (or one server run's), following new lines as they are stored.

Lines are read from the store in batches by ``seq``: first the newest :data:`MAX_LINES`, then
everything after the last line shown. A read is started when the core says the job logged or
changed, and on a timer while the job is active (for jobs other processes run); at most one read
is in flight, so a job streaming thousands of lines a second costs a few reads a second, not one
per line. The widget holds at most :data:`MAX_LINES`; the whole log stays in the store
(``otter-tui jobs logs``). Remote output is data: the ``Log`` widget shows it as plain text with
control codes removed.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Log
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import LogView
from screens.background import Coalesced, route_result, run_blocking

MAX_LINES = 5000
"""Lines the widget holds; older ones scroll out of it (never out of the store)."""
BATCH = 2000
"""Lines per read while following."""
MARKERS = {"warn": "! ", "warning": "! ", "error": "x "}


@dataclass(frozen=True)
class LogRead:
    """One read's lines, tagged with what was on show when it started."""

    generation: int
    lines: list[LogView]
    full: bool
    """The read hit its limit: more lines are waiting."""


def log_line(line: LogView, with_server: bool) -> str:
    stamp = line.at.astimezone().strftime("%H:%M:%S")
    text = f"{MARKERS.get(line.level, '')}{line.text}"
    if not with_server:
        return f"{stamp} {text}"
    return f"{stamp} {line.server or '(job)':<14} {text}"


class JobLogPane(Vertical):
    """The log of job ``job_id``: every line, or one server run's (see :meth:`show_run`)."""

    def __init__(self, runtime: Runtime, job_id: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runtime = runtime
        """Where the lines are read from."""
        self.job_id = job_id
        """The job whose log this is."""
        self.run_id: int | None = None
        """The server run on show; None: the whole job."""
        self.last_seq = 0
        """The newest line on show; the next read starts after it (0: read the tail)."""
        self.generation = 0
        """Bumped when what is on show changes, so an older read's lines are dropped."""
        self._reads = Coalesced(self._start_read)

    def compose(self) -> ComposeResult:
        yield Label("Log: all server runs", id="log-title", markup=False)
        yield Log(id="job-log", max_lines=MAX_LINES, auto_scroll=True)

    @property
    def log_widget(self) -> Log:
        return self.query_one("#job-log", Log)

    @property
    def lines(self) -> list[str]:
        """The lines the widget holds now."""
        return list(self.log_widget.lines)

    def show_run(self, run_id: int | None, title: str) -> None:
        """Show the newest lines of one server run (None: the whole job) and follow it."""
        if run_id == self.run_id and self.generation:
            return
        self.run_id, self.last_seq = run_id, 0
        self.generation += 1
        self.log_widget.clear()
        self.query_one("#log-title", Label).update(f"Log: {title}")
        self._reads.request()

    def poke(self) -> None:
        """New lines may have been stored: read them (one read at a time)."""
        self._reads.request()

    def _start_read(self) -> None:
        jobs, job_id, run_id = self.runtime.jobs, self.job_id, self.run_id
        generation, after = self.generation, self.last_seq

        def read() -> LogRead:
            if after == 0:
                tail = jobs.log_tail(job_id, limit=MAX_LINES, server_run_id=run_id)
                return LogRead(generation, tail, full=False)
            lines = jobs.logs(job_id, after_seq=after, limit=BATCH, server_run_id=run_id)
            return LogRead(generation, lines, full=len(lines) >= BATCH)

        run_blocking(self, read, group="job-log")

    @on(Worker.StateChanged)
    def _read_done(self, event: Worker.StateChanged) -> None:
        event.stop()
        route_result(event, {"job-log": self._got}, self._failed)

    def _got(self, read: LogRead) -> None:
        if read.generation != self.generation:
            self._reads.again = True  # what is on show changed meanwhile: read it
        else:
            fresh = [line for line in read.lines if line.seq > self.last_seq]
            if fresh:
                with_server = self.run_id is None
                self.log_widget.write_lines(log_line(line, with_server) for line in fresh)
                self.last_seq = fresh[-1].seq
            self._reads.again = self._reads.again or read.full
        self._reads.done()

    def _failed(self, line: str) -> None:
        self._reads.done()
        self.notify(f"cannot read the log: {line}", severity="error", markup=False)

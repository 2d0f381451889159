"""A job's log (or one server run's), following new lines as they are stored.

Lines are read from the store in batches by ``seq``: first the newest :data:`FIRST_LINES` (a
screenful and a page, so opening a job with a million lines paints at once), then everything
after the last line shown; the older ones, up to :data:`MAX_LINES` in all, are read when the
reader scrolls to within a page of the top (or presses Home), and put above. The core saying
the job logged or changed (or a timer, for jobs other processes run) marks the pane stale; a
stale pane reads at most every :data:`READ_EVERY` seconds, one read at a time, so a job streaming
thousands of lines a second costs a few reads a second, and the reads never starve the log
writer storing those lines.

When more than a batch is waiting, the pane jumps to the newest lines and says so, rather than
replay lines that would scroll out of it at once. The widget holds at most :data:`MAX_LINES`;
the whole log stays in the store (``otter-tui jobs logs``). Remote output is data: the ``Log``
widget shows it as plain text with control codes removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.geometry import Size
from textual.widgets import Label, Log
from textual.worker import Worker

from otter_tui.runtime import Runtime
from otter_tui.services.jobs import LogView
from otter_tui.text import visible
from screens.background import Coalesced, route_result, run_blocking

MAX_LINES = 5000
"""Lines the widget holds; older ones scroll out of it (never out of the store)."""
FIRST_LINES = 200
"""Lines read first when a log is shown: a tall pane's screenful and a few pages up."""
BATCH = 2000
"""Lines per read while following."""
READ_EVERY = 0.25
"""Seconds between reads while new lines keep coming."""
MEASURE_INLINE = 500
"""Up to this many new lines are measured for the log's width on the UI thread (~1 us a line)."""
MARKERS = {"warn": "! ", "warning": "! ", "error": "x "}
SKIPPED = "... lines skipped to keep up; every line is stored: otter-tui jobs logs {job}"


@dataclass(frozen=True)
class LogRead:
    """One read's lines, tagged with what was on show when it started."""

    generation: int
    lines: list[LogView]
    texts: list[str]
    """The lines as shown, formatted where they were read (see :func:`log_lines`)."""
    skipped: bool = False
    """Lines between the last one shown and these were skipped to catch up (all are stored)."""
    first: bool = False
    """The first read of what is on show: older lines may be waiting above these."""


@dataclass(frozen=True)
class Older:
    """Lines that may wait above the first read's: before ``seq``, of what was on show then."""

    seq: int
    generation: int


def log_lines(lines: Sequence[LogView], with_server: bool) -> list[str]:
    """The lines as the pane shows them: time, server (when the pane shows every run), text.

    Called in the read's thread, not on the event loop that the keys wait for: following a
    job on 500 servers, formatting ~5,000 lines a second there was an eighth of the loop's time
    (``bench/keys.py``). A read's lines share few timestamps; each is converted once."""
    stamps: dict[datetime, str] = {}
    shown: list[str] = []
    for line in lines:
        stamp = stamps.get(line.at)
        if stamp is None:
            stamp = stamps[line.at] = line.at.astimezone().strftime("%H:%M:%S")
        text = f"{MARKERS.get(line.level, '')}{visible(line.text)}"
        if with_server:
            shown.append(f"{stamp} {line.server or '(job)':<14} {text}")
        else:
            shown.append(f"{stamp} {text}")
    return shown


def log_read(generation: int, lines: list[LogView], with_server: bool, **flags: bool) -> LogRead:
    """A read of ``lines`` with their texts (``flags``: ``skipped``, ``first``)."""
    return LogRead(generation, lines, log_lines(lines, with_server), **flags)


class HistoryLog(Log):
    """A ``Log`` that also takes older lines above those it holds (the history read after the
    first paint), keeping the lines in view where they are, or following the end."""

    # Log's is a thread worker (it returns the Worker): the override returns nothing.
    def _update_size(self, updates: int, lines: list[str]) -> None:  # type: ignore[override]
        """Measure a batch as small as a first read's on the spot: ``Log`` measures every batch
        in a thread worker whose result lands after the first paint and lays the screen out
        (and paints it) again, 30-40 ms for a job's screen. Larger batches stay in the thread."""
        if len(lines) > MEASURE_INLINE:
            super()._update_size(updates, lines)
        elif lines:
            width = max(cell_len(self._process_line(line)) for line in lines)
            self._update_maximum_width(updates, width)

    def prepend_lines(self, lines: Sequence[str]) -> None:
        """Put ``lines`` above the first line; as many as fit under ``max_lines``, newest kept."""
        room = len(lines) if self.max_lines is None else self.max_lines - len(self._lines)
        older = list(lines[-room:]) if room > 0 else []
        if not older:
            return
        following = self.is_vertical_scroll_end
        self._lines[:0] = older
        self._render_line_cache.clear()  # keyed by line number: every number moved
        width = max(cell_len(self._process_line(line)) for line in older)
        self._width = max(self._width, width)
        self.virtual_size = Size(self._width, self.line_count)
        if following:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=self.scroll_y + len(older), animate=False, immediate=True)
        self.refresh()


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
        self._stale = False
        self._older: Older | None = None
        """Older lines not read yet (see :meth:`read_older`); None: none, or being read."""
        self._home_after_older = False

    def compose(self) -> ComposeResult:
        yield Label("Log: all server runs", id="log-title", markup=False)
        yield HistoryLog(id="job-log", max_lines=MAX_LINES, auto_scroll=True)

    def on_mount(self) -> None:
        self.set_interval(READ_EVERY, self._read_if_stale)
        self.watch(self.log_widget, "scroll_y", self._scrolled, init=False)

    @property
    def log_widget(self) -> HistoryLog:
        return self.query_one("#job-log", HistoryLog)

    @property
    def lines(self) -> list[str]:
        """The lines the widget holds now."""
        return list(self.log_widget.lines)

    def show_run(
        self, run_id: int | None, title: str, tail: Sequence[LogView] | None = None
    ) -> None:
        """Show the newest lines of one server run (None: the whole job) and follow it.

        ``tail``: its last :data:`FIRST_LINES` lines, already read (with the job, when the
        job is opened), shown at once rather than after a read of their own, so that the
        screen's first paint has them.
        """
        if run_id == self.run_id and self.generation:
            return
        self.run_id, self.last_seq, self._older = run_id, 0, None
        self.generation += 1
        self.log_widget.clear()
        self.query_one("#log-title", Label).update(f"Log: {title}")
        if tail is None:
            self._reads.request()
        else:
            self._got(log_read(self.generation, list(tail), run_id is None, first=True))

    def poke(self) -> None:
        """New lines may have been stored: read them at the next tick."""
        self._stale = True

    def _read_if_stale(self) -> None:
        if self._stale and not self._reads.busy:
            self._stale = False
            self._reads.request()

    def _start_read(self) -> None:
        jobs, job_id, run_id = self.runtime.jobs, self.job_id, self.run_id
        generation, after, every = self.generation, self.last_seq, run_id is None

        def read() -> LogRead:
            if after == 0:
                tail = jobs.log_tail(job_id, limit=FIRST_LINES, server_run_id=run_id)
                return log_read(generation, tail, every, first=True)
            lines = jobs.logs(job_id, after_seq=after, limit=BATCH, server_run_id=run_id)
            if len(lines) < BATCH:
                return log_read(generation, lines, every)
            # Far behind: jump to the newest lines rather than replay what would scroll away.
            tail = jobs.log_tail(job_id, limit=BATCH, server_run_id=run_id)
            if tail and tail[0].seq > lines[-1].seq + 1:
                return log_read(generation, tail, every, skipped=True)
            return log_read(generation, lines + [t for t in tail if t.seq > lines[-1].seq], every)

        run_blocking(self, read, group="job-log")

    @on(Worker.StateChanged)
    def _read_done(self, event: Worker.StateChanged) -> None:
        event.stop()
        if not route_result(event, {"job-log": self._got}, self._failed):
            route_result(event, {"job-log-older": self._got_older}, self._older_failed)

    def _got(self, read: LogRead) -> None:
        if read.generation != self.generation:
            self._reads.again = True  # what is on show changed meanwhile: read it
        else:
            last = self.last_seq
            pairs = zip(read.lines, read.texts, strict=True)
            fresh = [text for line, text in pairs if line.seq > last]
            if read.skipped and fresh:
                self.log_widget.write_line(SKIPPED.format(job=self.job_id))
            if fresh:
                self.log_widget.write_lines(fresh)
                # Once Log is at max_lines, a write while scrolled to the end prunes the top
                # but repaints nothing (the offset does not move): repaint what is on show.
                self.log_widget.refresh()
                self.last_seq = read.lines[-1].seq
            if read.first and len(read.lines) == FIRST_LINES:
                self._older = Older(read.lines[0].seq, read.generation)
        self._reads.done()

    def _scrolled(self, y: float) -> None:
        if y < self.log_widget.scrollable_content_region.height:
            self.read_older()

    def go_home(self) -> None:
        """The first line held, after reading the older ones if they are still waiting."""
        self._home_after_older = self._older is not None
        self.log_widget.scroll_home(animate=False)

    def read_older(self) -> None:
        """Read the lines above the first read's (once), up to :data:`MAX_LINES` in all."""
        older, self._older = self._older, None
        if older is None or older.generation != self.generation:
            return
        jobs, job_id, run_id = self.runtime.jobs, self.job_id, self.run_id
        before, generation = older.seq, older.generation
        limit = MAX_LINES - FIRST_LINES

        def read() -> LogRead:
            older = jobs.log_tail(job_id, limit=limit, server_run_id=run_id, before_seq=before)
            return log_read(generation, older, run_id is None)

        run_blocking(self, read, group="job-log-older", exclusive=True)

    def _got_older(self, read: LogRead) -> None:
        if read.generation == self.generation and read.lines:
            self.log_widget.prepend_lines(read.texts)
            if self._home_after_older:
                self.log_widget.scroll_home(animate=False, immediate=True)
        self._home_after_older = False

    def _older_failed(self, line: str) -> None:
        self.notify(f"cannot read the older log lines: {line}", severity="error", markup=False)

    def _failed(self, line: str) -> None:
        self._reads.done()
        self.notify(f"cannot read the log: {line}", severity="error", markup=False)

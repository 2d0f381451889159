"""Blocking service calls in thread workers, with results handled back on the UI thread.

The services talk to the database synchronously. A thread worker runs the call and only returns
its result; the node that started it gets ``Worker.StateChanged`` on the UI thread and routes the
result (or the one-line error) to a handler there. Widgets are never touched from a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from textual.dom import DOMNode
from textual.worker import Worker, WorkerState

from otter_tui.errors import OtterError, database_trouble
from otter_tui.log_lines import exception_line

T = TypeVar("T")
log = logging.getLogger(__name__)


def error_line(error: BaseException | None) -> str:
    """What the user sees for a failure: the service's one line, never a traceback.

    A database another process keeps locked past the busy timeout, or one that is away, is no
    bug: it is said as such (SQLAlchemy's own text is several lines: the SQL, a web address).
    """
    if isinstance(error, OtterError):
        return str(error)
    if said := database_trouble(error):
        return said
    return f"unexpected error: {exception_line(error)}" if error else "unexpected error"


class Handoff:
    """A worker's result, given to its handler once and then let go.

    Textual keeps a finished worker in a reference cycle (the worker, its task, the task's
    context, which holds the worker), so whatever the worker returned lived until a full
    collection: a job log pane's reads (lists of thousands of lines, ten a second while a job
    streams) were half of the cyclic garbage, and the full collections they brought on (100-
    150 ms each, more than one a second) were the console's worst key delays (bench/keys.py).
    """

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value: object = value

    def take(self) -> Any:
        value, self.value = self.value, None
        return value


def run_blocking(
    node: DOMNode, call: Callable[[], T], *, group: str, exclusive: bool = False
) -> Worker[Handoff]:
    """Run ``call`` in a thread worker named and grouped ``group``; failures never exit the app.

    With ``exclusive`` an earlier worker of the group is cancelled, so a stale result (the
    previous cursor position, an older reload) never lands after a newer one. The result
    reaches the handler through :func:`route_result` (see :class:`Handoff`).
    """
    return node.run_worker(
        lambda: Handoff(call()),
        name=group,
        group=group,
        thread=True,
        exclusive=exclusive,
        exit_on_error=False,
    )


def in_flight(node: DOMNode, group: str) -> bool:
    """A worker of ``group`` that ``node`` started has not finished yet.

    A section shown for the first time is mounted and then resumed: its mount started the load,
    so its resume must not start (and wait for) a second one.
    """
    active = (WorkerState.PENDING, WorkerState.RUNNING)
    return any(w.node is node and w.group == group and w.state in active for w in node.workers)


def route_result(
    event: Worker.StateChanged,
    handlers: Mapping[str, Callable[[Any], None]],
    on_error: Callable[[str], None],
) -> bool:
    """Hand a finished worker's result to ``handlers[group]``, or its error line to ``on_error``.

    Returns False when the worker's group is not one of ``handlers`` (someone else's worker).
    Unexpected errors (anything but an :class:`OtterError`) are logged with their traceback.
    """
    worker = event.worker
    if worker.group not in handlers:
        return False
    if event.state is WorkerState.SUCCESS:
        result = worker.result
        handlers[worker.group](result.take() if isinstance(result, Handoff) else result)
    elif event.state is WorkerState.ERROR:
        if not isinstance(worker.error, OtterError) and not database_trouble(worker.error):
            log.error("worker %r failed", worker.name, exc_info=worker.error)
        on_error(error_line(worker.error))
    return True


class Coalesced:
    """One load at a time: requests made while one runs become exactly one more load after it.

    Live screens are told "something changed" far more often than they can usefully reload (a
    job with 200 servers changes state 400 times); this keeps them at one read in flight. With
    ``spacing`` (and ``later``, a timer such as ``Widget.set_timer``), that one more load starts
    ``spacing`` seconds after the last ended, not at once: a job detail whose 500 server runs
    change state all the time reloaded back to back, and its reads and row updates took the
    event loop from the keys (bench/keys.py). A request with nothing in flight starts at once.
    """

    def __init__(
        self,
        start: Callable[[], object],
        spacing: float = 0.0,
        later: Callable[[float, Callable[[], None]], object] | None = None,
    ) -> None:
        self.start = start
        """Starts the load (a thread worker); the handler of its result calls :meth:`done`."""
        self.spacing, self.later = spacing, later
        self.busy = False
        """A load is in flight, or the next one is waiting out ``spacing``."""
        self.again = False
        """Something changed while it was in flight: load once more when it ends."""

    def request(self) -> None:
        if self.busy:
            self.again = True
            return
        self.busy, self.again = True, False
        self.start()

    def done(self) -> None:
        if self.again and self.spacing and self.later is not None:
            self.again = False
            self.later(self.spacing, self._resume)  # still busy: requests meanwhile fold in
            return
        self.busy = False
        if self.again:
            self.request()

    def _resume(self) -> None:
        self.busy = False
        self.request()

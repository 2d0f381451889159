"""The database going away and coming back (a PostgreSQL restart, a network cut): recognised,
reported once per outage, and waited out by whoever must not lose a write.

Every writer of the engine goes through :class:`~otter_tui.engine.dbthread.DbThread`, which
waits an outage out with growing pauses (see :func:`pauses`) instead of failing: a log batch, a
server run's state or a job's final state is written once the server is back, in the order it
was asked for. Others (the scheduler's pass, the daemon's presence renewal, the wake-up
listener) simply try again at their next beat. All of them report through :data:`OUTAGE`, so an
outage is one ``database connection lost`` line and one ``database reachable again`` line in a
daemon's log, not a traceback per caller per attempt.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

from sqlalchemy.exc import DBAPIError, OperationalError

log = logging.getLogger(__name__)

FIRST_PAUSE = 0.2
"""Seconds before the first retry; each pause then doubles..."""
MAX_PAUSE = 5.0
"""...up to this."""
CONNECTION_STATES = {"57P01", "57P02", "57P03"}
"""SQLSTATEs of a server shutting down or starting up (admin / crash shutdown, cannot connect
now); class ``08`` (connection exceptions) counts too."""
NOT_LET_IN = ("password", "authentication", "does not exist", "permission denied")
"""A connection refused for these reasons is a mistake to fix, not an outage to wait out."""


def is_unavailable(exc: BaseException) -> bool:
    """The server could not be reached, or dropped the connection: worth waiting for.

    ``exc`` is a SQLAlchemy error or a psycopg one (the wake-up listener uses psycopg itself). A
    statement PostgreSQL rejected, a lock timeout or SQLite's "database is locked" is not.
    """
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        exc = exc.orig if exc.orig is not None else exc
    if not type(exc).__module__.startswith("psycopg"):
        return False
    import psycopg

    if not isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        return False
    state = getattr(exc, "sqlstate", None)
    if state is None:  # failed before the server said anything: refused, cut, or not let in
        return not any(word in str(exc).lower() for word in NOT_LET_IN)
    return state in CONNECTION_STATES or state.startswith("08")


RETRY_STATES = frozenset({"40P01", "40001"})
"""PostgreSQL's deadlock_detected and serialization_failure: the server rolled the transaction
back to let another go on, and says to run it again."""


def is_busy(exc: BaseException) -> bool:
    """Another transaction is in the way, and running this one again whole is the cure:
    SQLite's "database is locked" / "busy" (another connection holds the write lock), or a
    PostgreSQL transaction chosen as a deadlock's victim."""
    if not isinstance(exc, OperationalError):
        return False
    if getattr(exc.orig, "sqlstate", None) in RETRY_STATES:
        return True
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


def trouble(exc: BaseException) -> str | None:
    """What a person is told when ``exc`` is the database being busy or away (no bug: the
    transaction was rolled back, and trying again is the cure); None for anything else."""
    if is_busy(exc):
        return "the database is busy (another process is writing to it): nothing saved, try again"
    if is_unavailable(exc):
        return f"the database is unreachable ({reason(exc)}): nothing saved, try again"
    return None


def pauses() -> Iterator[float]:
    """The waits between retries while the database is away: 0.2 s doubling to 5 s."""
    pause = FIRST_PAUSE
    while True:
        yield pause
        pause = min(pause * 2, MAX_PAUSE)


def reason(exc: BaseException) -> str:
    """The first line of what the driver said (``connection refused``...), for the log."""
    orig = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


class Outage:
    """Whether this process currently finds the database away, and since when.

    Only a connection opened after the loss ends an outage. When PostgreSQL shuts down, its
    sessions end one by one: a statement on a session not yet ended still succeeds a moment
    after another failed, and taking that for "back" made one restart two outages in the log.
    A new connection cannot be made until the server is up again, so it is the proof.
    """

    def __init__(self) -> None:
        self.since: float | None = None
        """``time.monotonic()`` of the first failure of this outage; None: not in one."""
        self.outages = 0
        """How many outages this process has seen (tests and benchmarks read it)."""
        self.connected_at = 0.0
        """``time.monotonic()`` of the newest connection this process opened."""
        self._lock = threading.Lock()

    def lost(self, exc: BaseException) -> None:
        """A call failed because the database is away: say so, once per outage."""
        with self._lock:
            if self.since is not None:
                return
            self.since = time.monotonic()
            self.outages += 1
        log.warning(
            "database connection lost (%s); retrying with pauses up to %gs until it is back, "
            "writes wait, none is dropped",
            reason(exc),
            MAX_PAUSE,
        )

    def connected(self) -> None:
        """A new connection to the database was opened (the engines' ``connect`` event)."""
        self.connected_at = time.monotonic()

    def back(self) -> None:
        """A call succeeded: if an outage was on and a connection opened since proves the
        server is up, the outage is over (said once)."""
        if self.since is None or self.connected_at < self.since:
            return
        with self._lock:
            since, self.since = self.since, None
        if since is not None:
            log.warning("database reachable again after %.1fs", time.monotonic() - since)


OUTAGE = Outage()
"""The process's one view of the database's availability."""

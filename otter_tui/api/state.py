"""What every handler shares: the runtime, the bad-key limiter, the closing flag, the workers.

Built once per app by :func:`otter_tui.api.app.build_app` and kept on ``app.state.api``.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, ParamSpec, TypeVar

from starlette.requests import HTTPConnection

from otter_tui.api_settings import ApiSettings
from otter_tui.runtime import Runtime
from otter_tui.services.context import ServiceContext

WINDOW_SECONDS = 60.0
P = ParamSpec("P")
T = TypeVar("T")


class FailureLimiter:
    """Bad keys per client address in a sliding minute; past the limit, the client waits.

    Held in memory: the limit protects this process's keys from guessing, and a restart that
    forgets it gives a guesser one more minute's allowance, no more.
    """

    def __init__(self, per_minute: int, clock: Any = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._audited: dict[str, float] = {}

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again; 0 when it may now."""
        times = self._recent(client)
        if len(times) < self.per_minute:
            return 0
        return max(1, int(times[0] + WINDOW_SECONDS - self.clock()) + 1)

    def fail(self, client: str) -> None:
        self._recent(client).append(self.clock())

    def first_refusal(self, client: str) -> bool:
        """True once per window per client: a flood of 429s is audited as one row."""
        now = self.clock()
        if now - self._audited.get(client, -WINDOW_SECONDS) < WINDOW_SECONDS:
            return False
        self._audited[client] = now
        return True

    def _recent(self, client: str) -> deque[float]:
        times = self._failures.setdefault(client, deque())
        while times and times[0] <= self.clock() - WINDOW_SECONDS:
            times.popleft()
        if not times and len(self._failures) > 10_000:
            self._failures.clear()  # many one-off clients: forget them rather than grow
            times = self._failures.setdefault(client, deque())
        return times


@dataclass
class ApiState:
    runtime: Runtime
    limiter: FailureLimiter
    closing: asyncio.Event = field(default_factory=asyncio.Event)
    """Set when the server stops: live log streams end so the shutdown is not held open."""
    workers: ThreadPoolExecutor = field(init=False, repr=False)
    """Where handlers run the services (which block on the database), ``api.workers`` threads.

    Not the loop's default executor (``asyncio.to_thread``, 6 threads on 2 cores): the work is
    Python under one GIL, so more threads add no throughput, only GIL hand-offs and SQLite
    write-lock waits (each a sleep of 1 ms or more in SQLite's busy handler) between them. In a
    daemon the API keeps to its own threads, whatever else uses the default executor."""

    def __post_init__(self) -> None:
        self.workers = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="otter-api")

    async def call(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """``fn(*args, **kwargs)`` on a worker, with the caller's context variables (as
        ``asyncio.to_thread`` does); the loop goes on meanwhile."""
        loop = asyncio.get_running_loop()
        run = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await loop.run_in_executor(self.workers, run)

    @property
    def settings(self) -> ApiSettings:
        return self.runtime.ctx.settings.api

    def ctx_for(self, user: str) -> ServiceContext:
        return self.runtime.ctx.as_user(user)

    def audit(self, actor: str, action: str, name: str, detail: dict[str, Any]) -> None:
        with self.runtime.db.transaction() as s:
            self.ctx_for(actor).audit(s, action, "api", name, **detail)


def api_state(conn: HTTPConnection) -> ApiState:
    state: ApiState = conn.app.state.api
    return state


def client_address(conn: HTTPConnection) -> str:
    """The peer (or, with trusted proxy headers, the address the proxy reports)."""
    return conn.client.host if conn.client else "unknown"


__all__ = ["ApiState", "FailureLimiter", "api_state", "client_address"]

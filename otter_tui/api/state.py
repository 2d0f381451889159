"""What every handler shares: the runtime, the bad-key limiter, the closing flag and metrics.

Built once per app by :func:`otter_tui.api.app.build_app` and kept on ``app.state.api``.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection

from otter_tui.api_settings import ApiSettings
from otter_tui.runtime import Runtime
from otter_tui.services.context import ServiceContext

WINDOW_SECONDS = 60.0


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

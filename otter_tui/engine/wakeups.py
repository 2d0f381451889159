"""Wake-ups from PostgreSQL: a worker hears of a claimable job the moment it is committed.

The database sends ``NOTIFY otter_jobs, '<queue>'`` whenever a job becomes claimable (a trigger,
migration 0009), from whichever process made it. A worker keeps one extra connection that
``LISTEN``s and wakes its claim loop on each notice for one of its queues. Polling stays as the
fallback (a notice is lost while the connection is down) and is the only way on SQLite.

A lost connection (PostgreSQL restarting, a network cut) is retried with a growing delay (0.2 s
doubling up to 5 s, short again once it listens); the worker meanwhile polls as before. The
loss is reported once per outage, with every other caller's (:mod:`otter_tui.store.outage`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.engine import make_url

from otter_tui.store.outage import OUTAGE, is_unavailable, pauses

log = logging.getLogger(__name__)

CHANNEL = "otter_jobs"


def listens(url: str) -> bool:
    """Whether the database at ``url`` can wake workers (PostgreSQL can; SQLite cannot)."""
    return make_url(url).get_backend_name() == "postgresql"


def libpq_url(url: str) -> str:
    """The SQLAlchemy URL as libpq understands it (no ``+driver``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def listen_for_jobs(
    url: str, serves: Callable[[str], bool], wake: Callable[[], None], *, name: str = "worker"
) -> None:
    """Until cancelled: call ``wake()`` for every notice about a queue the worker ``serves``
    (asked at each notice: a reload may change the queues)."""
    waits = pauses()

    def listening() -> None:
        nonlocal waits
        waits = pauses()  # the next loss starts again with a short pause
        OUTAGE.connected()  # its own new connection: proof the server is up
        OUTAGE.back()
        wake()  # a job committed before LISTEN took effect sent its notice to nobody

    while True:
        try:
            await _listen(libpq_url(url), serves, wake, listening)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # psycopg.OperationalError and friends: the server went away
            if is_unavailable(exc):
                OUTAGE.lost(exc)  # one line per outage, whoever notices first
            else:
                log.warning("%s: job wake-ups lost (%s); polling until back", name, exc)
        await asyncio.sleep(next(waits))
        wake()  # anything created while we were away is found by one claim


async def _listen(
    conninfo: str,
    serves: Callable[[str], bool],
    wake: Callable[[], None],
    listening: Callable[[], None],
) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
        await conn.execute(f"LISTEN {CHANNEL}")
        listening()
        async for notice in conn.notifies():
            if serves(notice.payload):
                wake()

"""The scheduler loop: hold the leader lease, dispatch due firings, sleep until the next one.

Every pass: take or renew the lease; if another scheduler holds it, step back and retry when it
would expire. A scheduler built with ``defer_to_daemon=True`` (the console's) first looks for a
live daemon that runs a scheduler (its presence row, :mod:`otter_tui.services.presence`): while
there is one it lets the lease go at once, if it held it, and looks again every third of a lease,
so the daemon's scheduler takes over within a renewal interval and the console's resumes within
one after the daemon is gone.

As leader: dispatch each schedule whose stored ``next_due_at`` has come (in rounds of
``BATCH``, one transaction each, earliest due first; the lease is renewed between rounds once a
third of it has passed, not after every round: each round checks it inside its transaction
anyway), start firings that waited for a running job, then sleep until the
earliest stored ``next_due_at`` or the next lease renewal, whichever is first, or until
:meth:`Scheduler.wake`. ``ahead.LEAD`` before that due time it wakes to decide its round
(:mod:`otter_tui.scheduler.ahead`, nothing written), and at the due time it writes that round
first, before renewing the lease (the round's transaction is fenced by the lease itself).
Database work runs on one thread of its own, so the console's event loop never waits on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import ParamSpec, TypeVar

from otter_tui.engine.dbthread import DbThread
from otter_tui.events import EventBus, JobCreated
from otter_tui.runtime import Runtime
from otter_tui.scheduler import ahead, lease
from otter_tui.scheduler.clock import Clock, SystemClock
from otter_tui.scheduler.dispatch import Dispatcher, LeaseLost, Outcome
from otter_tui.services import presence
from otter_tui.services.context import ServiceContext
from otter_tui.store.outage import OUTAGE, is_unavailable

log = logging.getLogger("otter_tui.scheduler")
P = ParamSpec("P")
T = TypeVar("T")

BATCH = 250
"""Schedules handled per transaction round (the lease is fenced inside each round). A round is
written in bulk (:mod:`otter_tui.scheduler.rounds`), so its fixed cost (lease check, inventory,
commit) is most of what a small round costs: 250 a round was faster than 100 for the last
firing of 1,000 and no slower for the median."""
RETRY_AFTER = timedelta(seconds=5)
"""After an unexpected error (a locked database), try again this much later, not at once."""


class Scheduler:
    """Creates jobs from schedules; one active per database (see the package docstring)."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        holder: str,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        on_job_created: Callable[[], None] | None = None,
        defer_to_daemon: bool = False,
    ) -> None:
        self.clock: Clock = clock or SystemClock(runtime.ctx.clock)
        self.holder = holder
        self.db = runtime.db
        ctx = ServiceContext(runtime.db, runtime.settings, runtime.ctx.actor, self.clock.now)
        self.dispatcher = Dispatcher(ctx, runtime.plans, holder)
        self.lease_length = timedelta(seconds=runtime.settings.scheduler.lease_seconds)
        self.bus = bus
        self.on_job_created = on_job_created
        self.defer_to_daemon = defer_to_daemon
        """Step back while a daemon with a scheduler is alive (the console's scheduler)."""
        self.daemon: str | None = None
        """The live daemon this scheduler defers to, as last seen; None when there is none."""
        self.leader: str | None = None
        """Who holds the leader lease, as last seen (this holder while leading)."""
        self._leader = False
        self._wake = asyncio.Event()
        self._thread: DbThread | None = None
        self._prepared: ahead.Prepared | None = None
        """The round decided ahead of the earliest due time (:mod:`otter_tui.scheduler.ahead`)."""

    @property
    def is_leader(self) -> bool:
        """True while this scheduler holds the leader lease (the only one creating jobs)."""
        return self._leader

    def wake(self) -> None:
        """Something changed (a schedule saved, a job finished): look again now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Schedule until ``stop`` is set; then let the lease go so another can take over."""
        self._thread = DbThread("otter-scheduler")
        try:
            while not stop.is_set():
                deadline = await self._step()
                await self._sleep(deadline, stop)
        finally:
            await self._step_down("stopped")
            self._thread.close()
            self._thread = None

    async def _step(self) -> datetime:
        """One pass; returns when to look again."""
        now = self.clock.now()
        try:
            if self.defer_to_daemon and await self._defer(now):
                return now + self.lease_length / 3
            if self._prepared is not None and now >= self._prepared.at:
                await self._fire_prepared(now)  # fenced itself: before the lease renewal
                now = self.clock.now()
            held = await self._db(lease.acquire, self.db, self.holder, now, self.lease_length)
            self.leader = self.holder if held else self.leader
            await self._became(held)
            if not held:
                return await self._follower_deadline(now)
            return await self._lead(now)
        except LeaseLost:
            await self._became(False)
            return now
        except Exception as exc:
            if is_unavailable(exc):
                OUTAGE.lost(exc)  # one line per outage; the next pass tries again
            else:
                log.exception("scheduler %s: pass failed; retrying in %s", self.holder, RETRY_AFTER)
            return now + RETRY_AFTER

    async def _defer(self, now: datetime) -> bool:
        """True while a daemon runs a scheduler: then let the lease go if this one held it."""
        daemon = await self._db(presence.scheduling_daemon, self.db, now)
        self.daemon = None if daemon is None else daemon.holder
        if daemon is None:
            return False
        await self._step_down(f"daemon:{daemon.holder}")
        return True

    async def _lead(self, now: datetime) -> datetime:
        renew_at = now + self.lease_length / 3
        while True:  # earliest due first, a round in one transaction (Dispatcher.fire_schedules)
            due = await self._db(self.dispatcher.due_schedule_ids, now, BATCH)
            if due:
                await self._report(await self._db(self.dispatcher.fire_schedules, due, now))
            if len(due) < BATCH:
                break
            now = self.clock.now()  # more are due: go on, renewing the lease only when it is time
            if now >= renew_at:
                return now
        await self._report(await self._db(self.dispatcher.dispatch_queued, now))
        earliest = await self._db(self.dispatcher.earliest_due)
        if earliest is None:
            return renew_at
        return min(await self._ahead(now, earliest), renew_at)

    async def _ahead(self, now: datetime, earliest: datetime) -> datetime:
        """When to wake for ``earliest``: :data:`ahead.LEAD` before it to decide its round,
        then at it to write that round (:mod:`otter_tui.scheduler.ahead`)."""
        if earliest - now > ahead.LEAD:
            return earliest - ahead.LEAD
        if earliest > now and (self._prepared is None or self._prepared.at != earliest):
            self._prepared = await self._db(ahead.prepare, self.dispatcher, earliest)
        return earliest

    async def _fire_prepared(self, now: datetime) -> None:
        """Write the round prepared for this due time (or leave it to the normal pass)."""
        prepared, self._prepared = self._prepared, None
        assert prepared is not None
        if not self._leader:
            return
        outcomes = await self._db(ahead.fire, self.dispatcher, prepared, now)
        if outcomes is not None:
            due = prepared.at.isoformat()
            log.info("scheduler=%s due=%s prepared_round=%s", self.holder, due, len(outcomes))
            await self._report(outcomes)

    async def _follower_deadline(self, now: datetime) -> datetime:
        """Retry when the holder's lease would run out (at least every third of a lease)."""
        current = await self._db(lease.current, self.db)
        fallback = now + self.lease_length / 3
        if current is None or current[1] <= now:
            self.leader = None
            return fallback
        self.leader = current[0]
        return min(current[1], fallback)

    async def _became(self, leader: bool) -> None:
        if leader == self._leader:
            return
        self._leader = leader
        self._prepared = None
        if not leader and self.leader == self.holder:
            self.leader = None
        log.info("scheduler=%s leader=%s", self.holder, "yes" if leader else "no")
        if leader:
            failed = await self._db(self.dispatcher.recover_pending)
            if failed:
                log.warning("scheduler=%s recovered_pending_firings=%s", self.holder, failed)

    async def _report(self, outcomes: list[Outcome]) -> None:
        created = False
        for o in outcomes:
            due = o.due_at.isoformat() if o.due_at else "-"
            log.info(
                "schedule=%s due=%s firing=%s job=%s note=%r",
                *(o.schedule, due, o.state, o.job_id or "-", o.note),
            )
            if o.job_id is not None:
                created = True
                if self.bus is not None:
                    await self.bus.publish(JobCreated(o.job_id, o.plan_name, o.job_state))
        if created and self.on_job_created is not None:
            self.on_job_created()

    async def _sleep(self, deadline: datetime, stop: asyncio.Event) -> None:
        if self._wake.is_set() or stop.is_set():
            self._wake.clear()
            return
        waits = {
            asyncio.ensure_future(self.clock.sleep_until(deadline)),
            asyncio.ensure_future(self._wake.wait()),
            asyncio.ensure_future(stop.wait()),
        }
        _done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        self._wake.clear()

    async def _step_down(self, reason: str) -> None:
        """Let the lease go at once (if held), so another scheduler need not wait it out."""
        if not self._leader:
            return
        self._leader = False
        self._prepared = None
        self.leader = None if self.leader == self.holder else self.leader
        with contextlib.suppress(Exception):
            await self._db(lease.release, self.db, self.holder, self.clock.now())
        log.info("scheduler=%s leader=no reason=%s", self.holder, reason)

    async def _db(self, func: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        assert self._thread is not None, "the scheduler is not running"
        return await self._thread.run(func, *args, **kwargs)

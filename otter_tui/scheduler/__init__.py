"""The scheduler: turns due schedule firings into jobs, exactly once, with one leader per database.

Public interface (the daemon and the console use only this)::

    from otter_tui.scheduler import Scheduler

    scheduler = Scheduler(
        runtime,                      # otter_tui.runtime.Runtime: database, settings, plans
        holder="host:1234",           # who this scheduler is, written into the lease row
        clock=None,                   # a Clock (now() + async sleep_until()); None: real time
        bus=None,                     # an EventBus: JobCreated is published for each new job
        on_job_created=None,          # a no-argument callback, e.g. worker.notify
        defer_to_daemon=False,        # True (the console): step back while a daemon schedules
    )
    await scheduler.run(stop)         # until the asyncio.Event ``stop`` is set
    scheduler.wake()                  # something changed (a schedule saved, a job finished)
    scheduler.is_leader               # True while it holds the leader lease
    scheduler.leader                  # who holds it, as last seen (None: nobody)
    scheduler.daemon                  # the live daemon it defers to (defer_to_daemon only)

``run`` takes or renews the leader lease (``leases`` row ``scheduler``, renewed every third of
``[scheduler] lease_seconds``). While another scheduler holds it, it steps back and retries when
that lease would run out. With ``defer_to_daemon`` it also steps back (releasing the lease at
once) while a daemon that runs a scheduler is alive (its ``daemon:<holder>`` presence row), so
the console schedules only when no daemon does and a daemon started later takes over within a
renewal interval. As leader it
dispatches every due firing (misfire and overlap policies applied, each firing a unique row before
any job exists, the job created through the job service), then sleeps until the earliest stored
next firing, the next lease renewal, or ``wake()``. The round of the earliest due time is decided
two seconds ahead and written at that time, after a check of what it read (``ahead``). On
stop it releases the lease at once. Schedules saved by another process are seen at the next
renewal (within a third of a lease).

``ManualClock`` drives it in tests without sleeping; docs/scheduling.md explains the rules.
"""

from __future__ import annotations

from otter_tui.scheduler.clock import Clock, ManualClock, SystemClock
from otter_tui.scheduler.lease import SCHEDULER_LEASE
from otter_tui.scheduler.loop import Scheduler

__all__ = ["SCHEDULER_LEASE", "Clock", "ManualClock", "Scheduler", "SystemClock"]

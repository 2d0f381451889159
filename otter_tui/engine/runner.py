"""Run a claimed job: fan out its server runs, stream their logs, record every result.

One server run per (server, role in context), all concurrent under ``engine.max_parallel``, each
with its own connection. A server that cannot be reached, refuses the login or whose command
fails fails only its own run; the others go on. The job ends ``succeeded``, ``warning`` (changes
made with warnings), ``failed`` (any run failed) or ``cancelled``. Every state change is written
before it is published, and the job's final state is written only after its last log line is
stored, so a finished job always reads back complete. A plan that is exclusive per server waits,
before each server run, until no other job of it runs on that server (``waiting for server X``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from otter_tui.config import Settings
from otter_tui.engine.dbthread import DbThread
from otter_tui.engine.execute import ServerRunExecutor
from otter_tui.engine.limits import Stopped, run_limited
from otter_tui.engine.logs import JobLog, LogPressure, LogWriter
from otter_tui.engine.records import JobRecorder, Outcome
from otter_tui.engine.targets import JobPlan, PlannedRun, prepare_job, variable_sources
from otter_tui.engine.transports import TransportFactory, default_transports
from otter_tui.errors import NotFoundError
from otter_tui.events import EventBus
from otter_tui.plan.variables import Variable as Declaration
from otter_tui.plan.variables import declared
from otter_tui.services import server_locks
from otter_tui.services.context import ServiceContext
from otter_tui.services.outcomes import format_summary, job_state, summarize
from otter_tui.services.plans import PlanService
from otter_tui.store.models import JobState, RunState

if TYPE_CHECKING:
    from otter_tui.engine.warm import WarmConnections

log = logging.getLogger(__name__)

SLICES_SAY = "(any worker of the job's queue may run each one)"
SERVER_WAIT_POLL = 0.5
"""Seconds between tries for a server an exclusive plan's other job holds (or at once on cancel)."""


@dataclass
class ActiveJob:
    """A job this engine is running: its log and its cancel switch."""

    plan: JobPlan
    log: JobLog
    cancel: asyncio.Event = field(default_factory=asyncio.Event)


class Engine:
    """Executes jobs in this process. Start it, run jobs, close it."""

    def __init__(
        self,
        ctx: ServiceContext,
        bus: EventBus,
        *,
        plans: PlanService | None = None,
        transports: TransportFactory | None = None,
        warm: bool = False,
    ) -> None:
        self.ctx = ctx
        self.bus = bus
        self.plans = plans or PlanService(ctx)
        self.dbthread = DbThread()
        self.warm: WarmConnections | None = None
        """Kept SSH connections (``warm``: the console and the daemon, which run job after job;
        not a one-shot ``run``, which exits) unless ``transports`` is given."""
        if warm and transports is None:
            from otter_tui.engine.warm import WarmConnections  # not for a one-shot run

            self.warm = WarmConnections(ctx, self.dbthread, ctx.settings)
        self.transports: TransportFactory = transports or (
            self.warm.transports if self.warm else default_transports(ctx.settings)
        )
        pressure = LogPressure.for_batches(ctx.settings.engine.log_batch_lines)
        self.writer = LogWriter(ctx.db, bus, self.dbthread, pressure=pressure)
        self.recorder = JobRecorder(ctx, bus, self.dbthread)
        self.active: dict[int, ActiveJob] = {}
        self.slices: dict[tuple[int, int], ActiveJob] = {}
        """The slices of big jobs running here, by (job, slice number)."""
        self._semaphore = asyncio.Semaphore(ctx.settings.engine.max_parallel)

    async def start(self) -> None:
        self.writer.start()
        if self.warm is not None:
            await self.warm.start()

    async def close(self) -> None:
        if self.warm is not None:
            await self.warm.close()
        await self.writer.close()
        self.dbthread.close()

    async def use_ssh_settings(self, settings: Settings) -> None:
        """New ``[ssh]`` settings (a reload): new connections from now on; kept ones closed."""
        if self.warm is None:
            self.transports = default_transports(settings)
            return
        old, self.warm = self.warm, type(self.warm)(self.ctx, self.dbthread, settings)
        self.transports = self.warm.transports
        await old.close()
        await self.warm.start()

    def cancel(self, job_id: int) -> bool:
        """Ask a running job (and its slices here) to stop; False if this engine is not running
        any part of it (or was asked already)."""
        parts = [self.active.get(job_id), *(a for (j, _), a in self.slices.items() if j == job_id)]
        asked = [a for a in parts if a is not None and not a.cancel.is_set()]
        for active in asked:
            active.cancel.set()
        return bool(asked)

    async def run_job(
        self,
        job_id: int,
        secrets: Mapping[str, Any] | None = None,
        slice_size: int | None = None,
    ) -> JobState:
        """Run a job this process has claimed, to the end; or, with more server runs than
        ``slice_size``, split it into slices for the workers of its queue and return ``running``
        (:mod:`otter_tui.engine.slicing` runs them)."""
        secrets = dict(secrets or {})
        try:
            plan = await self.dbthread.run(
                prepare_job, self.ctx.db, job_id, secrets, self.declared_variables, slice_size
            )
        except Exception as exc:  # a job that cannot even start must still end
            log.exception("job %s could not start", job_id)
            await self.recorder.finish_job(job_id, JobState.FAILED, {}, f"could not start: {exc}")
            return JobState.FAILED
        joblog = JobLog(
            job_id,
            self.bus,
            self.ctx.now,
            batch_ms=self.ctx.settings.engine.log_batch_ms,
            batch_lines=self.ctx.settings.engine.log_batch_lines,
            pressure=self.writer.pressure,
        )
        active = ActiveJob(plan, joblog)
        self.active[job_id] = active
        joblog.start()
        try:
            return await self._run(active, secrets)
        except Exception as exc:  # the engine itself failed: the job must still end, and say why
            log.exception("job %s: engine error", job_id)
            await self._fail(active, f"engine error: {type(exc).__name__}: {exc}")
            return JobState.FAILED
        finally:
            self.active.pop(job_id, None)
            self.writer.forget(job_id)

    def declared_variables(self, plan_key: str) -> Mapping[str, Declaration[Any]]:
        """The plan's declared variables; none when its file is gone (the run then says so)."""
        try:
            return declared(self.plans.plan_class(plan_key).cls)
        except NotFoundError:
            return {}

    async def _fail(self, active: ActiveJob, error: str) -> None:
        try:
            await active.log.close()
            await self.recorder.finish_job(active.plan.job_id, JobState.FAILED, {}, error)
        except Exception:  # e.g. the database is gone; crash recovery marks it later
            log.exception("job %s: could not record its failure", active.plan.job_id)

    async def _run(self, active: ActiveJob, secrets: dict[str, Any]) -> JobState:
        plan, joblog = active.plan, active.log
        await self.recorder.job_started(plan)
        what = "simulating" if plan.simulation else "running"
        if plan.slices:
            joblog.emit(f"{what} {plan.plan_name} in {plan.slices} slices {SLICES_SAY}")
            await joblog.close()
            await self.stored(joblog, joblog.seq)
            return JobState.RUNNING
        joblog.emit(f"{what} {plan.plan_name} on {len(plan.runs)} server run(s)")
        for line in variable_sources(plan):
            joblog.emit(line)
        outcomes = await asyncio.gather(
            *(self.server_run(active, run, secrets) for run in plan.runs)
        )
        state = job_state(outcomes, active.cancel.is_set())
        summary = summarize(outcomes, plan.simulation, plan.mode)
        joblog.emit(f"job {state.value}: {format_summary(summary)}")
        await joblog.close()
        await self.stored(joblog, joblog.seq)
        await self.recorder.finish_job(plan.job_id, state, summary, "")
        return state

    async def server_run(
        self, active: ActiveJob, run: PlannedRun, secrets: dict[str, Any]
    ) -> Outcome:
        server = run.server.name if run.server else ""
        if not (active.plan.exclusive and server):
            return await self._server_run_now(active, run, secrets)
        if not await wait_for_server(self, active, run, server):
            outcome = Outcome(RunState.CANCELLED, error="cancelled while waiting for its server")
            await self.recorder.finish_run(active.plan, run, outcome)
            return outcome
        try:
            return await self._server_run_now(active, run, secrets)
        finally:
            plan = active.plan
            await self.dbthread.run(
                server_locks.release, self.ctx.db, plan.plan_key, server, plan.job_id
            )

    async def _server_run_now(
        self, active: ActiveJob, run: PlannedRun, secrets: dict[str, Any]
    ) -> Outcome:
        async with self._semaphore:
            if active.cancel.is_set():
                outcome = Outcome(RunState.CANCELLED, error="cancelled before it started")
                await self.recorder.finish_run(active.plan, run, outcome)
                return outcome
            await self.recorder.run_started(active.plan, run)
            executor = ServerRunExecutor(
                active.plan, run, active.log, self.plans, self.transports, secrets
            )
            executor.recorder = self.recorder
            result = await run_limited(
                executor.execute(),
                soft=active.plan.soft_time_limit,
                hard=active.plan.time_limit,
                cancel=active.cancel,
                grace=self.ctx.settings.engine.cancel_grace_seconds,
                on_stop=lambda msg: executor.say(msg, "warn"),
                force_close=executor.force_close,
            )
            outcome = _stopped_outcome(result, executor) if isinstance(result, Stopped) else result
            await self._store_log(active)
            await self.recorder.finish_run(active.plan, run, outcome)
            return outcome

    async def _store_log(self, active: ActiveJob) -> None:
        """Store every line logged so far: a run recorded finished has its whole log stored,
        even if the process is killed a moment later."""
        last = active.log.seq
        await active.log.flush()
        await self.stored(active.log, last)

    async def stored(self, joblog: JobLog, seq: int) -> None:
        if seq > joblog.start_seq:
            await self.writer.wait_stored(joblog.job_id, seq, joblog.part)


async def wait_for_server(engine: Engine, active: ActiveJob, run: PlannedRun, server: str) -> bool:
    """Take the plan's lock on ``server``, waiting (logged once) while another job holds it;
    False when the job was cancelled meanwhile."""
    plan, said = active.plan, False
    while True:
        holder = await engine.dbthread.run(
            server_locks.acquire,
            engine.ctx.db,
            plan.plan_key,
            server,
            plan.job_id,
            engine.ctx.now(),
        )
        if holder is None:
            return True
        if not said and holder != server_locks.SOMEONE:  # a lost race: the holder shows next
            text = f"waiting for server {server} (job {holder} runs {plan.plan_name} there)"
            active.log.emit(text, server=server, run_id=run.run_id)
            said = True
        try:
            await asyncio.wait_for(active.cancel.wait(), SERVER_WAIT_POLL if said else 0.05)
            return False
        except TimeoutError:
            continue


def _stopped_outcome(stopped: Stopped, executor: ServerRunExecutor) -> Outcome:
    state = RunState.CANCELLED if stopped.reason == "cancel" else RunState.FAILED
    tally = executor.tally()
    return Outcome(state, tally.changes, tally.unknowns, tally.warnings, stopped.message)

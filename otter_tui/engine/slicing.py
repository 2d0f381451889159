"""Run one slice of a big job: its server runs, under the job's plan, limits and cancel switch.

A worker claims a slice (:meth:`otter_tui.services.slices.SliceService.claim_next`) and runs it
here with the same engine code as a whole job's runs: time limits, per-server exclusive locks,
log batching, run states. The slice's lines go to the job's log as a part of their own for the
log writer (so one process may run several slices of a job).
A cancel of the job reaches the slice through :meth:`Engine.cancel`; one asked before the slice
started ends each of its runs ``cancelled`` without connecting. When its runs and lines are
stored the slice ends; the process ending the last slice ends the job and publishes its state.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import select

from otter_tui.engine.logs import JobLog
from otter_tui.engine.runner import ActiveJob, Engine
from otter_tui.engine.targets import JobPlan, prepare_slice, variable_sources
from otter_tui.events import JobStateChanged
from otter_tui.services.slices import ClaimedSlice, JobEnd, SliceService, fail_runs
from otter_tui.store.db import Database
from otter_tui.store.models import Job

log = logging.getLogger(__name__)


async def run_slice(engine: Engine, slices: SliceService, claimed: ClaimedSlice) -> JobEnd | None:
    """Run a claimed slice to its end; the job's end when this slice was its last."""
    db, job_id = engine.ctx.db, claimed.job_id
    try:
        plan = await engine.dbthread.run(
            prepare_slice, db, job_id, claimed.number, engine.declared_variables
        )
        cancelled = await engine.dbthread.run(_cancel_requested, db, job_id)
    except Exception as exc:  # e.g. the plan's file is gone: its runs fail, the slice ends
        log.exception("job %s slice %s could not start", job_id, claimed.number)
        await _fail_rest(engine, claimed, f"could not start: {exc}")
        return await _finish(engine, slices, claimed)
    active = ActiveJob(plan, _slice_log(engine, plan, claimed.number))
    if cancelled:
        active.cancel.set()
    key = (job_id, claimed.number)
    engine.slices[key] = active
    active.log.start()
    try:
        await _run_all(engine, active, claimed, slices.worker)
    except Exception as exc:  # the engine itself failed: the slice must still end
        log.exception("job %s slice %s: engine error", job_id, claimed.number)
        await _fail_rest(engine, claimed, f"engine error: {type(exc).__name__}: {exc}")
    finally:
        engine.slices.pop(key, None)
        engine.writer.forget(job_id, claimed.number)
    return await _finish(engine, slices, claimed)


async def _run_all(engine: Engine, active: ActiveJob, claimed: ClaimedSlice, worker: str) -> None:
    plan, joblog = active.plan, active.log
    joblog.emit(
        f"slice {claimed.number} of {plan.slices}: {len(plan.runs)} server run(s) on {worker}"
    )
    for line in variable_sources(plan):
        joblog.emit(line)
    await asyncio.gather(*(engine.server_run(active, run, {}) for run in plan.runs))
    await joblog.close()
    await engine.stored(joblog, joblog.seq)


def _slice_log(engine: Engine, plan: JobPlan, number: int) -> JobLog:
    settings = engine.ctx.settings.engine
    return JobLog(
        plan.job_id,
        engine.bus,
        engine.ctx.now,
        batch_ms=settings.log_batch_ms,
        batch_lines=settings.log_batch_lines,
        pressure=engine.writer.pressure,
        part=number,
    )


def _cancel_requested(db: Database, job_id: int) -> bool:
    with db.session() as s:
        return bool(s.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


async def _fail_rest(engine: Engine, claimed: ClaimedSlice, error: str) -> None:
    try:
        now = engine.ctx.now()
        await engine.dbthread.run(
            fail_runs, engine.ctx.db, claimed.job_id, claimed.number, now, error
        )
    except Exception:  # the slice's lease runs out and another worker ends it
        log.exception(
            "job %s slice %s: could not record its failure", claimed.job_id, claimed.number
        )


async def _finish(engine: Engine, slices: SliceService, claimed: ClaimedSlice) -> JobEnd | None:
    end = await engine.dbthread.run(slices.finish, claimed.id)
    if end is not None:
        await publish_end(engine, end)
    return end


async def publish_end(engine: Engine, end: JobEnd) -> None:
    """Tell this process's subscribers (the daemon's log, the console) a sliced job ended."""
    await engine.bus.publish(JobStateChanged(end.job_id, end.state.value, engine.ctx.now()))

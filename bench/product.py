"""The product's real path, measured in a child process: job row, claim, engine, stored results.

A job is created through :class:`JobService` (W1, W2, logs) or as a drift check (W3), then
claimed and run by :func:`run_claimed`, the path of ``otter-tui run``: the engine fans out one
server run per server, each over its own verified SSH connection, streams and stores the logs,
records the runs and the drift results, and writes the job's final state after its last log
line is stored. The clock stops when that call returns.
"""

from __future__ import annotations

import contextlib
import cProfile
import pstats
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.fleet import PLAN_KEYS
from bench.timing import ChannelCounter, DbThreadCpu, cpu_seconds
from otter_tui.engine.local_run import run_claimed
from otter_tui.engine.runner import Engine
from otter_tui.events import EventBus, LogLine
from otter_tui.heap import tune_for_long_run
from otter_tui.runtime import Runtime, open_runtime
from otter_tui.services.jobs import JobRequest, JobView
from otter_tui.store.models import LogEntry, RunState, ServerRun
from otter_tui.targeting import TargetSpec


def create_job(runtime: Runtime, spec: dict[str, Any]) -> JobView:
    targets = TargetSpec(roles=(f"n{spec['n']}",))
    workload = spec["workload"]
    if workload == "w3":
        return runtime.jobs.create_drift(targets, remediate=False, simulation=False)
    plan = {"w1": "fanout", "w2": "ensure", "lines": "lines"}[workload]
    variables = {"count": str(spec["count"])} if workload == "lines" else {}
    request = JobRequest(PLAN_KEYS[plan], targets, variables, simulation=False)
    return runtime.jobs.create(request)


@contextlib.contextmanager
def maybe_profile(path: str | None) -> Iterator[None]:
    if not path:
        yield
        return
    profile = cProfile.Profile()
    profile.enable()
    try:
        yield
    finally:
        profile.disable()
        profile.dump_stats(path)


def profile_summary(path: str, top: int = 25) -> str:
    """The functions with the most time of their own, then by cumulative time."""
    out = StringIO()
    stats = pstats.Stats(path, stream=out).strip_dirs()
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)
    return out.getvalue()


def profile_headline(path: str, top: int = 4) -> str:
    """``35% socket.send, 6% ...``: the largest shares of the event-loop thread's own time."""
    stats = pstats.Stats(path)
    total = stats.total_tt or 1.0  # type: ignore[attr-defined]
    rows = sorted(stats.stats.items(), key=lambda item: item[1][2], reverse=True)  # type: ignore[attr-defined]
    parts = []
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in rows[:top]:
        where = name if filename == "~" else f"{Path(filename).name}:{line}({name})"
        parts.append(f"{100 * tottime / total:.0f}% {where}")
    return f"{total:.2f} s profiled: " + ", ".join(parts) + "; by package: " + _by_package(rows)


def _by_package(rows: list[Any]) -> str:
    """Own time grouped by where the code lives (C built-ins counted apart)."""
    shares: dict[str, float] = {}
    for (filename, _line, _name), (_cc, _nc, tottime, _ct, _callers) in rows:
        shares[_package(filename)] = shares.get(_package(filename), 0.0) + tottime
    total = sum(shares.values()) or 1.0
    ranked = sorted(shares.items(), key=lambda item: item[1], reverse=True)[:6]
    return ", ".join(f"{name} {100 * value / total:.0f}%" for name, value in ranked)


def _package(filename: str) -> str:
    if filename == "~":
        return "C built-ins (socket, crypto, select)"
    parts = Path(filename).parts
    for marker in ("site-packages", "otter_tui", "bench"):
        if marker in parts:
            index = parts.index(marker)
            return parts[index + 1] if marker == "site-packages" else marker
    return "stdlib asyncio" if "asyncio" in parts else "stdlib/other"


async def run_product(spec: dict[str, Any]) -> dict[str, Any]:
    """Create, claim and run one job; check every server run succeeded and logs were stored."""
    runtime = open_runtime(spec["fleet"]["config"], seed=False, sync_plans=False)
    for key in PLAN_KEYS.values():
        runtime.plans.plan_class(key)  # a running daemon has its plans loaded already
    delays: Counter[int] = Counter()

    def engine_factory(bus: EventBus) -> Engine:
        engine = Engine(runtime.ctx, bus, plans=runtime.plans)
        engine.writer.observers.append(lambda lines: _record_delays(lines, delays))
        return engine

    tune_for_long_run()  # as `otter-tui run` and the daemon run a job (otter_tui/heap.py)
    channels = ChannelCounter().install()
    db_cpu = DbThreadCpu().install()
    started, cpu = time.perf_counter(), cpu_seconds()
    with maybe_profile(spec.get("profile")):
        view = create_job(runtime, spec)
        state = await run_claimed(
            runtime.ctx, view.id, plans=runtime.plans, engine_factory=engine_factory
        )
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    result = {"wall": wall, "cpu": cpu, **_verify(runtime, view.id, spec), "state": str(state)}
    result["channels"] = channels.count
    result["db_cpu"] = db_cpu.seconds
    if spec["workload"] == "lines" and delays:
        result["delay_p50"] = _bucket_percentile(delays, 0.50)
        result["delay_p99"] = _bucket_percentile(delays, 0.99)
    runtime.close()
    return result


DELAY_BUCKETS_PER_S = 10_000
"""Delays are counted in 0.1 ms buckets: a float kept per line (a million lines) was 32 MB of
the product process's peak RSS that belonged to the measurement, not the product."""


def _record_delays(lines: Sequence[LogLine], delays: Counter[int]) -> None:
    """Counted per arrival stamp, not per line: the lines of one read share one stamp, and a
    Python expression per line here was about a tenth of the product's loop time, charged to
    the product by the measurement."""
    now = datetime.now(UTC)
    stamps = Counter(line.at for line in lines if line.stream == "stdout")
    for at, count in stamps.items():
        delays[int((now - at).total_seconds() * DELAY_BUCKETS_PER_S)] += count


def _bucket_percentile(delays: Counter[int], q: float) -> float:
    """The ``q`` quantile (nearest rank, as :func:`percentile`) of the counted delays, seconds."""
    rank, seen = min(delays.total() - 1, int(q * delays.total())), 0
    for bucket in sorted(delays):
        seen += delays[bucket]
        if seen > rank:
            return bucket / DELAY_BUCKETS_PER_S
    return max(delays) / DELAY_BUCKETS_PER_S


def stored_lines(runtime: Runtime, job_id: int) -> int:
    """How many log lines of the job are in the store."""
    with runtime.db.session() as s:
        return int(s.scalar(select(func.count()).where(LogEntry.job_id == job_id)) or 0)


def _verify(runtime: Runtime, job_id: int, spec: dict[str, Any]) -> dict[str, Any]:
    """Every server run succeeded and the log is in the store (lines: every line of it)."""
    with runtime.db.session() as s:
        runs = dict(
            s.execute(
                select(ServerRun.state, func.count())
                .where(ServerRun.job_id == job_id)
                .group_by(ServerRun.state)
            )
            .tuples()
            .all()
        )
        stored = s.scalar(select(func.count()).where(LogEntry.job_id == job_id)) or 0
        stdout = s.scalar(
            select(func.count()).where(LogEntry.job_id == job_id, LogEntry.stream == "stdout")
        )
    job = runtime.jobs.show(job_id)
    succeeded = runs.get(RunState.SUCCEEDED, 0)
    errors = []
    if succeeded != spec["n"]:
        failed = [r for r in job.server_runs if r.state != "succeeded"][:1]
        errors.append(
            f"{succeeded}/{spec['n']} runs succeeded"
            + "".join(f"; {r.server}: {r.error}" for r in failed)
        )
    if spec["workload"] == "lines" and stdout != spec["n"] * spec["count"]:
        errors.append(f"stored {stdout} of {spec['n'] * spec['count']} output lines")
    return {
        "ok": not errors and job.state == "succeeded",
        "error": "; ".join(errors) or ("" if job.state == "succeeded" else job.error),
        "count": stdout,
        "log_rows": stored,
    }

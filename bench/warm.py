"""Warm connections: a second W1 from a long-lived engine beside the cold floor.

The child (kind ``warm``) opens the runtime and starts one engine the way the daemon and the
console do (``Engine(warm=True)``: kept SSH connections), then creates, claims and runs W1 on N
servers twice: the first job opens every connection (cold), the second borrows them (warm).
Each is timed from job creation to the job's final state, every server run checked and its log
stored. The floor is the bare asyncssh client (``bench/floor.py``), which must connect, measured
in the same run both in-process (first connect to last disconnect) and as a whole process.
"""

from __future__ import annotations

import time
from typing import Any

from bench.child import measure
from bench.plans.bench_plans import CONTENT
from bench.process import floor_argv, run_process
from bench.report import Row
from bench.timing import cpu_seconds, median, progress

WARM_TARGET = 0.5


async def run_warm(spec: dict[str, Any]) -> dict[str, Any]:
    """Two W1 jobs on one warm engine; wall and CPU of each, and the pool's counters."""
    from bench.product import _verify, create_job
    from otter_tui.engine.runner import Engine
    from otter_tui.events import EventBus
    from otter_tui.runtime import open_runtime
    from otter_tui.services.claims import ClaimService

    runtime = open_runtime(spec["fleet"]["config"], seed=False, sync_plans=False)
    engine = Engine(runtime.ctx, EventBus(), plans=runtime.plans, warm=True)
    claims = ClaimService(runtime.ctx, "bench-warm", runtime.settings.engine.lease_seconds)
    await engine.start()
    result: dict[str, Any] = {"ok": True, "error": ""}
    try:
        for label in ("cold", "warm"):
            started, cpu = time.perf_counter(), cpu_seconds()
            view = create_job(runtime, spec)
            claims.claim(view.id)
            await engine.run_job(view.id)
            result[label] = time.perf_counter() - started
            result[f"{label}_cpu"] = cpu_seconds() - cpu
            check = _verify(runtime, view.id, spec)
            if not check["ok"]:
                result.update(ok=False, error=f"{label}: {check['error']}")
        assert engine.warm is not None
        result["opened"], result["reused"] = engine.warm.pool.opened, engine.warm.pool.reused
    finally:
        await engine.close()
        runtime.close()
    return result


def warm_section(ctx: Any) -> None:
    """W1 twice from a real daemon and from an in-process warm engine, beside the cold floor, at
    N = 100 (the largest size up to 100 when smaller)."""
    from bench.warm_daemon import daemon_warm

    n = max([s for s in ctx.plan.sizes if s <= 100] or [min(ctx.plan.sizes)])
    spec = {"workload": "w1", "n": n, "fleet": ctx.info, "content": CONTENT}
    runs: dict[str, list[dict[str, Any]]] = {"floor": [], "process": [], "engine": [], "daemon": []}
    for _ in range(ctx.plan.repeats):
        runs["floor"].append(measure({**spec, "kind": "floor"}))
        runs["process"].append(run_process(floor_argv(ctx.info, "w1", n, CONTENT)))
        runs["engine"].append(measure({**spec, "kind": "warm"}))
        runs["daemon"].append(daemon_warm(ctx.info, n, ctx.fleet.workdir))
        progress(f"  warm N={n}: {_describe({k: v[-1] for k, v in runs.items()})}")
    failed = [r for rs in runs.values() for r in rs if not r.get("ok")]
    label = "W1 warm connections"
    if failed:
        note = f"FAIL: {failed[0].get('error')}"
        ctx.report.add(Row(label, str(n), "second job wall", None, note=note))
        return
    floor = median([r["wall"] for r in runs["floor"]])
    floor_cpu = median([r["cpu"] for r in runs["floor"]])
    for kind, name in (("daemon", "daemon"), ("engine", "in-process engine")):
        warm = median([r["warm"] for r in runs[kind]])
        target = f"<= {WARM_TARGET}x" if kind == "daemon" else ""
        row = ctx.report.add(Row(label, str(n), f"warm {name}: 2nd job", warm, "s", floor, target))
        if target:
            row.ok = row.ratio is not None and row.ratio <= WARM_TARGET
        cold = median([r["cold"] for r in runs[kind]])
        ctx.report.add(Row(label, str(n), f"cold {name}: 1st job", cold, "s", floor))
        for temp in ("warm", "cold"):
            cpu = median([r[f"{temp}_cpu"] for r in runs[kind]])
            ctx.report.add(Row(label, str(n), f"{temp} {name}: CPU", cpu, "s", floor_cpu))
    process_floor = median([r["wall"] for r in runs["process"]])
    ctx.report.add(Row(label, str(n), "cold floor as a process", process_floor, "s"))
    ctx.report.footnotes.append(
        f"W1 warm connections: W1 on {n} servers twice, from `otter-tui daemon` (its own "
        "process, scheduler off, daemon.poll_seconds = 0.02: SQLite has no wake-up) and from "
        "one in-process engine built as the daemon and console build it (kept SSH connections, "
        "ssh.pool_size / pool_idle_seconds). Each job timed from creation to its final state "
        "(every run and log line stored); daemon CPU from /proc over that span. The first job "
        "opens every connection, the second borrows them. Floor: the bare asyncssh client "
        "in-process, cold (it must connect); as a whole process on the last row."
    )


def _describe(last: dict[str, dict[str, Any]]) -> str:
    bad = [f"{k}: {r.get('error')}" for k, r in last.items() if not r.get("ok")]
    if bad:
        return "FAILED " + "; ".join(bad)
    engine, daemon = last["engine"], last["daemon"]
    return (
        f"daemon cold {daemon['cold']:.2f}s warm {daemon['warm']:.2f}s; engine cold "
        f"{engine['cold']:.2f}s warm {engine['warm']:.2f}s (opened {engine['opened']}, reused "
        f"{engine['reused']}); floor {last['floor']['wall']:.2f}s in-process, "
        f"{last['process']['wall']:.2f}s as a process"
    )

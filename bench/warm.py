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
    """Rows ``W1 warm`` and ``W1 cold`` at N = 100 (the largest size up to 100 when smaller)."""
    n = max([s for s in ctx.plan.sizes if s <= 100] or [min(ctx.plan.sizes)])
    spec = {"workload": "w1", "n": n, "fleet": ctx.info, "content": CONTENT}
    products, floors, processes = [], [], []
    for _ in range(ctx.plan.repeats):
        floors.append(measure({**spec, "kind": "floor"}))
        processes.append(run_process(floor_argv(ctx.info, "w1", n, CONTENT)))
        products.append(measure({**spec, "kind": "warm"}))
        progress(f"  warm N={n}: {_describe(products[-1], floors[-1], processes[-1])}")
    failed = [r for r in products + floors + processes if not r.get("ok")]
    label = "W1 warm connections"
    if failed:
        ctx.report.add(Row(label, str(n), "second job wall", None, note=f"FAIL: {failed[0]}"))
        return
    floor = median([r["wall"] for r in floors])
    process_floor = median([r["wall"] for r in processes])
    warm = median([r["warm"] for r in products])
    row = ctx.report.add(
        Row(label, str(n), "warm: second job wall", warm, "s", floor, f"<= {WARM_TARGET}x")
    )
    row.ok = row.ratio is not None and row.ratio <= WARM_TARGET
    cold = median([r["cold"] for r in products])
    ctx.report.add(Row(label, str(n), "cold: first job wall", cold, "s", floor))
    ctx.report.add(Row(label, str(n), "cold floor as a process", process_floor, "s"))
    for key, figure in (("warm_cpu", "warm: client CPU"), ("cold_cpu", "cold: client CPU")):
        cpu = median([r[key] for r in products])
        ctx.report.add(Row(label, str(n), figure, cpu, "s", median([r["cpu"] for r in floors])))
    ctx.report.footnotes.append(
        "W1 warm connections: one engine as the daemon and the console run it (kept SSH "
        f"connections, ssh.pool_size / pool_idle_seconds) runs W1 on {n} servers twice in one "
        "process; each job timed from creation to its final state (every run and log line "
        "stored). Floor: the bare asyncssh client in-process, cold (it connects every time); "
        "the floor as a whole process is shown too. A daemon picks a queued job up on its poll "
        "(daemon.poll_seconds) or a wake-up, not counted here."
    )


def _describe(product: dict[str, Any], floor: dict[str, Any], process: dict[str, Any]) -> str:
    if not (product.get("ok") and floor.get("ok") and process.get("ok")):
        return f"FAILED {product.get('error') or floor.get('error') or process.get('error')}"
    return (
        f"cold {product['cold']:.2f}s, warm {product['warm']:.2f}s "
        f"(opened {product['opened']}, reused {product['reused']}); floor {floor['wall']:.2f}s "
        f"in-process, {process['wall']:.2f}s as a process"
    )

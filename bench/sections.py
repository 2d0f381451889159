"""The sections of the table: each measures in child processes and adds its rows."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bench.child import measure
from bench.fleet import RESULTS_DIR, BenchFleet
from bench.import_section import importing
from bench.plans.bench_plans import CONTENT
from bench.pyinfra_tool import ensure_pyinfra, pyinfra_argv, pyinfra_footnote
from bench.report import Report, Row
from bench.timing import median, progress
from bench.warm import warm_section
from bench.whole import process_rows, process_runs, pyinfra_rows, rotated
from otter_tui.transport.ciphers import cipher_order

WORKLOADS = {
    "w1": "W1 fan-out command",
    "w2": "W2 ensure file (absent)",
    "w3": "W3 drift check (no change)",
}
IN_PROCESS_SIZES = range(20, 501)
"""In-process rows (the extras that show where time goes) only for these sizes: at N = 1 they
say nothing start-up does not, and at N = 1,000 they would double the bench's longest part."""
IN_PROCESS_KINDS = ("floor", "product", "floor+ciphers")
"""The floor, the product, and the floor offering the product's cipher order (AES-GCM first on
a CPU with AES instructions, transport/ciphers.py): how much of a ratio is the cipher alone."""


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    repeats: int
    quick: bool
    only: str | None
    profile_size: int


@dataclass
class Context:
    plan: Plan
    fleet: BenchFleet
    info: dict[str, Any]
    report: Report
    ratios: dict[tuple[str, int], float] = field(default_factory=dict)
    """Wall-time ratio of each (workload, N), for the profile section."""


# workloads --------------------------------------------------------------------------------------


def workloads(ctx: Context) -> None:
    only = ctx.plan.only
    chosen = [w for w in WORKLOADS if only in (None, "workloads", w)]
    pyinfra = ensure_pyinfra()
    for n in ctx.plan.sizes:
        for workload in chosen:
            label = WORKLOADS[workload]
            theirs = None
            if pyinfra is not None:
                scratch = ctx.fleet.workdir / "pyinfra"
                theirs = pyinfra_argv(pyinfra, scratch, ctx.info, workload, n)
            runs = process_runs(
                ctx.info, workload, n, ctx.plan.repeats, partial(_prepare, ctx, workload, n), theirs
            )
            ratio = process_rows(ctx.report, label, n, runs["floor"], runs["product"])
            if ratio is not None:
                ctx.ratios[(workload, n)] = ratio
            if "pyinfra" in runs:
                pyinfra_rows(ctx.report, label, n, runs)
            if n in IN_PROCESS_SIZES or ctx.plan.quick:
                _workload_rows(ctx, workload, n, _in_process_runs(ctx, workload, n))
    limit = ctx.info["max_concurrent_connects"]
    ctx.report.footnotes.append(
        f"W1-W3 process rows (the product as a user meets it): median of {ctx.plan.repeats} "
        "cold runs, floor and product (and pyinfra) taking turns, order rotated each round. "
        "Product: `otter-tui --config C run PLAN "
        "--roles nN` (W3: `drift check --roles nN`) spawned to exit: interpreter start, imports, "
        "config, database open and schema check, plan load, the job, every log line printed to "
        "a pipe read to the end; CPU and peak RSS of that process (wait4). Floor: "
        "`python -m bench.floor` (bare asyncssh) the same way, printing each server's lines. "
        f"Both bound SSH handshakes to ssh.max_concurrent_connects = {limit}. sshd runs on the "
        "same 2 cores, so wall ratios understate the client's overhead: compare the CPU ratio."
    )
    if pyinfra is not None:
        ctx.report.footnotes.append(pyinfra_footnote(pyinfra, ctx.plan.repeats))
    ctx.report.footnotes.append(
        "W1-W3 in-process rows (extras, the warm start of a daemon or console: runtime open and "
        "plans loaded before the clock starts): each in a fresh process, median of "
        f"{ctx.plan.repeats}; job creation to the job's final state (product) or first connect "
        "to last disconnect (floor); the product also runs at most engine.max_parallel "
        "(default 200) server runs at once. The product offers AES-GCM first on a CPU with AES "
        "instructions; the floor keeps asyncssh's order (chacha20-poly1305 first): the row "
        "'floor on the product's ciphers' is the floor offering the product's order, so its "
        "ratio is the product's overhead with the cipher taken out."
    )


def _in_process_runs(ctx: Context, workload: str, n: int) -> dict[str, list[dict[str, Any]]]:
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in IN_PROCESS_KINDS}
    for repeat in range(ctx.plan.repeats):
        for kind in rotated(IN_PROCESS_KINDS, repeat):
            _prepare(ctx, workload, n)
            spec = {"kind": kind.split("+")[0], "workload": workload, "n": n, "fleet": ctx.info}
            if kind == "floor+ciphers":
                spec["ciphers"] = list(cipher_order(()))
            result = measure({**spec, "content": CONTENT})
            runs[kind].append(result)
            progress(_describe(kind, workload, n, result))
    return runs


def _describe(kind: str, workload: str, n: int, result: dict[str, Any]) -> str:
    if not result.get("ok"):
        return f"  {workload} N={n} {kind}: FAILED {result.get('error', '')}"
    return (
        f"  {workload} N={n} {kind}: {result['wall']:.2f}s wall, {result['cpu']:.2f}s cpu, "
        f"{result['rss_mb']:.0f} MB"
    )


def _prepare(ctx: Context, workload: str, n: int) -> None:
    """W2 needs the files absent; W3 needs them present and as desired."""
    if workload == "w2":
        ctx.fleet.reset_files()
    elif workload == "w3":
        files = Path(ctx.info["files_dir"])
        files.mkdir(parents=True, exist_ok=True)
        for name, *_ in ctx.info["servers"][:n]:
            path = files / f"{name}.conf"
            path.write_text(CONTENT)
            path.chmod(0o644)


def _workload_rows(
    ctx: Context,
    workload: str,
    n: int,
    runs: dict[str, list[dict[str, Any]]],
) -> None:
    label = WORKLOADS[workload]
    floors, products = runs["floor"], runs["product"]
    failed = [r for r in floors + products + runs["floor+ciphers"] if not r.get("ok")]
    if failed:
        note = f"FAIL: {failed[0].get('error')}"
        ctx.report.add(Row(label, str(n), "in-process wall", None, note=note))
        return
    for figure, key, unit in (("wall", "wall", "s"), ("client CPU", "cpu", "s")):
        value = median([r[key] for r in products])
        floor = median([r[key] for r in floors])
        ctx.report.add(Row(label, str(n), f"in-process {figure}", value, unit, floor))
    same_cipher = median([r["cpu"] for r in runs["floor+ciphers"]])
    figure = "in-process client CPU, floor on the product's ciphers"
    ctx.report.add(
        Row(label, str(n), figure, median([r["cpu"] for r in products]), "s", same_cipher)
    )
    db_cpu = median([r["db_cpu"] for r in products])
    ctx.report.add(Row(label, str(n), "in-process CPU in DB thread", db_cpu, "s"))
    per_server = [median([r["channels"] / n for r in each]) for each in (products, floors)]
    ctx.report.add(Row(label, str(n), "SSH channels/server", per_server[0], "", per_server[1]))
    rss = median([r["rss_mb"] for r in products])
    floor_rss = median([r["rss_mb"] for r in floors])
    ctx.report.add(Row(label, str(n), "in-process peak RSS", rss, "MB", floor_rss))


# logs -------------------------------------------------------------------------------------------


def logs(ctx: Context) -> None:
    n = 20 if ctx.plan.quick else 100
    count = 2_000 if ctx.plan.quick else 10_000
    runs = 1 if ctx.plan.quick else 2
    products: list[dict[str, Any]] = []
    floors: list[dict[str, Any]] = []
    for _ in range(runs):
        for kind, into in (("floor", floors), ("product", products)):
            spec = {"kind": kind, "workload": "lines", "n": n, "count": count, "fleet": ctx.info}
            result = measure(spec)
            into.append(result)
            progress(_describe(kind, "lines", n, result))
    label = "Logs"
    size = f"{n}x{count:,}"
    bad = [r for r in products + floors if not r.get("ok")]
    if bad:
        ctx.report.add(Row(label, size, "lines/s stored", None, note=f"FAIL: {bad[0]['error']}"))
        return
    total = n * count
    rate = median([total / r["wall"] for r in products])
    floor_rate = median([total / r["wall"] for r in floors])
    row = ctx.report.add(Row(label, size, "lines/s stored", rate, "", floor_rate, ">= 100,000"))
    row.ok = rate >= 100_000
    lost = max(total - r["count"] for r in products)
    ctx.report.add(Row(label, size, "lines lost", lost, "", None, "0", lost == 0))
    p99 = median([r["delay_p99"] * 1000 for r in products])
    ctx.report.add(Row(label, size, "arrival->stored p99", p99, "ms", None, "< 250 ms", p99 < 250))
    p50 = median([r["delay_p50"] * 1000 for r in products])
    ctx.report.add(Row(label, size, "arrival->stored p50", p50, "ms"))
    rss = median([r["rss_mb"] for r in products])
    floor_rss = median([r["rss_mb"] for r in floors])
    ctx.report.add(Row(label, size, "peak RSS", rss, "MB", floor_rss, "< 120 MB", rss < 120))
    ctx.report.footnotes.append(
        f"Logs: {n} servers over sshd each run `seq 1 {count}`; lines/s = stdout lines stored / "
        "job wall time; lost = expected minus rows counted in log_entries; delay = time stored "
        "(LogWriter observer) minus the line's arrival stamp, counted in 0.1 ms buckets. The "
        "floor is the same output read by bare asyncssh and not stored (a rate: a ratio under 1 "
        "is slower)."
    )


# scheduler --------------------------------------------------------------------------------------


def scheduler(ctx: Context) -> None:
    if importlib.util.find_spec("otter_tui.scheduler") is None:
        for figure, target in (
            ("idle CPU, 10,000 schedules", "< 1% of a core"),
            ("firing lateness p99, 1,000 due", "< 100 ms"),
        ):
            row = Row("Scheduler", "10,000", figure, None, target=target)
            row.note = "not available (otter_tui.scheduler has not landed)"
            ctx.report.add(row)
        return
    from bench.scheduler import scheduler_config

    idle, total, due = (20, 2_000, 200) if ctx.plan.quick else (60, 10_000, 1_000)
    config = scheduler_config(ctx.fleet.workdir)
    spec = {"kind": "scheduler", "config": str(config), "idle": idle, "total": total, "due": due}
    result = measure(spec, timeout=idle + 300)
    size = f"{total:,}"
    if not result.get("ok"):
        ctx.report.add(Row("Scheduler", size, "idle CPU", None, note=f"FAIL: {result['error']}"))
        return
    cpu = result["idle_cpu_pct"]
    ctx.report.add(
        Row("Scheduler", size, f"idle CPU over {idle} s", cpu, "%", None, "< 1%", cpu < 1)
    )
    p99 = result["p99"] * 1000
    label = f"{due:,} due"
    ctx.report.add(Row("Scheduler", label, "lateness p99", p99, "ms", None, "< 100 ms", p99 < 100))
    ctx.report.add(Row("Scheduler", label, "lateness p50", result["p50"] * 1000, "ms"))
    ctx.report.add(Row("Scheduler", label, "lateness max", result["max"] * 1000, "ms"))
    ctx.report.footnotes.append(
        f"Scheduler: {total:,} enabled schedules in a fresh SQLite database, the real Scheduler "
        f"on the system clock; idle CPU = process CPU / wall over {idle} s with nothing due (% "
        f"of one core); lateness = job created_at minus firing due_at for the {due:,} schedules "
        "due at the same minute (every job created through the job service, no worker running)."
    )


# daemon -----------------------------------------------------------------------------------------


def daemon(ctx: Context) -> None:
    from bench.daemon import daemon_memory, prepare

    servers, schedules = (200, 2_000) if ctx.plan.quick else (1_000, 10_000)
    seconds = 8 if ctx.plan.quick else 20
    config = prepare(ctx.fleet.workdir, servers, schedules)
    result = daemon_memory(config, seconds, ctx.fleet.workdir / "daemon.log")
    size = f"{servers:,} srv, {schedules:,} sched"
    if not result.get("ok"):
        ctx.report.add(
            Row("Daemon", size, "resident memory", None, note=f"FAIL: {result['error']}")
        )
        return
    peak = result["peak_mb"]
    ctx.report.add(Row("Daemon", size, "peak RSS", peak, "MB", None, "< 150 MB", peak < 150))
    ctx.report.footnotes.append(
        f"Daemon: `otter-tui daemon` (scheduler + worker) for {seconds} s on a database with "
        f"{servers:,} servers and {schedules:,} enabled schedules, nothing due; VmHWM from /proc."
    )


def api_section(ctx: Context) -> None:
    from bench.api import api

    api(ctx)


def console(ctx: Context) -> None:
    from bench.console_section import console as run

    run(ctx)


# profile ----------------------------------------------------------------------------------------


def profile(ctx: Context) -> None:
    n = ctx.plan.profile_size
    at_n = {w: r for (w, size), r in ctx.ratios.items() if size == n}
    workload = max(at_n, key=lambda w: at_n[w]) if at_n else "w2"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"profile-{workload}-n{n}.prof"
    _prepare(ctx, workload, n)
    spec = {"kind": "product", "workload": workload, "n": n, "fleet": ctx.info}
    result = measure({**spec, "profile": str(path)})
    if not result.get("ok"):
        ctx.report.footnotes.append(f"Profile of {workload} at N={n} failed: {result.get('error')}")
        return
    from bench.product import profile_headline, profile_summary

    summary = profile_summary(str(path))
    ctx.report.details += [
        f"## Profile: {WORKLOADS[workload]}, N={n} (product, cProfile, event-loop thread)",
        "",
        "```",
        summary.strip(),
        "```",
    ]
    ctx.report.footnotes.append(
        f"Profile of the worst wall ratio ({workload} at N={n}, product, cProfile of the event "
        f"loop thread; the DB thread is not in it): {profile_headline(str(path))}. Full listing "
        f"in bench/results/latest.md and {path.relative_to(RESULTS_DIR.parent.parent)}."
    )
    progress(f"  profile written to {path}")


SECTIONS: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("workloads", workloads),
    ("logs", logs),
    ("scheduler", scheduler),
    ("daemon", daemon),
    ("warm", warm_section),
    ("console", console),
    ("api", api_section),
    ("profile", profile),
    ("import", importing),
)

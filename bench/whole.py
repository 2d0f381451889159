"""Workload rows for the product as a user meets it: ``otter-tui`` as a whole process, cold.

Each figure is the median of ``repeats`` runs, the floor's script and ``otter-tui`` alternating,
each a fresh process (interpreter start, imports, config, database open and schema check, plan
load, printing every log line to a pipe that is read to the end).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.plans.bench_plans import CONTENT
from bench.process import floor_argv, product_argv, run_process
from bench.report import Report, Row
from bench.timing import median, progress

WALL_TARGET = 1.10
CPU_TARGET = 1.4


def process_pairs(
    info: dict[str, Any],
    workload: str,
    n: int,
    repeats: int,
    prepare: Callable[[], None],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``repeats`` runs of the floor and of the product, alternating who goes first."""
    floors: list[dict[str, Any]] = []
    products: list[dict[str, Any]] = []
    for repeat in range(repeats):
        order = ("floor", "product") if repeat % 2 == 0 else ("product", "floor")
        for kind in order:
            prepare()
            if kind == "floor":
                argv = floor_argv(info, workload, n, CONTENT)
            else:
                argv = product_argv(info, workload, n)
            result = run_process(argv)
            (floors if kind == "floor" else products).append(result)
            progress(_describe(kind, workload, n, result))
    return floors, products


def _describe(kind: str, workload: str, n: int, result: dict[str, Any]) -> str:
    head = f"  {workload} N={n} {kind} process:"
    if not result.get("ok"):
        return f"{head} FAILED {result.get('error', '')}"
    return (
        f"{head} {result['wall']:.2f}s wall, {result['cpu']:.2f}s cpu, "
        f"{result['rss_mb']:.0f} MB, {result['lines']} lines"
    )


def process_rows(
    report: Report,
    label: str,
    n: int,
    floors: list[dict[str, Any]],
    products: list[dict[str, Any]],
) -> float | None:
    """Add the process rows; return the wall ratio (None when a run failed)."""
    failed = [r for r in floors + products if not r.get("ok")]
    if failed:
        report.add(Row(label, str(n), "process wall", None, note=f"FAIL: {failed[0]['error']}"))
        return None
    gated = n >= 100
    ratio = None
    for figure, key, unit, limit in (
        ("process wall", "wall", "s", WALL_TARGET),
        ("process client CPU", "cpu", "s", CPU_TARGET),
        ("process peak RSS", "rss_mb", "MB", None),
    ):
        value = median([r[key] for r in products])
        floor = median([r[key] for r in floors])
        target = f"<= {limit}x" if gated and limit else ""
        row = report.add(Row(label, str(n), figure, value, unit, floor, target))
        if target and row.ratio is not None and limit:
            row.ok = row.ratio <= limit
        if key == "wall":
            ratio = row.ratio
    return ratio

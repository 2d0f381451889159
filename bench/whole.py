"""Workload rows for the product as a user meets it: ``otter-tui`` as a whole process, cold.

Each figure is the median of ``repeats`` runs, the floor's script, ``otter-tui`` and (when it
could be installed) pyinfra taking turns, the order rotated each round, each a fresh process
(interpreter start, imports, config, database open and schema check, plan load, printing every
log line to a pipe that is read to the end).
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


def process_runs(
    info: dict[str, Any],
    workload: str,
    n: int,
    repeats: int,
    prepare: Callable[[], None],
    pyinfra: list[str] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """``repeats`` rounds of floor, product and pyinfra (its argv, if any), order rotated."""
    commands = {
        "floor": floor_argv(info, workload, n, CONTENT),
        "product": product_argv(info, workload, n),
    }
    if pyinfra:
        commands["pyinfra"] = pyinfra
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in commands}
    for repeat in range(repeats):
        for kind in rotated(tuple(commands), repeat):
            prepare()
            result = run_process(commands[kind], merged=kind == "pyinfra")
            runs[kind].append(result)
            progress(_describe(kind, workload, n, result))
    return runs


def rotated(kinds: tuple[str, ...], repeat: int) -> tuple[str, ...]:
    """Who goes first turns each round: (a, b, c), (b, c, a), (c, a, b), ..."""
    shift = repeat % len(kinds)
    return kinds[shift:] + kinds[:shift]


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


def pyinfra_rows(
    report: Report,
    label: str,
    n: int,
    runs: dict[str, list[dict[str, Any]]],
) -> None:
    """pyinfra's wall and client CPU (ratio to the floor), and otter-tui's figure over its."""
    failed = [r for r in runs["pyinfra"] if not r.get("ok")]
    if failed:
        report.add(Row(label, str(n), "pyinfra wall", None, note=f"FAIL: {failed[0]['error']}"))
        return
    for figure, key in (("wall", "wall"), ("client CPU", "cpu")):
        theirs = median([r[key] for r in runs["pyinfra"]])
        floor = median([r[key] for r in runs["floor"]])
        ours = [r[key] for r in runs["product"] if r.get("ok")]
        row = report.add(Row(label, str(n), f"pyinfra {figure}", theirs, "s", floor))
        if ours and len(ours) == len(runs["product"]) and theirs:
            row.versus = median(ours) / theirs
            row.target = "otter-tui/pyinfra < 1x"
            row.ok = row.versus < 1

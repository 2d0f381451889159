"""One measurement in a fresh process, so its peak RSS and CPU are its own.

``python -m bench.child '<json spec>'`` runs ``spec['kind']`` and prints one line
``BENCH-RESULT {json}`` with the measurement (each kind reports its own wall time and CPU, user
+ sys of every thread, over the measured part only) and the process's peak RSS.
:func:`measure` is the parent's side.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

MARK = "BENCH-RESULT "
ROOT = Path(__file__).resolve().parent.parent
RESULTS_LOG = ROOT / "bench" / "results" / "children.log"
"""Where the children's stderr (tracebacks, warnings) is kept."""


def _kind(name: str) -> Callable[[dict[str, Any]], Coroutine[Any, Any, dict[str, Any]]]:
    """Import only what the kind needs, so the floor's peak RSS holds no product modules."""
    if name == "floor":
        from bench.floor import run_floor

        return run_floor
    if name == "product":
        from bench.product import run_product

        return run_product
    if name == "warm":
        from bench.warm import run_warm

        return run_warm
    if name == "scheduler":
        from bench.scheduler import measure_scheduler

        return measure_scheduler
    if name == "log_search":
        from bench.log_search import measure_log_search

        return measure_log_search
    if name == "ui_sections":
        from bench.ui_sections import measure_ui_sections

        return measure_ui_sections
    from bench.keys import measure_keys_spec

    return measure_keys_spec


def main() -> None:
    spec = json.loads(sys.argv[1])
    kind = _kind(spec["kind"])
    try:
        result: dict[str, Any] = asyncio.run(kind(spec))
    except Exception as exc:  # a broken measurement is a row saying so, not a dead run
        traceback.print_exc()
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
    result["rss_mb"] = peak_rss_mb()
    print(MARK + json.dumps(result), flush=True)


def peak_rss_mb() -> float:
    """This process's own peak RSS: ``VmHWM`` (``ru_maxrss`` of a child forked from the bench
    counts the bench's size too)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(spec: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
    """Run ``spec`` in a child and return its result (``ok`` False with the reason on failure)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.child", json.dumps(spec)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=ROOT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"timed out after {timeout:.0f}s"}
    if done.stderr.strip():
        log = RESULTS_LOG.open("a")
        with log:
            log.write(f"--- {spec.get('kind')} {spec.get('workload', '')}\n{done.stderr}")
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(MARK):
            result: dict[str, Any] = json.loads(line[len(MARK) :])
            result["process_wall"] = time.perf_counter() - started
            return result
    tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
    return {"ok": False, "error": f"exit {done.returncode}: {' | '.join(tail)}"}


if __name__ == "__main__":
    main()

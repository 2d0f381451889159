"""Whole processes, timed the way a user meets them: spawn to exit, every output line read.

:func:`run_process` spawns a command, reads its stdout to the end (as a terminal or a pipe to
``less`` would); ``bench/launch.py`` starts and reaps it, so its CPU (user + system, every
thread), wall and peak RSS are its own, interpreter start and imports included.
:func:`product_argv` and :func:`floor_argv` are the two commands compared for each workload:
``otter-tui run`` (or ``drift check``) and the bare asyncssh client of ``bench/floor.py`` run as
its own script.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

from bench.child import RESULTS_LOG, ROOT
from bench.fleet import PLAN_KEYS

PRODUCT_ARGS = {
    "w1": ["run", PLAN_KEYS["fanout"]],
    "w2": ["run", PLAN_KEYS["ensure"]],
    "w3": ["drift", "check"],
}
"""What a user types for each workload (targets follow: ``--roles nN``)."""


def product_argv(fleet: dict[str, Any], workload: str, n: int) -> list[str]:
    console = str(Path(sys.executable).with_name("otter-tui"))
    return [console, "--config", fleet["config"], *PRODUCT_ARGS[workload], "--roles", f"n{n}"]


def floor_argv(fleet: dict[str, Any], workload: str, n: int, content: str) -> list[str]:
    spec = {"workload": workload, "n": n, "fleet": fleet, "content": content}
    return [sys.executable, "-m", "bench.floor", json.dumps(spec)]


def run_process(argv: list[str], timeout: float = 600, *, merged: bool = False) -> dict[str, Any]:
    """Spawn ``argv`` through ``bench.launch``, drain its stdout; wall, CPU, peak RSS, lines.

    ``merged``: for a tool that logs its progress and output to stderr (pyinfra): stderr goes
    into the same counted pipe, stdin is /dev/null (no prompt can wait), and the tail of what it
    printed is the error of a failed run (not written to children.log: it is its normal output).
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.NamedTemporaryFile(prefix="bench-launch-", suffix=".json") as figures:
        launch = [sys.executable, "-m", "bench.launch", figures.name, *argv]
        run = _run_launcher(launch, env, timeout, merged)
        text = Path(figures.name).read_text()
    if not text:
        return {"ok": False, "error": run.get("error", "the launcher reported nothing")}
    measured = json.loads(text)
    ok = measured.pop("status") == 0
    result = {**measured, "lines": run["lines"], "ok": ok}
    if not ok:
        result["error"] = run.get("error") or "exit status not 0"
    return result


def _run_launcher(
    argv: list[str], env: dict[str, str], timeout: float, merged: bool = False
) -> dict[str, Any]:
    process = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL if merged else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merged else subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )
    counted: list[int] = [0]
    errors = bytearray()
    kept = errors if merged else None
    threads = [
        threading.Thread(target=_count_lines, args=(process.stdout, counted, kept), daemon=True)
    ]
    if not merged:
        threads.append(threading.Thread(target=_keep, args=(process.stderr, errors), daemon=True))
    for thread in threads:
        thread.start()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    for thread in threads:
        thread.join(timeout=5)
    result: dict[str, Any] = {"lines": counted[0]}
    if errors.strip() and not merged:
        with RESULTS_LOG.open("a") as log:
            log.write(f"--- {' '.join(argv[3:9])}\n{errors.decode(errors='replace')}")
    if errors.strip():
        tail = errors.decode(errors="replace").strip().splitlines()[-2:]
        result["error"] = " | ".join(tail)
    return result


def _count_lines(stream: Any, counted: list[int], tail: bytearray | None = None) -> None:
    for chunk in iter(lambda: stream.read(65536), b""):
        counted[0] += chunk.count(b"\n")
        if tail is not None:
            tail.extend(chunk[-4096:])
            del tail[:-8192]


def _keep(stream: Any, into: bytearray) -> None:
    for chunk in iter(lambda: stream.read(65536), b""):
        into.extend(chunk[-4096:])

"""The HTTP API: trigger-to-job-created latency and sustained triggers/s, SSE delivery lag while
100 servers stream, and the API process's memory.

- **Trigger**: ``otter-tui api`` (the API alone) on the fleet's database; one keep-alive client
  triggers a template (the fan-out plan on role ``nN``) one request after another, then several
  clients at once for a few seconds. Floor: the same job created in this process through the same
  service call the handler makes (``KeyedJobs.trigger``), without HTTP.
- **SSE**: ``otter-tui daemon --api`` runs the streaming plan on N servers; one client follows
  ``/v1/jobs/{id}/logs/stream``. Lag: a line's arrival stamp in the engine (``at``) to the
  client reading its event. Floor: a reader polling the store directly at the stream's interval,
  in this process, during the same job.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import tomli_w
from sqlalchemy import update

from bench.child import RESULTS_LOG
from bench.fleet import PLAN_KEYS, BenchFleet
from bench.product import stored_lines
from bench.report import Row
from bench.timing import percentile, progress
from otter_tui.config import read_toml
from otter_tui.runtime import open_runtime
from otter_tui.services.api_jobs import KeyedJobs
from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.templates import TemplateFields
from otter_tui.store.models import Job, JobState
from otter_tui.targeting import TargetSpec

STARTED = re.compile(r"event=api\.started bind=(\S+)")
TEMPLATE = "bench-fanout"
POLL = 0.1


def api(ctx: Any) -> None:
    n = max(ctx.plan.sizes)
    fleet: BenchFleet = ctx.fleet
    config = _config(fleet)
    token, key_name = _prepare(config, n)
    requests = 100 if ctx.plan.quick else 500
    _trigger_rows(ctx, config, token, key_name, n, requests)
    _cancel_waiting(config)
    _sse_rows(ctx, config, token, n, 4 if ctx.plan.quick else 8)


def _config(fleet: BenchFleet) -> Path:
    """The fleet's config with a quick daemon poll, so the SSE job starts at once."""
    document = read_toml(fleet.config)
    document["daemon"] = {"poll_seconds": 0.2, "shutdown_grace_seconds": 5}
    path = fleet.workdir / "api-config.toml"
    path.write_bytes(tomli_w.dumps(document).encode())
    return path


def _prepare(config: Path, n: int) -> tuple[str, str]:
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        targets = TargetSpec(roles=(f"n{n}",))
        if TEMPLATE not in {t.name for t in runtime.templates.list_templates()}:
            runtime.templates.add(
                TEMPLATE, TemplateFields(plan=PLAN_KEYS["fanout"], targets=targets)
            )
        name = f"bench-{os.getpid()}-{time.monotonic_ns()}"
        return ApiKeyService(runtime.ctx).add(name, "trigger")[1], name
    finally:
        runtime.close()


def _cancel_waiting(config: Path) -> None:
    """The triggered jobs were only created, to be counted: the daemon must not run them."""
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        with runtime.db.transaction() as s:
            s.execute(
                update(Job)
                .where(Job.state == JobState.QUEUED)
                .values(state=JobState.CANCELLED, finished_at=datetime.now(UTC))
            )
    finally:
        runtime.close()


# trigger ----------------------------------------------------------------------------------------


def _trigger_rows(ctx: Any, config: Path, token: str, key_name: str, n: int, count: int) -> None:
    floor = _floor_triggers(config, key_name, count)
    proc, url = _serve(config, "api", "--bind", "127.0.0.1:0")
    try:
        with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=30) as http:
            latencies = _timed_triggers(http, count)
        rate = _sustained(url, token, seconds=3 if ctx.plan.quick else 6, clients=8)
        rss = _rss_mb(proc.pid)
    finally:
        _stop(proc)
    size = f"{n} srv"
    report = ctx.report
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    report.add(Row("API", size, "trigger->job p50", p50 * 1000, "ms", floor["p50"] * 1000))
    report.add(
        Row(
            "API",
            size,
            "trigger->job p99",
            p99 * 1000,
            "ms",
            floor["p99"] * 1000,
            "< 50 ms",
            p99 < 0.05,
        )
    )
    report.add(
        Row("API", size, "triggers/s (8 clients)", rate, "/s", floor["rate"], "> 200", rate > 200)
    )
    report.add(Row("API", "", "API process RSS (VmHWM)", rss, "MB"))
    report.footnotes.append(
        f"API trigger: {count} sequential GET /api/jobs/trigger (template on role n{n}, job "
        "validated and written, not run) over one keep-alive connection to `otter-tui api`; "
        "triggers/s: 8 clients at once. Floor: the same KeyedJobs.trigger call in-process, "
        "sequential, no HTTP."
    )


def _floor_triggers(config: Path, key_name: str, count: int) -> dict[str, float]:
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        key = next(k for k in runtime.api_keys.list_keys() if k.name == key_name)
        keyed = KeyedJobs(runtime.ctx, runtime.plans, key)
        times = []
        started = time.perf_counter()
        for _ in range(count):
            t0 = time.perf_counter()
            keyed.trigger(TEMPLATE, {})
            times.append(time.perf_counter() - t0)
        rate = count / (time.perf_counter() - started)
    finally:
        runtime.close()
    progress(f"floor trigger p50 {percentile(times, 0.5) * 1000:.1f} ms, {rate:.0f}/s")
    return {"p50": percentile(times, 0.5), "p99": percentile(times, 0.99), "rate": rate}


def _timed_triggers(http: httpx.Client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        t0 = time.perf_counter()
        answer = http.get(f"/api/jobs/trigger?template={TEMPLATE}")
        times.append(time.perf_counter() - t0)
        answer.raise_for_status()
    progress(f"API trigger p50 {percentile(times, 0.5) * 1000:.1f} ms")
    return times


def _sustained(url: str, token: str, seconds: float, clients: int) -> float:
    done = [0] * clients
    deadline = time.perf_counter() + seconds

    def work(index: int) -> None:
        with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=30) as http:
            while time.perf_counter() < deadline:
                http.get(f"/api/jobs/trigger?template={TEMPLATE}").raise_for_status()
                done[index] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    rate = sum(done) / (time.perf_counter() - started)
    progress(f"API sustained {rate:.0f} triggers/s with {clients} clients")
    return rate


# SSE ----------------------------------------------------------------------------------------------


def _sse_rows(ctx: Any, config: Path, token: str, n: int, seconds: int) -> None:
    rate = 100
    proc, url = _serve(config, "daemon", "--api", "127.0.0.1:0")
    try:
        with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=300) as http:
            body = {
                "plan": PLAN_KEYS["stream"],
                "targets": {"roles": [f"n{n}"]},
                "variables": {"rate": rate, "seconds": seconds},
            }
            created = http.post("/v1/jobs", json=body)
            created.raise_for_status()
            job = created.json()["id"]
            floor: list[float] = []
            poller = threading.Thread(target=_poll_store, args=(config, job, floor), daemon=True)
            poller.start()
            lags, state = _follow(http, job)
            poller.join(timeout=120)
    finally:
        _stop(proc)
    size = f"{n} srv x {rate}/s"
    p99 = percentile(lags, 0.99) if lags else float("nan")
    floor_p99 = percentile(floor, 0.99) if floor else None
    ctx.report.add(
        Row(
            "API",
            size,
            "SSE lag p99",
            p99 * 1000,
            "ms",
            None if floor_p99 is None else floor_p99 * 1000,
            "< 250 ms",
            p99 < 0.25,
            note="" if state == "succeeded" else f"job {state}: {_failures(config, job)}",
        )
    )
    stored = _stored_lines(config, job)
    ctx.report.add(
        Row(
            "API",
            size,
            "SSE lines delivered (floor: stored)",
            len(lags),
            "",
            float(stored),
            "every line",
            len(lags) == stored,
            note=f"store poller read {len(floor):,}",
        )
    )
    ctx.report.footnotes.append(
        f"API SSE: `otter-tui daemon --api` runs the streaming plan on {n} servers ({rate} "
        f"lines/s each for {seconds} s); one client follows /v1/jobs/ID/logs/stream. Lag: the "
        "line's arrival stamp in the engine to the client parsing its event. Floor: a reader "
        f"polling the store every {POLL * 1000:.0f} ms in the bench process, same job."
    )


def _failures(config: Path, job: int) -> str:
    """Why a job did not succeed, for the row's note: its error, or how many server runs
    failed and the first one's error (the fleet and its database are gone after the bench)."""
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        view = runtime.jobs.show(job)
        failed = [run for run in view.server_runs if run.error]
        if not failed:
            return view.error or "no server run failed"
        return f"{len(failed)} server run(s) failed, first: {failed[0].error[:120]}"
    finally:
        runtime.close()


def _stored_lines(config: Path, job: int) -> int:
    """The job's lines in the store once it has ended: what a follower must have been sent."""
    runtime = open_runtime(config, seed=False, sync_plans=False)
    try:
        return stored_lines(runtime, job)
    finally:
        runtime.close()


def _follow(http: httpx.Client, job: int) -> tuple[list[float], str]:
    lags: list[float] = []
    state = "unknown"
    cpu, wall = time.thread_time(), time.perf_counter()
    with http.stream("GET", f"/v1/jobs/{job}/logs/stream") as response:
        kind = ""
        for line in response.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "log":
                at = datetime.fromisoformat(json.loads(line[6:])["at"])
                lags.append(max(0.0, (datetime.now(UTC) - at).total_seconds()))
            elif line.startswith("data: ") and kind == "end":
                state = json.loads(line[6:])["state"]
                break
    cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
    progress(
        f"SSE: {len(lags)} lines, lag p50 {percentile(lags, 0.5) * 1000:.0f} ms, p99 "
        f"{percentile(lags, 0.99) * 1000:.0f} ms; the client's thread {cpu:.1f} s CPU in "
        f"{wall:.1f} s"
    )
    return lags, state


def _poll_store(config: Path, job: int, lags: list[float]) -> None:
    runtime = open_runtime(config, seed=False, sync_plans=False)
    cpu, wall = time.thread_time(), time.perf_counter()
    try:
        after = 0
        while True:
            page = runtime.jobs.logs(job, after_seq=after, limit=5000)
            now = datetime.now(UTC)
            lags += [max(0.0, (now - x.at).total_seconds()) for x in page]
            after = page[-1].seq if page else after
            if not page and runtime.jobs.show(job).finished_at is not None:
                cpu, wall = time.thread_time() - cpu, time.perf_counter() - wall
                progress(
                    f"store poller: {len(lags)} lines, lag p50 {percentile(lags, 0.5) * 1000:.0f}"
                    f" ms, p99 {percentile(lags, 0.99) * 1000:.0f} ms; its thread {cpu:.1f} s "
                    f"CPU in {wall:.1f} s"
                )
                return
            if len(page) < 5000:
                time.sleep(POLL)
    finally:
        runtime.close()


# processes --------------------------------------------------------------------------------------


def _serve(config: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    console = Path(sys.executable).with_name("otter-tui")
    with RESULTS_LOG.open("a") as log:  # its warnings and errors, kept as the children's are
        log.write(f"--- otter-tui {' '.join(args)}\n")
        log.flush()
        proc = subprocess.Popen(
            [str(console), "--config", str(config), *args],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
    assert proc.stdout is not None
    for line in proc.stdout:
        found = STARTED.search(line)
        if found:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc, f"http://{found.group(1)}"
    raise RuntimeError(f"{args[0]} exited before serving the API")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()

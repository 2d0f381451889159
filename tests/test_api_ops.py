"""Health, readiness and metrics against a real uvicorn: what a probe and a scraper see."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from otter_tui.runtime import Runtime
from otter_tui.scheduler.lease import SCHEDULER_LEASE
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import Lease
from tests.api_support import api_runtime, serving
from tests.fixtures_core import FixedClock


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def rt(tmp_path: Path, clock: FixedClock) -> Iterator[Runtime]:
    runtime = api_runtime(tmp_path, clock=clock)
    yield runtime
    runtime.close()


@pytest.fixture
def http(rt: Runtime) -> Iterator[httpx.Client]:
    with serving(rt) as url, httpx.Client(base_url=url, timeout=20) as client:
        yield client


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_healthz_and_readyz(rt: Runtime, http: httpx.Client, clock: FixedClock) -> None:
    assert http.get("/healthz").json() == {"status": "ok"}
    ready = http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": "ok", "scheduler_leader": None, "lease_expires_at": None}
    expires = clock.now + timedelta(seconds=15)
    with rt.db.transaction() as s:
        s.add(Lease(name=SCHEDULER_LEASE, holder="host:42", expires_at=expires))
    assert http.get("/readyz").json()["scheduler_leader"] == "host:42"
    clock.advance(16)
    assert http.get("/readyz").json()["scheduler_leader"] is None


def test_metrics_count_jobs_by_state_and_queue(rt: Runtime, http: httpx.Client) -> None:
    for who in ("a", "b"):
        rt.jobs.create(JobRequest(plan="api_plans.Greet", variables={"who": who}))
    rt.jobs.create(JobRequest(plan="api_plans.Gated"))
    http.get("/nope")
    answer = http.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    found = samples(answer.text)
    assert found[("otter_jobs", (("state", "queued"),))] == 2
    assert found[("otter_jobs", (("state", "pending_approval"),))] == 1
    assert found[("otter_queue_depth", (("queue", "default"),))] == 2
    assert found[("otter_scheduler_leader", ())] == 0
    assert found[("otter_api_requests_total", (("method", "GET"), ("status", "404")))] == 1
    assert ("otter_claim_latency_seconds", (("quantile", "0.99"),)) in found

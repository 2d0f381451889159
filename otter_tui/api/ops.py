"""Operations: ``/healthz`` (the process answers), ``/readyz`` (the database answers; who leads
the scheduler) and ``/metrics`` (Prometheus text format, via ``prometheus-client``).

They need no key, as probes and scrapers carry none; they show counts and states, never a job's
variables or a log line. Bind the API to loopback or put it behind a proxy if even counts are
private. The job, run, queue and scheduler figures are read from the store at each scrape, so
they are the database's, whichever process serves them; the request figures are this process's.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from otter_tui.api.render import Json
from otter_tui.api.state import api_state
from otter_tui.services.context import ServiceContext
from otter_tui.services.health import readiness, snapshot

QUANTILES = (0.5, 0.99)


def quantile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class StoreCollector(Collector):
    """Gauges read from the store at scrape time."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.ctx = ctx

    def collect(self) -> Iterator[GaugeMetricFamily]:
        snap = snapshot(self.ctx)
        yield _labelled("otter_jobs", "Jobs by state.", "state", snap.jobs)
        yield _labelled("otter_server_runs", "Server runs by state.", "state", snap.runs)
        yield _labelled("otter_queue_depth", "Jobs queued, by queue.", "queue", snap.queued)
        yield GaugeMetricFamily("otter_log_lines", "Log lines stored.", value=snap.log_lines)
        yield _quantiles(
            "otter_claim_latency_seconds",
            "Due time to start, jobs started in the last hour.",
            snap.claim_latency,
        )
        yield _quantiles(
            "otter_scheduler_lateness_seconds",
            "Due time to firing recorded, over the last hour.",
            snap.scheduler_lateness,
        )
        yield GaugeMetricFamily(
            "otter_scheduler_leader",
            "1 while a scheduler holds the lease.",
            value=1 if snap.scheduler_leader else 0,
        )


def _labelled(name: str, doc: str, label: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _quantiles(name: str, doc: str, values: list[float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["quantile"])
    for q in QUANTILES:
        family.add_metric([str(q)], quantile(values, q))
    return family


class ApiMetrics:
    """This process's registry: the store's gauges and the API's own request figures."""

    def __init__(self, ctx: ServiceContext) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(StoreCollector(ctx))
        self.requests = Counter(
            "otter_api_requests",
            "API requests answered.",
            ["method", "status"],
            registry=self.registry,
        )
        self.seconds = Histogram(
            "otter_api_request_seconds", "Time to answer an API request.", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)


class CountRequests:
    """ASGI middleware: each answered request counted by method and status, and timed."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started, status = time.perf_counter(), {"code": 500}

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.metrics.requests.labels(scope["method"], str(status["code"])).inc()
            self.metrics.seconds.observe(time.perf_counter() - started)


async def healthz(request: Request) -> Json:
    return Json({"status": "ok"})


async def readyz(request: Request) -> Json:
    state = api_state(request)
    ready = await state.call(readiness, state.runtime.ctx)
    body: dict[str, Any] = {
        "database": "ok" if ready.database else "unreachable",
        "scheduler_leader": ready.scheduler_leader,
        "lease_expires_at": ready.lease_expires_at,
    }
    return Json(body, status_code=200 if ready.database else 503)


async def metrics(request: Request) -> Response:
    text = await api_state(request).call(request.app.state.metrics.render)
    return Response(text, media_type=CONTENT_TYPE_LATEST)


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]

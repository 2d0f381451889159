"""The live log stream's limits, on a real uvicorn: an idle stream sends keep-alive comments,
and a client that stops reading is dropped (and logged), never buffered for."""

from __future__ import annotations

import io
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert

from otter_tui.api import stream
from otter_tui.logfmt import setup_logging, teardown_logging
from otter_tui.runtime import Runtime
from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.jobs import JobRequest
from otter_tui.store.models import LogEntry
from tests.api_support import api_runtime, serving

LINES = 30_000
WIDTH = 1000
GUARD = 30.0


@pytest.fixture
def rt(tmp_path: Path) -> Iterator[Runtime]:
    runtime = api_runtime(tmp_path, sections={"api": {"stream_send_timeout_seconds": 0.5}})
    yield runtime
    runtime.close()


def request(port: int, path: str, token: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nX-ApiKey: {token}\r\n\r\n".encode())
    return sock


def test_an_idle_stream_sends_keep_alive_comments(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(stream, "HEARTBEAT_SECONDS", 0.2)
    token = ApiKeyService(rt.ctx).add("w", "view")[1]
    job = rt.jobs.create(JobRequest(plan="api_plans.Greet", variables={"who": "x"}))
    with serving(rt) as url:
        sock = request(int(url.rsplit(":", 1)[1]), f"/v1/jobs/{job.id}/logs/stream", token)
        received = b""
        while b": keep-alive" not in received:
            chunk = sock.recv(4096)
            assert chunk, "the stream closed"
            received += chunk
        sock.close()
    assert received.startswith(b"HTTP/1.1 200")


def test_a_client_that_stops_reading_is_dropped(rt: Runtime) -> None:
    token = ApiKeyService(rt.ctx).add("slow", "view")[1]
    job = rt.jobs.create(JobRequest(plan="api_plans.Greet", variables={"who": "x"}))
    now = datetime.now(UTC)
    rows = [
        {"job_id": job.id, "seq": i, "at": now, "level": "info", "stream": "", "text": "x" * WIDTH}
        for i in range(1, LINES + 1)
    ]
    with rt.db.transaction() as s:
        s.execute(insert(LogEntry), rows)
    log = io.StringIO()
    handler = setup_logging(log, rt.ctx.clock)
    try:
        with serving(rt) as url:
            sock = request(int(url.rsplit(":", 1)[1]), f"/v1/jobs/{job.id}/logs/stream", token)
            deadline = time.monotonic() + GUARD
            while "event=api.stream_dropped" not in log.getvalue():
                assert time.monotonic() < deadline, "the slow client was never dropped"
                time.sleep(0.05)
            received = 0
            while chunk := sock.recv(1 << 20):
                received += len(chunk)
            sock.close()
    finally:
        teardown_logging(handler)
    assert received < LINES * WIDTH  # what was sent before the drop, then the end of the stream
    assert f"job={job.id}" in log.getvalue()


def test_streams_do_not_hold_the_only_worker(tmp_path: Path) -> None:
    """``api.workers = 1``: three clients follow a waiting job's log (each polls the store on
    the one worker), and a script's requests are still answered, in turn, not refused or hung."""
    runtime = api_runtime(tmp_path / "one", sections={"api": {"workers": 1}})
    try:
        token = ApiKeyService(runtime.ctx).add("one", "trigger")[1]
        job = runtime.jobs.create(JobRequest(plan="api_plans.Greet", variables={"who": "x"}))
        with serving(runtime) as url:
            port = int(url.rsplit(":", 1)[1])
            followers = [request(port, f"/v1/jobs/{job.id}/logs/stream", token) for _ in range(3)]
            for sock in followers:
                assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=GUARD) as http:
                shown = [http.get(f"/v1/jobs/{job.id}") for _ in range(5)]
                made = http.post(
                    "/v1/jobs", json={"plan": "api_plans.Greet", "variables": {"who": "y"}}
                )
            for sock in followers:
                sock.close()
    finally:
        runtime.close()
    assert [answer.json()["state"] for answer in shown] == ["queued"] * 5
    assert made.status_code == 201 and made.json()["id"] == job.id + 1

"""Live logs over SSE from a daemon running a job on the test sshd fleet: a client that drops
and reconnects with ``Last-Event-ID`` gets every line exactly once, and ``?server=`` keeps one
server's lines. The stream reads the store, so it follows a job run by the daemon's worker."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otter_tui.services.api_keys import ApiKeyService
from otter_tui.testing.sshd import SshdFleet
from tests.engine_support import add_fleet, engine_runtime
from tests.test_daemon_process import DaemonProcess

PLAN = '''
from otter_tui.plan import Command, Int, OrchestrationPlan


class Ticker(OrchestrationPlan):
    """Prints ``lines`` numbered lines, one every 50 ms, on each server."""

    name = "Ticker"
    variables = {"lines": Int(default=40)}

    async def run(self, ctx):
        count = int(ctx.vars["lines"])
        loop = f"for i in $(seq 1 {count}); do echo tick $i; sleep 0.05; done"
        await ctx.shell(Command.shell(loop))
        ctx.log(f"done on {ctx.server.name}")
'''
GUARD = 30.0
Event = dict[str, str]


@pytest.fixture
def world(tmp_path: Path, ssh_fleet: SshdFleet) -> Iterator[tuple[Path, str, list[str]]]:
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "stream_plans.py").write_text(PLAN)
    rt = engine_runtime(tmp_path, ssh_fleet)
    rt.plans.set_enabled("stream_plans.Ticker", True)
    names = add_fleet(rt, ssh_fleet, range(len(ssh_fleet.servers)))
    token = ApiKeyService(rt.ctx).add("watcher", "trigger")[1]
    config = rt.settings.source
    rt.close()
    assert config is not None
    yield config, token, names


@pytest.fixture
def daemon(world: tuple[Path, str, list[str]]) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(world[0], "--api", "127.0.0.1:0")
    yield proc
    proc.kill()


def events(response: httpx.Response) -> Iterator[Event]:
    """Server-Sent Events as dicts of their fields."""
    current: Event = {}
    for line in response.iter_lines():
        if not line:
            if current:
                yield current
            current = {}
            continue
        name, _, value = line.partition(": ")
        current[name] = value


def read(http: httpx.Client, url: str, stop_after: int | None, **headers: str) -> list[Event]:
    """Events until ``end`` (or, with ``stop_after``, until that many, then hang up)."""
    seen: list[Event] = []
    with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for item in events(response):
            seen.append(item)
            if item.get("event") == "end" or (stop_after and len(seen) >= stop_after):
                break
    return seen


def test_a_reconnecting_client_loses_and_repeats_nothing(
    world: tuple[Path, str, list[str]], daemon: DaemonProcess
) -> None:
    _, token, names = world
    url = f"http://{daemon.wait_for('api.started')['bind']}"
    with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=GUARD) as http:
        body = {"plan": "stream_plans.Ticker", "targets": {"roles": ["fleet"]}}
        job = http.post("/v1/jobs", json=body).json()["id"]
        stream = f"/v1/jobs/{job}/logs/stream"
        first = read(http, stream, stop_after=25)
        assert http.get(f"/v1/jobs/{job}").json()["state"] == "running"
        second = read(http, stream, None, **{"Last-Event-ID": first[-1]["id"]})
        stored = http.get(f"/v1/jobs/{job}/logs", params={"limit": 1000}).json()["lines"]
        one = read(http, f"{stream}?server={names[1]}", None)

    lines = [e for e in first + second if e.get("event") == "log"]
    seqs = [int(e["id"]) for e in lines]
    assert seqs == [x["seq"] for x in stored]  # in order, none lost, none repeated
    assert len(seqs) >= len(names) * 40
    end = json.loads(second[-1]["data"])
    assert second[-1]["event"] == "end" and end["state"] == "succeeded"
    ticks = [json.loads(e["data"]) for e in one if e.get("event") == "log"]
    assert {t["server"] for t in ticks} == {names[1]}
    assert [t["seq"] for t in ticks] == [x["seq"] for x in stored if x["server"] == names[1]]
    daemon.send(signal.SIGTERM)
    assert daemon.finish(GUARD) == 0


def test_a_stream_of_an_unknown_job_is_404(
    world: tuple[Path, str, list[str]], daemon: DaemonProcess
) -> None:
    url = f"http://{daemon.wait_for('api.started')['bind']}"
    answer = httpx.get(f"{url}/v1/jobs/999/logs/stream", headers={"X-ApiKey": world[1]})
    assert (answer.status_code, answer.json()) == (404, {"error": "unknown job 999"})

"""The API in real processes: ``otter-tui daemon --api`` runs what a script triggers (trigger ->
status -> logs), ``otter-tui api`` serves alone and runs nothing, and both tell systemd READY,
WATCHDOG and STOPPING over a real unix datagram socket."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.templates import TemplateFields
from tests.api_support import api_runtime
from tests.test_daemon_process import LAUNCH, DaemonProcess

SECTIONS = {
    "daemon": {"shutdown_grace_seconds": 3, "poll_seconds": 0.2},
    "engine": {"cancel_grace_seconds": 1, "lease_seconds": 5},
    "scheduler": {"lease_seconds": 3},
}
GUARD = 20.0


class ApiProcess(DaemonProcess):
    """``otter-tui api`` (not ``daemon``) as a subprocess, lines collected like a daemon's."""

    def __init__(self, config: Path, *args: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("OTTER_TUI_CONFIG", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCH, "--config", str(config), "api", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._start_reader()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """The config file, and a trigger key of bob's for template ``greet``."""
    rt = api_runtime(tmp_path, sections=SECTIONS)
    rt.templates.add("greet", TemplateFields(plan="api_plans.Greet"))
    token = ApiKeyService(rt.ctx.as_user("bob")).add("ci", "trigger")[1]
    config = rt.settings.source
    rt.close()
    assert config is not None
    yield config, token


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A unix datagram socket standing in for systemd's, named in NOTIFY_SOCKET."""
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(GUARD)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    yield sock
    sock.close()


@pytest.fixture
def procs() -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for proc in started:
        proc.kill()


def base_url(proc: DaemonProcess) -> str:
    started = proc.wait_for("api.started")
    return f"http://{started['bind']}"


def next_message(sock: socket.socket, prefix: str) -> str:
    """The next notification starting with ``prefix`` (watchdog pings in between are skipped)."""
    while True:
        message = sock.recv(4096).decode()
        if message.startswith(prefix):
            return message


def test_the_daemon_runs_what_a_script_triggers(
    world: tuple[Path, str], procs: list[DaemonProcess], notify_socket: socket.socket
) -> None:
    config, token = world
    daemon = DaemonProcess(config, "--api", "127.0.0.1:0")
    procs.append(daemon)
    url = base_url(daemon)
    assert next_message(notify_socket, "READY=1").startswith("READY=1\nSTATUS=")
    assert next_message(notify_socket, "WATCHDOG=1") == "WATCHDOG=1"
    with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=GUARD) as http:
        job = http.post("/api/jobs/trigger?template=greet&who=daemon").text.strip()
        deadline = time.monotonic() + GUARD
        while (status := http.get(f"/api/jobs/status?token={job}").text) != "Warning\n":
            assert status in ("Pending\n", "Executing\n"), status
            assert time.monotonic() < deadline, "the daemon did not run the job"
            time.sleep(0.05)
        try:
            logs = http.get(f"/api/jobs/logs?token={job}").text.splitlines()
        except httpx.TimeoutException:
            pytest.fail("the daemon did not answer for the logs:\n" + daemon.stacks())
    assert "INFO: hello daemon" in logs and "WARN: that was loud" in logs
    daemon.send(signal.SIGTERM)
    assert next_message(notify_socket, "STOPPING=1") == "STOPPING=1"
    assert daemon.finish(GUARD) == 0
    assert daemon.events("api.stopped")
    assert token not in daemon.text()


def test_the_api_alone_creates_jobs_but_runs_none(
    world: tuple[Path, str], procs: list[DaemonProcess], notify_socket: socket.socket
) -> None:
    config, token = world
    api = ApiProcess(config, "--bind", "127.0.0.1:0")
    procs.append(api)
    url = base_url(api)
    assert next_message(notify_socket, "READY=1").startswith("READY=1\nSTATUS=serving the API")
    with httpx.Client(base_url=url, headers={"X-ApiKey": token}, timeout=GUARD) as http:
        job = http.post("/api/jobs/trigger?template=greet&who=alone").text.strip()
        assert http.get(f"/api/jobs/status?token={job}").text == "Pending\n"
        assert http.get("/healthz").status_code == 200
    api.send(signal.SIGTERM)
    assert next_message(notify_socket, "STOPPING=1") == "STOPPING=1"
    assert api.finish(GUARD) == 0


def test_an_address_in_use_is_one_line(world: tuple[Path, str], procs: list[DaemonProcess]) -> None:
    config, _ = world
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        api = ApiProcess(config, "--bind", f"127.0.0.1:{port}")
        procs.append(api)
        assert api.finish(GUARD) == 2
    assert api.stderr.splitlines()[0] == (
        f"otter-tui: error: cannot listen on 127.0.0.1:{port}: Address already in use"
    )

"""docs/api.md stays true: its curl examples run, in order, against a real daemon serving the
API on the demo inventory, and every ``otter-tui api`` command and route is documented."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from otter_tui.api.app import build_app
from otter_tui.api.openapi import PATHS
from otter_tui.cli import cli
from otter_tui.services.api_keys import ApiKeyService
from otter_tui.services.templates import TemplateFields
from otter_tui.targeting import TargetSpec
from tests.fixtures_core import make_runtime
from tests.test_daemon_process import DaemonProcess

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "api.md"
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
SECTIONS = {
    "paths": {"plans_dir": str(ROOT / "plans")},
    "daemon": {"shutdown_grace_seconds": 3, "poll_seconds": 0.2},
    "engine": {"cancel_grace_seconds": 1, "lease_seconds": 5},
    "scheduler": {"lease_seconds": 3},
}
GUARD = 60.0


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """What the doc's setup block does: keys of bob and dave, a template, an approval flag."""
    rt = make_runtime(tmp_path, sections=SECTIONS)
    for plan in ("demo_deploy.DemoDeploy", "demo_config.DemoConfig"):
        rt.plans.set_enabled(plan, True)
    rt.plans.override("demo_config.DemoConfig", "approval_required", "true")
    rt.users.add("bob", permissions=("jobs.run", "jobs.cancel"))
    rt.users.add("dave", permissions=("jobs.approve",))
    rt.templates.add(
        "deploy-demo",
        TemplateFields(plan="demo_deploy.DemoDeploy", targets=TargetSpec(roles=("demo",))),
    )
    bob, dave = ApiKeyService(rt.ctx.as_user("bob")), ApiKeyService(rt.ctx.as_user("dave"))
    keys = {
        "KEY": bob.add("ci", "trigger")[1],
        "APPROVER_KEY": dave.add("approver", "trigger")[1],
        "REMEDIATE_KEY": bob.add("drift", "remediate", environments=("dev",))[1],
    }
    config = rt.settings.source
    rt.close()
    assert config is not None
    yield config, keys


def test_the_curl_examples_run(setup: tuple[Path, dict[str, str]]) -> None:
    config, keys = setup
    daemon = DaemonProcess(config, "--api", "127.0.0.1:0")
    try:
        url = f"http://{daemon.wait_for('api.started')['bind']}"
        script = "\n".join(BLOCK.findall(DOC.read_text()))
        assert script.count("curl") >= 15
        env = {**os.environ, **keys, "OTTER_API": url}
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            capture_output=True,
            text=True,
            env=env,
            timeout=GUARD,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "event: end" in done.stdout and '"state": "succeeded"' in done.stdout
        assert '"state":"cancelled"' in done.stdout and '"state":"queued"' in done.stdout
        assert "otter_jobs{state=" in done.stdout
        daemon.send(signal.SIGTERM)
        assert daemon.finish(GUARD) == 0
    finally:
        daemon.kill()


def test_every_api_command_is_documented() -> None:
    text = DOC.read_text()
    group = cli.commands["api"]
    assert isinstance(group, click.Group)
    keys = group.commands["keys"]
    assert isinstance(keys, click.Group)
    for name in keys.commands:
        assert f"`otter-tui api keys {name}" in text, f"document `otter-tui api keys {name}`"
    assert "`otter-tui api [--bind" in text and "`otter-tui daemon --api" in text


def test_every_route_is_documented_and_described(tmp_path: Path) -> None:
    rt = make_runtime(tmp_path)
    try:
        paths = {getattr(r, "path", "") for r in build_app(rt).routes}
    finally:
        rt.close()
    assert paths == set(PATHS)
    text = DOC.read_text()
    for path in paths:
        first = path.split("{")[0].rstrip("/")
        assert f"`{first}" in text or f"{first}" in text, f"document {path} in docs/api.md"

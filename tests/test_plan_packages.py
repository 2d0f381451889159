"""The package operation: detection and collect against real packages, apply with a fake.

Tests never install or remove a package on the machine: apply is checked on a FakeTransport,
which records the commands a real server would have been sent.
"""

from __future__ import annotations

import shutil

import pytest

from otter_tui.errors import UsageError
from otter_tui.plan import Status, remediate
from otter_tui.plan import operations as ops
from otter_tui.plan.operations.packages import detect_manager
from otter_tui.transport.base import CommandResult, Transport
from otter_tui.transport.fake import FakeTransport
from otter_tui.transport.local import LocalTransport
from tests.fixtures_ssh import MakeTransport

HOST_MANAGER = "apt" if shutil.which("dpkg-query") else "dnf" if shutil.which("rpm") else ""
needs_manager = pytest.mark.skipif(not HOST_MANAGER, reason="neither dpkg nor rpm on this host")
BOGUS = "otter-tui-no-such-package"


@pytest.fixture(params=["local", "ssh"])
def target(request: pytest.FixtureRequest) -> Transport:
    if request.param == "local":
        return LocalTransport("local")
    make: MakeTransport = request.getfixturevalue("ssh_transport")
    return make(0)


@needs_manager
async def test_the_manager_is_detected(target: Transport) -> None:
    assert await detect_manager(target) == HOST_MANAGER


@needs_manager
async def test_an_installed_package_is_desired_and_a_missing_one_drifted(
    target: Transport,
) -> None:
    assert (await ops.package("coreutils").collect(target)).status is Status.DESIRED
    missing = await ops.package(BOGUS).collect(target)
    assert missing.status is Status.DRIFTED
    assert missing.diff == f"install package {BOGUS} ({HOST_MANAGER})"
    assert (await ops.package(BOGUS, present=False).collect(target)).status is Status.DESIRED
    removal = await ops.package("coreutils", present=False).collect(target)
    assert removal.status is Status.DRIFTED


@needs_manager
async def test_simulating_a_missing_package_installs_nothing(target: Transport) -> None:
    lines: list[str] = []
    result = await remediate([ops.package(BOGUS)], target, True, lambda _, t: lines.append(t))
    assert result[0].status is Status.DRIFTED
    assert lines[0] == f"would change: package {BOGUS} is installed"
    assert (await ops.package(BOGUS).collect(target)).status is Status.DRIFTED


def apt_server(installed: bool) -> FakeTransport:
    status = "install ok installed" if installed else ""
    return (
        FakeTransport("deb1")
        .on("command -v dpkg-query", CommandResult(0, "apt\n"))
        .on("^dpkg-query", CommandResult(0 if installed else 1, status))
        .on("apt-get", CommandResult(0, "Setting up nginx\n"))
    )


async def test_apply_on_apt_installs_non_interactively() -> None:
    server = apt_server(installed=False)
    applied = await ops.package("nginx").apply(server)
    assert applied.changed
    assert server.lines[-1] == "DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx"


async def test_apply_of_an_installed_package_runs_no_change() -> None:
    server = apt_server(installed=True)
    applied = await ops.package("nginx").apply(server)
    assert not applied.changed
    assert not [line for line in server.lines if "apt-get" in line]


async def test_apply_on_dnf_removes_with_dnf() -> None:
    server = (
        FakeTransport("rh1")
        .on("command -v dpkg-query", CommandResult(0, "dnf\n"))
        .on("^rpm -q", CommandResult(0, "httpd-2.4\n"))
        .on("^dnf", CommandResult(0))
    )
    applied = await ops.package("httpd", present=False).apply(server)
    assert applied.changed
    assert server.lines[-1] == "dnf remove -y -q httpd"


async def test_a_server_without_apt_or_dnf_is_unknown() -> None:
    server = FakeTransport("alpine").on("command -v", CommandResult(0, "none\n"))
    found = await ops.package("curl").collect(server)
    assert found.status is Status.UNKNOWN
    assert found.reason == "no apt or dnf on alpine: cannot manage packages there"


@pytest.mark.parametrize("name", ["-rf", "a b", "x;reboot", ""])
def test_a_bad_package_name_is_refused(name: str) -> None:
    with pytest.raises(UsageError, match="is not valid"):
        ops.package(name)

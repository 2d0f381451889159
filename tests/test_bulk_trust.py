"""``servers trust --all`` and ``--from-known-hosts`` against a real sshd fleet of the test's own
(it rekeys one server): one table, new keys trusted, a changed key refused and never replaced."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.engine.transports import ssh_options
from otter_tui.runtime import Runtime
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.base import Command
from otter_tui.transport.known_hosts import fingerprint, load_known_hosts, parse_key, recorded_keys
from otter_tui.transport.ssh import SshTransport
from tests.fixtures_core import ACTOR, make_runtime
from tests.fixtures_ssh import require_sshd

SIZE = 3


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


@pytest.fixture
def fleet(tmp_path: Path) -> Iterator[SshdFleet]:
    require_sshd()
    with SshdFleet(tmp_path / "fleet", SIZE) as started:
        yield started


def fleet_runtime(directory: Path, fleet: SshdFleet) -> Runtime:
    """A runtime that reaches ``fleet`` as servers s0..s2 and trusts none of their keys yet."""
    ssh = {
        "known_hosts": str(directory / "user_known_hosts"),
        "client_keys": [str(fleet.client_key)],
        "use_agent": False,
        "ssh_config": "",
        "connect_timeout": 5.0,
    }
    rt = make_runtime(directory, seed=False, sections={"ssh": ssh}, actor=ACTOR)
    for index, server in enumerate(fleet.servers):
        rt.inventory.add_server(f"s{index}", server.host, port=server.port, user=server.user)
    return rt


def trust(directory: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run(["--config", str(directory / "config.toml"), "servers", "trust", *args], actor=ACTOR)
    out, err = capsys.readouterr()
    return code, out, err


def rows(out: str) -> dict[str, list[str]]:
    """Table rows by server name (column split on runs of two spaces)."""
    return {
        cells[0]: cells
        for line in out.splitlines()
        if (cells := [c.strip() for c in line.split("  ") if c.strip()]) and cells[0][:1] == "s"
    }


def connects(rt: Runtime, name: str) -> bool:
    view = rt.inventory.show_server(name)
    transport = SshTransport(name, view.host, view.port, view.user, ssh_options(rt.settings))

    async def attempt() -> bool:
        try:
            result = await transport.run(Command.argv("true"))
        finally:
            await transport.close()
        return result.exit_status == 0

    return asyncio.run(attempt())


def shown(fleet: SshdFleet, index: int) -> str:
    return fingerprint(parse_key(fleet.host_key_line(index)))


def test_trust_all_shows_one_table_then_refuses_a_changed_key(
    fleet: SshdFleet,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rt = fleet_runtime(tmp_path, fleet)
    app_file = rt.settings.app_known_hosts
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, err = trust(tmp_path, capsys, "--all")
    assert code == 1 and "aborted" in err
    assert {n: r[3] for n, r in rows(out).items()} == {f"s{i}": "new" for i in range(SIZE)}
    assert not app_file.exists()

    code, out, err = trust(tmp_path, capsys, "--all", "--yes")
    assert (code, err) == (0, "")
    table = rows(out)
    assert {n: (r[2], r[3]) for n, r in table.items()} == {
        f"s{i}": (shown(fleet, i), "trusted") for i in range(SIZE)
    }
    assert connects(rt, "s0") and connects(rt, "s2")

    old = shown(fleet, 1)
    new = fingerprint(parse_key(fleet.rekey(1)))
    recorded = app_file.read_text()
    code, out, err = trust(tmp_path, capsys, "--all", "--yes")
    assert code == 1 and err.count("\n") == 1 and "CHANGED for s1" in err
    table = rows(out)
    assert table["s1"][2:] == [new, "CHANGED (refused)", f"recorded: {old}"]
    assert table["s0"][3] == table["s2"][3] == "already trusted"
    assert app_file.read_text() == recorded, "a changed key is never replaced"
    rt.close()


def test_from_known_hosts_takes_hashed_entries(
    fleet: SshdFleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    keygen = shutil.which("ssh-keygen")
    assert keygen is not None
    hashed = tmp_path / "hashed_known_hosts"
    shutil.copyfile(fleet.known_hosts, hashed)
    subprocess.run([keygen, "-H", "-f", str(hashed)], check=True, capture_output=True)
    assert "127.0.0.1" not in hashed.read_text() and "|1|" in hashed.read_text()
    rt = fleet_runtime(tmp_path, fleet)
    rt.inventory.add_server("elsewhere", "192.0.2.1")

    code, out, err = trust(tmp_path, capsys, "--from-known-hosts", str(hashed))
    assert (code, err) == (0, "")
    table = rows(out)
    assert [table[f"s{i}"][3] for i in range(SIZE)] == ["trusted"] * SIZE
    assert "elsewhere" in out and "not in file" in out
    known = load_known_hosts([rt.settings.app_known_hosts])
    server = fleet.servers[2]
    assert parse_key(fleet.host_key_line(2)) in recorded_keys(known, server.host, server.port)
    assert connects(rt, "s1")
    assert "already trusted" in trust(tmp_path, capsys, "--from-known-hosts", str(hashed))[1]
    rt.close()


def test_bulk_trust_needs_one_mode(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_runtime(tmp_path, seed=False).close()
    code, _, err = trust(tmp_path, capsys, "s0", "--all")
    assert code == 2 and "NAME, --all or --from-known-hosts" in err
    code, _, err = trust(tmp_path, capsys, "--all", "--replace")
    assert code == 2 and "never replaces" in err

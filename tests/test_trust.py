"""``otter-tui servers trust``: unknown keys refused, trusted on request, changed keys refused.

The end-to-end test runs against a real sshd of its own (it rekeys it) and connects with the
options the engine builds from settings, so "trusted" means a job would really get through.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from otter_tui.cli import run
from otter_tui.engine.transports import ssh_options
from otter_tui.errors import HostKeyError, PermissionDenied, UsageError
from otter_tui.runtime import Runtime
from otter_tui.services.trust import TrustService
from otter_tui.store.models import AuditEvent
from otter_tui.testing.sshd import SshdFleet
from otter_tui.transport.base import Command
from otter_tui.transport.known_hosts import fingerprint, parse_key
from otter_tui.transport.ssh import SshTransport
from tests.fixtures_core import ACTOR, make_runtime

OLD_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIK6gdsXWrcGuDNM9t6ER0aJO6cceKRiRETypOOHOG3pD"
NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINCbuJEW1IBYQIl0NSObzS0JjlxgINS+RW9blYCcu0Ft"


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


def fleet_runtime(tmp_path: Path, fleet: SshdFleet) -> Runtime:
    """A runtime whose SSH settings reach ``fleet`` and trust nothing yet, with server ``srv``."""
    ssh = {
        "known_hosts": str(tmp_path / "user_known_hosts"),
        "client_keys": [str(fleet.client_key)],
        "use_agent": False,
        "ssh_config": "",
        "connect_timeout": 5.0,
    }
    rt = make_runtime(tmp_path, seed=False, sections={"ssh": ssh})
    server = fleet.servers[0]
    rt.inventory.add_server("srv", server.host, port=server.port, user=server.user)
    return rt


def run_marker(rt: Runtime, marker: Path) -> str:
    """Connect as the engine would and touch ``marker``; the error line when refused."""
    server = rt.inventory.show_server("srv")
    transport = SshTransport("srv", server.host, server.port, server.user, ssh_options(rt.settings))

    async def attempt() -> str:
        try:
            await transport.run(Command.argv("touch", str(marker)))
        except HostKeyError as exc:
            return str(exc)
        finally:
            await transport.close()
        return "ran"

    return asyncio.run(attempt())


def trust_cli(
    config: Path, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    code = run(["--config", str(config), "servers", "trust", "srv", *extra], actor=ACTOR)
    out, err = capsys.readouterr()
    return code, out, err


def shown(key_line: str) -> str:
    return fingerprint(parse_key(key_line))


def test_unknown_refused_trusted_changed_refused_replace_accepts(
    lone_sshd: SshdFleet, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = fleet_runtime(tmp_path, lone_sshd)
    config, app_file, marker = tmp_path / "config.toml", rt.settings.app_known_hosts, tmp_path / "m"
    first = shown(lone_sshd.host_key_line(0))

    refusal = run_marker(rt, marker)
    assert "unknown host key" in refusal and first in refusal
    assert "otter-tui servers trust srv" in refusal
    assert not marker.exists()

    code, out, err = trust_cli(config, capsys)
    assert (code, err) == (0, "")
    assert first in out and f"recorded in {app_file}" in out
    assert run_marker(rt, marker) == "ran" and marker.exists()
    marker.unlink()

    assert "already trusted" in trust_cli(config, capsys)[1]

    second = shown(lone_sshd.rekey(0))
    refusal = run_marker(rt, marker)
    assert "host key CHANGED" in refusal and second in refusal
    assert not marker.exists()

    recorded = app_file.read_text()
    code, out, err = trust_cli(config, capsys)
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "CHANGED" in err and second in err and "--replace" in err
    assert app_file.read_text() == recorded
    assert "CHANGED" in run_marker(rt, marker)

    code, out, err = trust_cli(config, capsys, "--replace")
    assert (code, err) == (0, "")
    assert f"replaced the previously recorded key {first}" in out
    assert first not in out.split("replaced")[0] and second in out
    assert run_marker(rt, marker) == "ran" and marker.exists()
    rt.close()


# logic without a network: a fetcher that returns a given key ----------------------------------


def service(rt: Runtime, key_line: str) -> TrustService:
    async def fetch(host: str, port: int, timeout: float) -> tuple[str, str]:
        return key_line, shown(key_line)

    return TrustService(rt.ctx, fetch=fetch)


@pytest.fixture
def trust_rt(tmp_path: Path) -> Runtime:
    ssh = {"known_hosts": str(tmp_path / "user_known_hosts"), "ssh_config": ""}
    rt = make_runtime(tmp_path, seed=False, sections={"ssh": ssh})
    rt.inventory.add_server("srv", "10.0.0.5", port=2222, user="ops")
    return rt


def test_a_key_changed_against_the_users_known_hosts_needs_replace(
    trust_rt: Runtime, tmp_path: Path
) -> None:
    (tmp_path / "user_known_hosts").write_text(f"[10.0.0.5]:2222 {OLD_KEY}\n")
    with pytest.raises(HostKeyError, match="--replace"):
        asyncio.run(service(trust_rt, NEW_KEY).trust("srv"))
    assert not trust_rt.settings.app_known_hosts.exists()
    result = asyncio.run(service(trust_rt, NEW_KEY).trust("srv", replace=True))
    assert result.outcome == "replaced" and result.replaced == (shown(OLD_KEY),)
    assert result.stale == (tmp_path / "user_known_hosts",)
    assert trust_rt.settings.app_known_hosts.read_text() == f"[10.0.0.5]:2222 {NEW_KEY}\n"


def test_a_key_in_the_users_known_hosts_is_already_trusted(
    trust_rt: Runtime, tmp_path: Path
) -> None:
    (tmp_path / "user_known_hosts").write_text(f"[10.0.0.5]:2222 {OLD_KEY}\n")
    result = asyncio.run(service(trust_rt, OLD_KEY).trust("srv"))
    assert result.outcome == "already trusted"
    assert not trust_rt.settings.app_known_hosts.exists()


def test_trust_is_audited(trust_rt: Runtime) -> None:
    asyncio.run(service(trust_rt, NEW_KEY).trust("srv"))
    with trust_rt.db.session() as s:
        events = [(e.action, e.object_name) for e in s.query(AuditEvent)]
    assert ("server.trust", "srv") in events


def test_a_local_server_has_no_key_to_trust(trust_rt: Runtime) -> None:
    trust_rt.inventory.add_server("here", transport="local")
    with pytest.raises(UsageError, match="local transport"):
        asyncio.run(service(trust_rt, NEW_KEY).trust("here"))


def test_a_user_without_inventory_edit_cannot_trust(trust_rt: Runtime) -> None:
    trust_rt.users.add("bob", permissions=("jobs.run",))
    bob = service(trust_rt, NEW_KEY)
    bob.ctx = trust_rt.ctx.as_user("bob")
    with pytest.raises(PermissionDenied):
        asyncio.run(bob.trust("srv"))
    assert not trust_rt.settings.app_known_hosts.exists()


def test_cli_errors_are_one_line_exit_2(
    trust_rt: Runtime, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.toml"
    code = run(["--config", str(config), "servers", "trust", "nosuch"], actor=ACTOR)
    err = capsys.readouterr().err
    assert code == 2 and err == "otter-tui: error: unknown server 'nosuch'\n"


def test_cli_json_names_the_fingerprint(
    trust_rt: Runtime, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def fetch(host: str, port: int, timeout: float) -> tuple[str, str]:
        assert (host, port) == ("10.0.0.5", 2222)
        return NEW_KEY, shown(NEW_KEY)

    monkeypatch.setattr(TrustService.__init__, "__defaults__", (fetch,))
    config = trust_rt.settings.source
    assert config is not None
    code = run(["--config", str(config), "servers", "trust", "srv", "--json"], actor=ACTOR)
    data = json.loads(capsys.readouterr().out)
    assert code == 0 and data["fingerprint"] == shown(NEW_KEY) and data["outcome"] == "trusted"


def test_an_unreachable_server_is_one_line_naming_it(
    trust_rt: Runtime, capsys: pytest.CaptureFixture[str]
) -> None:
    trust_rt.inventory.add_server("gone", "127.0.0.1", port=1)
    config = trust_rt.settings.source
    assert config is not None
    assert run(["--config", str(config), "servers", "trust", "gone"], actor=ACTOR) == 1
    err = capsys.readouterr().err
    assert err == "otter-tui: error: gone: cannot connect to 127.0.0.1:1: connection refused\n"
    assert not trust_rt.settings.app_known_hosts.exists()

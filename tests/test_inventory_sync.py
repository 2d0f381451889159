"""Import sync semantics: re-import updates by name, dry run writes nothing, prune keeps history,
secrets and malformed sources are refused with nothing written, one audit event with counts."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from sqlalchemy import select

from otter_tui.cli import run
from otter_tui.inventory_import import AnsibleOptions, read_ansible
from otter_tui.runtime import Runtime
from otter_tui.services.inventory_sync import InventorySyncService, SyncReport
from otter_tui.store.models import AuditEvent, ServerRun
from otter_tui.targeting import TargetSpec
from otter_tui.transport.credentials import keyring_lookup
from tests.engine_support import add_local, create, engine_runtime, run_now
from tests.fixtures_core import ACTOR, db_file, make_runtime, table_snapshot
from tests.inventory_support import DATA, ENVIRONMENTS, servers_of, variables_of
from tests.test_credentials import MemoryKeyring

OPTIONS = AnsibleOptions(frozenset(ENVIRONMENTS.split(",")))


@pytest.fixture(autouse=True)
def as_alice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OTTER_TUI_CONFIG", raising=False)


def sync(rt: Runtime, path: Path, **flags: bool) -> SyncReport:
    return InventorySyncService(rt.ctx).sync(read_ansible(str(path), OPTIONS), **flags)


def copy_ini(tmp_path: Path, old: str = "", new: str = "") -> Path:
    path = tmp_path / "hosts.ini"
    path.write_text((DATA / "hosts.ini").read_text().replace(old, new))
    return path


def cli(tmp_path: Path, *args: str) -> int:
    return run(
        ["--config", str(tmp_path / "config.toml"), "inventory", "import", *args], actor=ACTOR
    )


def test_reimport_changes_one_host_and_never_duplicates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=False, actor=ACTOR)
    sync(rt, copy_ini(tmp_path))
    before = servers_of(rt)
    changed = copy_ini(tmp_path, "web-eu ansible_host=10.1.0.9", "web-eu ansible_host=10.1.0.77")
    snapshot = table_snapshot(db_file(tmp_path))
    assert cli(tmp_path, "ansible", str(changed), "--environments", ENVIRONMENTS, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "web-eu" in out and "host 10.1.0.9 -> 10.1.0.77" in out
    assert "dry run: servers: 1 changed, 7 unchanged; nothing changed" in out
    assert table_snapshot(db_file(tmp_path)) == snapshot

    assert cli(tmp_path, "ansible", str(changed), "--environments", ENVIRONMENTS) == 0
    after = servers_of(rt)
    assert len(after) == len(before) == 8
    assert after["web-eu"][0] == "10.1.0.77"
    assert {k: v for k, v in after.items() if k != "web-eu"} == {
        k: v for k, v in before.items() if k != "web-eu"
    }
    with rt.db.session() as s:
        events = list(s.scalars(select(AuditEvent).where(AuditEvent.action == "inventory.import")))
    assert [e.detail["servers_changed"] for e in events[1:]] == [1]
    assert events[1].detail["servers_unchanged"] == 7 and events[0].detail["servers_added"] == 8
    rt.close()


def test_prune_removes_servers_gone_from_the_source_and_keeps_their_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = engine_runtime(tmp_path)
    add_local(rt, "retired")
    job = create(rt, "Echo", TargetSpec(servers=("retired",)))
    assert run_now(rt, job.id) == "succeeded"
    sync(rt, copy_ini(tmp_path))
    assert "retired" in servers_of(rt)

    assert (
        cli(
            tmp_path,
            "ansible",
            str(tmp_path / "hosts.ini"),
            "--environments",
            ENVIRONMENTS,
            "--prune",
            "--dry-run",
        )
        == 0
    )
    rows = [line.split() for line in capsys.readouterr().out.splitlines()]
    assert ["server", "retired", "would-remove"] in rows
    assert "retired" in servers_of(rt)

    report = sync(rt, tmp_path / "hosts.ini", prune=True)
    assert "retired" not in servers_of(rt) and len(servers_of(rt)) == 8
    assert ("retired", "removed") in {(c.name, c.status) for c in report.changes}
    with rt.db.session() as s:
        runs = list(s.scalars(select(ServerRun).where(ServerRun.job_id == job.id)))
    assert [(r.server_name, r.server_id) for r in runs] == [("retired", None)]
    assert rt.jobs.show(job.id).state == "succeeded"
    rt.close()


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("ansible_become_pass=hunter2", "ansible_become_pass"),
        ("ansible_password=hunter2", "ansible_password"),
        ("api_token=abc", "api_token"),
    ],
)
def test_secret_looking_variables_are_refused_and_nothing_is_written(
    line: str, named: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=True, actor=ACTOR)
    path = copy_ini(tmp_path, "dbb\n", f"dbb {line}\n")
    snapshot = table_snapshot(db_file(tmp_path))
    assert cli(tmp_path, "ansible", str(path), "--environments", ENVIRONMENTS) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"'{named}'" in err and f"{path}:29:" in err
    assert "hunter2" not in err
    assert table_snapshot(db_file(tmp_path)) == snapshot
    rt.close()


def test_secrets_to_keyring_moves_them_out_of_the_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=False, actor=ACTOR)
    path = copy_ini(tmp_path, "dbb\n", "dbb ansible_password=hunter2 db_secret=s3cr3t\n")
    before = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    try:
        args = ("ansible", str(path), "--environments", ENVIRONMENTS, "--secrets-to-keyring")
        assert cli(tmp_path, *args) == 0
        assert keyring_lookup("password", "dbb") == "hunter2", "the SSH transport finds it"
    finally:
        keyring.set_keyring(before)
    assert ring.store[("otter-tui", "variable:server:dbb:db_secret")] == "s3cr3t"
    assert "2 secret(s) went to the keyring" in capsys.readouterr().out
    assert "dbb" in servers_of(rt) and "db_secret" not in repr(variables_of(rt))
    stored = b"".join(p.read_bytes() for p in db_file(tmp_path).parent.glob("otter.db*"))
    assert b"hunter2" not in stored and b"s3cr3t" not in stored and b"10.2.0.1" in stored
    rt.close()


def test_secrets_to_keyring_without_a_keyring_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=False, actor=ACTOR)
    path = copy_ini(tmp_path, "dbb\n", "dbb ansible_password=hunter2\n")
    snapshot = table_snapshot(db_file(tmp_path))
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        args = ("ansible", str(path), "--environments", ENVIRONMENTS, "--secrets-to-keyring")
        assert cli(tmp_path, *args) == 1
    finally:
        keyring.set_keyring(before)
    assert "no usable keyring" in capsys.readouterr().err
    assert table_snapshot(db_file(tmp_path)) == snapshot
    rt.close()


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("[eu:vars]", "[eu:vars", "hosts.ini:34: malformed section header"),
        ("region=eu-west-1", "region", "hosts.ini:35: expected name=value"),
        ("db[a:b]", "db[a:]", "hosts.ini:9: host range [a:] in 'db[a:]' is neither"),
        (
            "localhost ansible_connection=local",
            "localhost ansible_connection=winrm",
            "hosts.ini:12: host 'localhost': unknown ansible_connection 'winrm'",
        ),
        (
            "ansible_port=2201",
            "ansible_port=http",
            "hosts.ini:6: host 'web-eu': ansible_port 'http' is not a number",
        ),
        ("bastion", "bast!on", "hosts.ini:2: invalid server name 'bast!on'"),
    ],
)
def test_a_bad_line_is_one_error_naming_file_and_line_and_nothing_is_imported(
    old: str, new: str, message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=True, actor=ACTOR)
    path = copy_ini(tmp_path, old, new)
    snapshot = table_snapshot(db_file(tmp_path))
    assert cli(tmp_path, "ansible", str(path), "--environments", ENVIRONMENTS) == 2
    err = capsys.readouterr().err
    assert err.startswith("otter-tui: error: ") and err.count("\n") == 1
    assert message in err
    assert table_snapshot(db_file(tmp_path)) == snapshot
    rt.close()


def test_ssh_config_with_include_match_and_wildcards(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rt = make_runtime(tmp_path, seed=False, actor=ACTOR)
    assert cli(tmp_path, "ssh-config", str(DATA / "ssh" / "config")) == 0
    out, err = capsys.readouterr()
    assert servers_of(rt) == {
        "app1": ("app1.internal.example.com", 22, "deploy", "ssh", (), ()),
        "app2": ("app2.internal.example.com", 22, "deploy", "ssh", (), ()),
        "app3": ("10.3.0.3", 2203, "ops", "ssh", (), ()),
        "bastion": ("203.0.113.5", 22, "ops", "ssh", (), ()),
    }
    assert "config:14: Match block left out" in err
    assert "app3: ProxyJump bastion not stored" in err and "app3: IdentityFile" in err
    assert "imported: servers: 4 added" in out
    rt.inventory.add_role("apps")
    rt.inventory.set_memberships("app1", add_roles=["apps"])
    assert cli(tmp_path, "ssh-config", str(DATA / "ssh" / "config")) == 0
    assert servers_of(rt)["app1"][4] == ("apps",), "ssh_config has no groups: roles are kept"
    rt.close()
